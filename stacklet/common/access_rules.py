"""Application credential access rules: which requests a token may make.

A token obtained with an application credential that has access rules may
only be used for a request that one of them matches: same catalog service
type, same HTTP method, and a path (relative to the service root, e.g.
``/v3/users/abc`` for identity) matching the rule's template.  In a template
``*`` (or a ``{name}`` placeholder) stands for one path segment and ``**`` for
any number of them, as keystonemiddleware reads it.  Templates are the
user's, so they run on RE2 (stacklet.common.patterns): with ``**`` becoming
``.*``, a template such as ``**a**a**a**a`` backtracks polynomially in Python.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import re2

from stacklet.common.patterns import user_pattern

# One path segment, any run of characters, or a literal character.
_TEMPLATE_TOKEN = re.compile(r"(?P<segment>\{[^}]*\}|\*(?!\*))|(?P<any>\*\*)|(?P<literal>.)",
                             re.DOTALL)


@dataclasses.dataclass(frozen=True)
class AccessRule:
    id: str
    service: str
    path: str
    method: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def matches(self, service_type: str, method: str, path: str) -> bool:
        return (self.service == service_type and self.method == method
                and path_template(self.path).fullmatch(path) is not None)


@functools.lru_cache(maxsize=1024)
def path_template(template: str):
    """The (RE2) regular expression a path template stands for."""
    parts = []
    for token in _TEMPLATE_TOKEN.finditer(template):
        if token["segment"]:
            parts.append(r"[^/]+")
        elif token["any"]:
            parts.append(r".*")
        else:
            parts.append(re2.escape(token["literal"]))
    return user_pattern("(?s)" + "".join(parts), "access rule path")


def permits(rules: tuple[AccessRule, ...], service_type: str, method: str, path: str) -> bool:
    """Whether any of the rules allows this request."""
    return any(rule.matches(service_type, method, path) for rule in rules)
