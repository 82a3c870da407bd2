"""oslo.policy enforcement shared by every service.

Each service declares its default rules (``stacklet/<service>/policy.py``);
they are registered on one enforcer, and an operator's policy.yaml in the
data dir overrides any of them by name.  The file is re-read when it changes.
"""

from __future__ import annotations

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


class PolicyEnforcer:
    def __init__(self, policy_file: Path, rules: Iterable[oslo_policy.RuleDefault]):
        conf = cfg.ConfigOpts()
        conf([], project="stacklet", default_config_files=[], default_config_dirs=[])
        policy_opts.set_defaults(conf)
        # Check strings carry the persona and the scope themselves; rules
        # declare no scope_types, so oslo.policy adds no scope check of its own.
        conf.set_override("enforce_new_defaults", True, group="oslo_policy")
        self._enforcer = oslo_policy.Enforcer(conf, policy_file=str(policy_file))
        self._enforcer.register_defaults(BASE_RULES)
        self._enforcer.register_defaults(list(rules))

    def allowed(self, ctx: RequestContext, rule: str, target: dict | None = None) -> bool:
        return bool(self._enforcer.authorize(rule, target or {}, ctx.policy_credentials(),
                                             do_raise=False))

    def enforce(self, ctx: RequestContext, rule: str, target: dict | None = None) -> None:
        if not self.allowed(ctx, rule, target):
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")
