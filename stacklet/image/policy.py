"""Default image policy, following upstream Glance's secure-RBAC personas.

Targets carry the image's ``owner``, ``visibility`` and the caller's
``member_id`` (set when the caller's project is a member of the image), as in
Glance, so an operator's policy.yaml written for Glance reads the same here.
"""

from oslo_policy.policy import RuleDefault

ADMIN = "role:admin"
PROJECT_MEMBER_OWNER = "role:member and project_id:%(owner)s"
MEMBER_OWNER_OR_ADMIN = f"{ADMIN} or ({PROJECT_MEMBER_OWNER})"
# Anyone who can see the image: its owner, a member, or anyone for public
# and community images.  'shared' images are visible to members only, which
# the service layer checks (member_id is set only for members).
_VISIBLE = ("project_id:%(owner)s or project_id:%(member_id)s or "
            "'community':%(visibility)s or 'public':%(visibility)s")
READER_CAN_SEE = f"{ADMIN} or (role:reader and ({_VISIBLE}))"
MEMBER_CAN_SEE = f"{ADMIN} or (role:member and ({_VISIBLE}))"


def _rule(name: str, check: str, description: str = "") -> RuleDefault:
    # Glance's policy names carry no service prefix; an operator's Glance
    # policy.yaml therefore applies unchanged.
    return RuleDefault(name, check, description)


RULES = [
    _rule("add_image", f"{ADMIN} or (role:member and project_id:%(owner)s)",
          "Create an image owned by the target project."),
    _rule("get_image", READER_CAN_SEE),
    _rule("get_images", f"{ADMIN} or (role:reader and project_id:%(project_id)s)"),
    _rule("modify_image", MEMBER_OWNER_OR_ADMIN),
    _rule("delete_image", MEMBER_OWNER_OR_ADMIN),
    _rule("publicize_image", ADMIN, "Make an image public."),
    _rule("communitize_image", MEMBER_OWNER_OR_ADMIN, "Make an image community."),
    _rule("upload_image", MEMBER_OWNER_OR_ADMIN),
    _rule("download_image", MEMBER_CAN_SEE),
    _rule("deactivate", MEMBER_OWNER_OR_ADMIN),
    _rule("reactivate", MEMBER_OWNER_OR_ADMIN),
    _rule("add_member", MEMBER_OWNER_OR_ADMIN),
    _rule("delete_member", MEMBER_OWNER_OR_ADMIN),
    _rule("get_member", f"{ADMIN} or (role:reader and (project_id:%(owner)s or "
          "project_id:%(member_id)s))"),
    _rule("get_members", f"{ADMIN} or (role:reader and (project_id:%(owner)s or "
          "project_id:%(member_id)s))"),
    _rule("modify_member", f"{ADMIN} or (role:member and project_id:%(member_id)s)",
          "Accept or reject an image shared with the caller's project."),
    _rule("stage_image", MEMBER_OWNER_OR_ADMIN),
    _rule("import_image", MEMBER_OWNER_OR_ADMIN),
    _rule("copy_image", ADMIN),
    _rule("get_image_location", MEMBER_CAN_SEE),
    _rule("delete_image_location", ADMIN),
    _rule("set_image_location", ADMIN),
    _rule("manage_image_cache", ADMIN),
    _rule("get_task", ADMIN),
    _rule("get_tasks", ADMIN),
    _rule("add_task", ADMIN),
    _rule("modify_task", ADMIN),
    _rule("tasks_api_access", ADMIN),
    _rule("stores_info_detail", ADMIN, "Show the stores' types and settings."),
]

# Metadata definitions: the catalog is written by the admin; a reader reads
# public namespaces and its own project's (%(project_id)s is the namespace's
# owner, or the caller's project where there is no namespace yet).
METADEF_ADMIN = ADMIN
METADEF_READER = (f"{ADMIN} or (role:reader and (project_id:%(project_id)s or "
                  "'public':%(visibility)s))")
METADEF_RULES = [
    _rule("get_metadef_namespace", METADEF_READER),
    _rule("get_metadef_namespaces", f"{ADMIN} or (role:reader and project_id:%(project_id)s)"),
    _rule("modify_metadef_namespace", METADEF_ADMIN),
    _rule("add_metadef_namespace", METADEF_ADMIN),
    _rule("delete_metadef_namespace", METADEF_ADMIN),
    _rule("get_metadef_object", METADEF_READER),
    _rule("get_metadef_objects", METADEF_READER),
    _rule("modify_metadef_object", METADEF_ADMIN),
    _rule("add_metadef_object", METADEF_ADMIN),
    _rule("delete_metadef_object", METADEF_ADMIN),
    _rule("list_metadef_resource_types", METADEF_READER),
    _rule("get_metadef_resource_type", METADEF_READER),
    _rule("add_metadef_resource_type_association", METADEF_ADMIN),
    _rule("remove_metadef_resource_type_association", METADEF_ADMIN),
    _rule("get_metadef_property", METADEF_READER),
    _rule("get_metadef_properties", METADEF_READER),
    _rule("modify_metadef_property", METADEF_ADMIN),
    _rule("add_metadef_property", METADEF_ADMIN),
    _rule("remove_metadef_property", METADEF_ADMIN),
    _rule("get_metadef_tag", METADEF_READER),
    _rule("get_metadef_tags", METADEF_READER),
    _rule("modify_metadef_tag", METADEF_ADMIN),
    _rule("add_metadef_tag", METADEF_ADMIN),
    _rule("add_metadef_tags", METADEF_ADMIN),
    _rule("delete_metadef_tag", METADEF_ADMIN),
    _rule("delete_metadef_tags", METADEF_ADMIN),
]
RULES += METADEF_RULES
