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

# policy blobs, OAuth consumers, endpoint filter, domain configuration:
# admin writes, admin or system reader reads, as upstream.
for _resource in ("policy", "consumer", "endpoint_group", "domain_config"):
    RULES += [
        _rule(f"get_{_resource}", ADMIN_OR_SYSTEM_READER),
        _rule(f"list_{_resource}s" if _resource != "policy" else "list_policies",
              ADMIN_OR_SYSTEM_READER),
        _rule(f"create_{_resource}", ADMIN),
        _rule(f"update_{_resource}", ADMIN),
        _rule(f"delete_{_resource}", ADMIN),
    ]
RULES += [
    _rule("get_domain_config_default", ADMIN_OR_SYSTEM_READER),
    _rule("add_endpoint_group_to_project", ADMIN),
    _rule("remove_endpoint_group_from_project", ADMIN),
    _rule("get_endpoint_group_in_project", ADMIN_OR_SYSTEM_READER),
    _rule("list_projects_associated_with_endpoint_group", ADMIN_OR_SYSTEM_READER),
    _rule("list_endpoints_associated_with_endpoint_group", ADMIN_OR_SYSTEM_READER),
    _rule("list_endpoint_groups_for_project", ADMIN_OR_SYSTEM_READER),
    _rule("add_endpoint_to_project", ADMIN),
    _rule("remove_endpoint_from_project", ADMIN),
    _rule("check_endpoint_in_project", ADMIN_OR_SYSTEM_READER),
    _rule("list_projects_for_endpoint", ADMIN_OR_SYSTEM_READER),
    _rule("list_endpoints_for_project", ADMIN_OR_SYSTEM_READER),
]

# trusts: any authenticated user may create one for themself; who may see or
# delete a trust (trustor, trustee, admin) is checked by the trust service.
RULES += [
    _rule("create_trust", "@"),
    _rule("list_trusts", ADMIN_OR_SYSTEM_READER),
    _rule("get_trust", "@"),
    _rule("delete_trust", "@"),
    _rule("list_roles_for_trust", "@"),
    _rule("get_role_for_trust", "@"),
]
