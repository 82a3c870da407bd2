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
    # regions: any authenticated user reads them, as upstream
    _rule("get_region", ""),
    _rule("list_regions", ""),
    _rule("create_region", ADMIN),
    _rule("update_region", ADMIN),
    _rule("delete_region", ADMIN),
    # services and endpoints
    _rule("get_service", ADMIN_OR_SYSTEM_READER),
    _rule("list_services", ADMIN_OR_SYSTEM_READER),
    _rule("create_service", ADMIN),
    _rule("update_service", ADMIN),
    _rule("delete_service", ADMIN),
    _rule("get_endpoint", ADMIN_OR_SYSTEM_READER),
    _rule("list_endpoints", ADMIN_OR_SYSTEM_READER),
    _rule("create_endpoint", ADMIN),
    _rule("update_endpoint", ADMIN),
    _rule("delete_endpoint", ADMIN),
    # credentials: the owner, or an admin
    _rule("get_credential", f"{ADMIN_OR_SYSTEM_READER} or "
          "user_id:%(target.credential.user_id)s"),
    _rule("list_credentials", f"{ADMIN_OR_SYSTEM_READER} or "
          "user_id:%(target.credential.user_id)s"),
    _rule("create_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    _rule("update_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    _rule("delete_credential", f"{ADMIN} or user_id:%(target.credential.user_id)s"),
    # application credentials and their access rules: the owner manages them; admins
    # read and delete
    _rule("get_application_credential", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("list_application_credentials", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("create_application_credential", OWNER),
    _rule("delete_application_credential", f"{ADMIN} or {OWNER}"),
    _rule("list_access_rules", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("get_access_rule", f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"),
    _rule("delete_access_rule", f"{ADMIN} or {OWNER}"),
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

# Projects, users and groups.  A domain reader reads what is in their domain;
# a project member reads their own project; a user reads themself, their
# projects and groups, and changes their own password.
DOMAIN_READER = "role:reader and domain_id:%(target.{}.domain_id)s"
PROJECT_READER = (f"{ADMIN_OR_SYSTEM_READER} or ({DOMAIN_READER.format('project')}) "
                  "or project_id:%(target.project.id)s")
USER_READER = (f"{ADMIN_OR_SYSTEM_READER} or ({DOMAIN_READER.format('user')}) "
               "or user_id:%(target.user.id)s")
GROUP_READER = f"{ADMIN_OR_SYSTEM_READER} or ({DOMAIN_READER.format('group')})"
LIST_IN_DOMAIN = f"{ADMIN_OR_SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)"

RULES += [
    # projects
    _rule("get_project", PROJECT_READER),
    _rule("list_projects", LIST_IN_DOMAIN),
    _rule("list_user_projects", USER_READER),
    _rule("create_project", ADMIN),
    _rule("update_project", ADMIN),
    _rule("delete_project", ADMIN),
    # project tags
    _rule("get_project_tag", PROJECT_READER),
    _rule("list_project_tags", PROJECT_READER),
    _rule("create_project_tag", ADMIN),
    _rule("update_project_tags", ADMIN),
    _rule("delete_project_tag", ADMIN),
    _rule("delete_project_tags", ADMIN),
    # users
    _rule("get_user", USER_READER),
    _rule("list_users", LIST_IN_DOMAIN),
    _rule("create_user", ADMIN),
    _rule("update_user", ADMIN),
    _rule("delete_user", ADMIN),
    _rule("change_password", f"{ADMIN} or {OWNER}"),
    # groups
    _rule("get_group", GROUP_READER),
    _rule("list_groups", LIST_IN_DOMAIN),
    _rule("list_groups_for_user", USER_READER),
    _rule("create_group", ADMIN),
    _rule("update_group", ADMIN),
    _rule("delete_group", ADMIN),
    _rule("list_users_in_group", GROUP_READER),
    _rule("check_user_in_group", GROUP_READER),
    _rule("add_user_to_group", ADMIN),
    _rule("remove_user_from_group", ADMIN),
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

# EC2 credentials: their owner, or the admin.
_EC2_OWNER = f"{ADMIN} or user_id:%(target.credential.user_id)s"
RULES += [_rule(f"ec2_{action}", _EC2_OWNER)
          for action in ("create_credential", "list_credentials", "get_credential",
                         "delete_credential")]

# Unified limits: anyone authenticated reads the registered defaults; the
# admin writes; limits are read by the admin, a system reader, or (their own
# project's) a project member.
RULES += [
    _rule("get_registered_limit", "@"),
    _rule("list_registered_limits", "@"),
    _rule("create_registered_limits", ADMIN),
    _rule("update_registered_limit", ADMIN),
    _rule("delete_registered_limit", ADMIN),
    _rule("get_limit_model", "@"),
    _rule("get_limit", f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.limit.project_id)s"),
    _rule("list_limits", ADMIN_OR_SYSTEM_READER),
    _rule("create_limits", ADMIN),
    _rule("update_limit", ADMIN),
    _rule("delete_limit", ADMIN),
]
