"""oslo.policy enforcement shared by every service.

Each service declares its default rules (``stacklet/<service>/policy.py``);
they are registered on one enforcer, and an operator's policy.yaml in the
data dir overrides any of them by name.  The file is re-read when it changes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterable

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from stacklet.common.context import RequestContext
from stacklet.common.errors import Forbidden

# Rules every service's check strings build on, the same names upstream uses.
BASE_RULES = [
    oslo_policy.RuleDefault("admin_required", "role:admin or is_admin:1"),
    oslo_policy.RuleDefault("service_role", "role:service"),
    oslo_policy.RuleDefault("service_or_admin", "rule:admin_required or rule:service_role"),
    oslo_policy.RuleDefault("owner", "user_id:%(user_id)s"),
    oslo_policy.RuleDefault("admin_or_owner", "rule:admin_required or rule:owner"),
    oslo_policy.RuleDefault("context_is_admin", "role:admin"),
]


_UNLOADED = object()


def _file_signature(path: Path) -> tuple | None:
    """What changes when a file is written, replaced or removed."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class PolicyEnforcer:
    def __init__(self, policy_file: Path, rules: Iterable[oslo_policy.RuleDefault]):
        self._policy_file = Path(policy_file).absolute()
        self._rules = list(rules)
        self._lock = threading.Lock()
        self._loaded_signature: object = _UNLOADED
        self._enforcer = self._build()

    def _build(self) -> oslo_policy.Enforcer:
        conf = cfg.ConfigOpts()
        conf([], project="stacklet", default_config_files=[], default_config_dirs=[])
        policy_opts.set_defaults(conf)
        # Check strings carry the persona and the scope themselves; rules
        # declare no scope_types, so oslo.policy adds no scope check of its own.
        conf.set_override("enforce_new_defaults", True, group="oslo_policy")
        # The one override point is policy.yaml in the data dir.  oslo.policy
        # would also look for a "policy.d" in oslo.config's search path
        # (~/, /etc/, ...) on every check; nothing of Stacklet's lives there.
        conf.set_override("policy_dirs", [], group="oslo_policy")
        enforcer = oslo_policy.Enforcer(conf, policy_file=str(self._policy_file))
        enforcer.register_defaults(BASE_RULES)
        enforcer.register_defaults(self._rules)
        return enforcer

    def _current(self) -> oslo_policy.Enforcer:
        """The enforcer for the policy file as it is now.

        oslo.policy re-checks the file on every authorization: it searches
        for it through oslo.config's directories (several stat calls, and
        more when it is absent, the common case) and re-reads its mtime.  That
        was a tenth of a token validation.  One stat of the file tells us the
        same: when it appears, changes or goes away the rules are loaded
        afresh, and between changes oslo.policy is told not to look
        (use_conf=False), so a changed file still takes effect at the next
        request, as before.
        """
        signature = _file_signature(self._policy_file)
        if signature == self._loaded_signature:
            return self._enforcer
        with self._lock:
            if signature != self._loaded_signature:
                # A fresh enforcer forgets rules of a file that went away.
                enforcer = self._build() if self._loaded_signature is not _UNLOADED \
                    else self._enforcer
                enforcer.load_rules()
                enforcer.use_conf = False
                self._enforcer = enforcer
                self._loaded_signature = signature
        return self._enforcer

    def allowed(self, ctx: RequestContext, rule: str, target: dict | None = None) -> bool:
        return bool(self._current().authorize(rule, target or {}, ctx.policy_credentials(),
                                              do_raise=False))

    def enforce(self, ctx: RequestContext, rule: str, target: dict | None = None) -> None:
        if not self.allowed(ctx, rule, target):
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")
