"""Regular expressions that users supply (Nova's name and ip filters, access rule paths).

They run on RE2, whose matching time is linear in the text whatever the
pattern: with Python's backtracking ``re`` a pattern such as ``(a+)+$``
against a 28-character name took 20 s, holding the interpreter (and so every
request of the process) the whole time.  RE2 has no backreferences or
lookaround; a pattern that uses them is refused with a 400 like any other
that does not compile.
"""

from __future__ import annotations

import functools

import re2

from stacklet.common.errors import BadRequest

# Bounds the automaton RE2 builds (counted repetitions such as a{1000}{1000}
# would otherwise ask for a lot): a pattern over it does not compile.
_MAX_PROGRAM_MEMORY = 8 << 20
# Longer than any filter a person types; keeps compile time small.
MAX_PATTERN_LENGTH = 1024


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _MAX_PROGRAM_MEMORY
    # A bad pattern is the client's mistake, answered with a 400: not a log line.
    options.log_errors = False
    return options


_OPTIONS = _options()


@functools.lru_cache(maxsize=256)
def _compile(pattern: str):
    return re2.compile(pattern, options=_OPTIONS)


def user_pattern(pattern: str, what: str):
    """The compiled pattern (with ``search``, ``fullmatch``); 400 naming ``what``
    when it is too long or not a regular expression RE2 accepts."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise BadRequest(f"Invalid {what} {pattern[:40]!r}...: longer than "
                         f"{MAX_PATTERN_LENGTH} characters.")
    try:
        return _compile(pattern)
    except (re2.error, UnicodeEncodeError) as exc:
        raise BadRequest(f"Invalid {what} {pattern!r}: not a supported regular expression "
                         f"({_reason(exc)}).") from None


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else str(exc)
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
