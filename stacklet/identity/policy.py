"""Default identity policy, following upstream Keystone's personas.

Admin anywhere is the cloud admin (upstream's ``admin_required``); a system
reader reads everything; a domain reader reads its domain; a user reads and
manages what is their own (password, application credentials, credentials).
"""

from oslo_policy.policy import RuleDefault

ADMIN = "rule:admin_required"
SYSTEM_READER = "role:reader and system_scope:all"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or ({SYSTEM_READER})"
OWNER = "user_id:%(target.user.id)s"


def _rule(name: str, check: str, description: str = "") -> RuleDefault:
    return RuleDefault(f"identity:{name}", check, description)


RULES = [
    # tokens
    _rule("validate_token", f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or "
          "user_id:%(target.token.user_id)s"),
    _rule("check_token", f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or "
          "user_id:%(target.token.user_id)s"),
    _rule("revoke_token", f"{ADMIN} or rule:service_role or user_id:%(target.token.user_id)s"),
    # domains
    _rule("get_domain", f"{ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s "
          "or project_domain_id:%(target.domain.id)s"),
    _rule("list_domains", ADMIN_OR_SYSTEM_READER),
    _rule("create_domain", ADMIN),
    _rule("update_domain", ADMIN),
    _rule("delete_domain", ADMIN),
]

# -- roles, implied roles, grants and role assignments -------------------------------

# A domain reader may read grants whose actor and target both belong to its domain.
GRANT_DOMAIN_READER = " or ".join(
    f"(role:reader and domain_id:%(target.{actor}.domain_id)s and "
    f"domain_id:%(target.{target})s)"
    for actor in ("user", "group") for target in ("project.domain_id", "domain.id"))


def _rules(check: str, *names: str) -> list[RuleDefault]:
    return [_rule(name, check) for name in names]


RULES += [
    *_rules(ADMIN_OR_SYSTEM_READER, "list_roles", "get_role", "list_domain_roles",
            "get_domain_role", "get_implied_role", "check_implied_role", "list_implied_roles",
            "list_role_inference_rules", "list_system_grants_for_user",
            "check_system_grant_for_user", "list_system_grants_for_group",
            "check_system_grant_for_group"),
    *_rules(ADMIN, "create_role", "update_role", "delete_role", "create_domain_role",
            "update_domain_role", "delete_domain_role", "create_implied_role",
            "delete_implied_role", "create_grant", "revoke_grant",
            "create_system_grant_for_user", "revoke_system_grant_for_user",
            "create_system_grant_for_group", "revoke_system_grant_for_group",
            "list_role_assignments_for_tree"),
    *_rules(f"{ADMIN_OR_SYSTEM_READER} or {GRANT_DOMAIN_READER}", "check_grant", "list_grants"),
    # Upstream's default: a domain-scoped reader lists its domain's assignments (the
    # handler passes the token's domain as target.domain_id and narrows the list to it).
    # A project member may not list role assignments, not even their own.
    _rule("list_role_assignments",
          f"{ADMIN_OR_SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)"),
]
