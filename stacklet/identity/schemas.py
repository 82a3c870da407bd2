"""JSON schemas of identity request bodies."""

from stacklet.common.validation import BOOLEAN, DESCRIPTION, ID_STRING, NAME_STRING, NULLABLE_ID

_domain_ref = {"type": "object", "properties": {"id": ID_STRING, "name": NAME_STRING}}
_user_ref = {
    "type": "object",
    "properties": {"id": ID_STRING, "name": NAME_STRING, "domain": _domain_ref,
                   "password": {"type": "string"}},
}

auth_request = {
    "type": "object",
    "required": ["auth"],
    "properties": {
        "auth": {
            "type": "object",
            "required": ["identity"],
            "properties": {
                "identity": {
                    "type": "object",
                    "required": ["methods"],
                    "properties": {
                        "methods": {"type": "array", "items": {"type": "string"}},
                        "password": {"type": "object", "required": ["user"],
                                     "properties": {"user": _user_ref}},
                        "token": {"type": "object", "required": ["id"],
                                  "properties": {"id": {"type": "string"}}},
                        "application_credential": {
                            "type": "object", "required": ["secret"],
                            "properties": {"id": ID_STRING, "name": NAME_STRING,
                                           "secret": {"type": "string"},
                                           "user": _user_ref}},
                    },
                },
                "scope": {
                    "anyOf": [
                        {"type": "string", "enum": ["unscoped"]},
                        {"type": "object", "properties": {
                            "project": {"type": "object", "properties": {
                                "id": ID_STRING, "name": NAME_STRING, "domain": _domain_ref}},
                            "domain": _domain_ref,
                            "system": {"type": "object"},
                            "OS-TRUST:trust": {"type": "object", "required": ["id"],
                                               "properties": {"id": ID_STRING}},
                        }},
                    ],
                },
            },
        },
    },
}

# Keystone's limit for domain and project names.
PROJECT_NAME = {"type": "string", "minLength": 1, "maxLength": 64}

domain_create = {
    "type": "object",
    "required": ["domain"],
    "properties": {"domain": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": PROJECT_NAME, "description": DESCRIPTION, "enabled": BOOLEAN,
                       "id": ID_STRING, "tags": {"type": "array", "items": NAME_STRING}},
    }},
}

domain_update = {
    "type": "object",
    "required": ["domain"],
    "properties": {"domain": {
        "type": "object",
        "minProperties": 1,
        "properties": {"name": PROJECT_NAME, "description": DESCRIPTION, "enabled": BOOLEAN,
                       "tags": {"type": "array", "items": NAME_STRING}},
        "not": {"required": ["id"]},
    }},
}

_policy_props = {"type": {"type": "string", "minLength": 1, "maxLength": 255},
                 "blob": {"type": "string"}}
policy_create = {"type": "object", "required": ["policy"], "properties": {"policy": {
    "type": "object", "required": ["type", "blob"], "properties": _policy_props}}}
policy_update = {"type": "object", "required": ["policy"], "properties": {"policy": {
    "type": "object", "minProperties": 1, "properties": _policy_props,
    "not": {"required": ["id"]}}}}

consumer_create = {"type": "object", "required": ["consumer"], "properties": {"consumer": {
    "type": "object", "properties": {"description": DESCRIPTION},
    "not": {"anyOf": [{"required": ["id"]}, {"required": ["secret"]}]}}}}
consumer_update = {"type": "object", "required": ["consumer"], "properties": {"consumer": {
    "type": "object", "properties": {"description": DESCRIPTION},
    "not": {"anyOf": [{"required": ["id"]}, {"required": ["secret"]}]}}}}

_endpoint_group_props = {
    "name": NAME_STRING, "description": DESCRIPTION,
    "filters": {"type": "object", "minProperties": 1,
                "additionalProperties": {"type": "string"}},
}
endpoint_group_create = {"type": "object", "required": ["endpoint_group"], "properties": {
    "endpoint_group": {"type": "object", "required": ["name", "filters"],
                       "properties": _endpoint_group_props, "additionalProperties": False}}}
endpoint_group_update = {"type": "object", "required": ["endpoint_group"], "properties": {
    "endpoint_group": {"type": "object", "minProperties": 1,
                       "properties": _endpoint_group_props, "additionalProperties": False}}}

domain_config = {"type": "object", "required": ["config"],
                 "properties": {"config": {"type": "object"}}}

trust_create = {"type": "object", "required": ["trust"], "properties": {"trust": {
    "type": "object",
    "required": ["trustor_user_id", "trustee_user_id", "impersonation"],
    "properties": {
        "trustor_user_id": ID_STRING, "trustee_user_id": ID_STRING,
        "project_id": {"type": ["string", "null"], "maxLength": 64},
        "impersonation": BOOLEAN,
        "expires_at": {"type": ["string", "null"]},
        # A larger count than its column holds would fail as a 500.
        "remaining_uses": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1},
        "allow_redelegation": BOOLEAN,
        "redelegation_count": {"type": ["integer", "null"], "minimum": 0},
        "roles": {"type": "array", "items": {"type": "object", "properties": {
            "id": ID_STRING, "name": NAME_STRING}}},
    },
}}}

# -- projects, users and groups ----------------------------------------------

# A project tag has no "," or "/"
# (they separate tags in the list filters and in URLs) and a project at most 80.
PROJECT_TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}
PROJECT_TAGS = {"type": "array", "items": PROJECT_TAG, "maxItems": 80, "uniqueItems": True}
# Stacklet has no project options (Keystone's only one is "immutable").
_no_options = {"type": "object", "maxProperties": 0}

_project_properties = {
    "name": PROJECT_NAME, "description": DESCRIPTION, "enabled": BOOLEAN,
    "domain_id": NULLABLE_ID, "parent_id": NULLABLE_ID, "is_domain": BOOLEAN,
    "tags": PROJECT_TAGS, "options": _no_options,
}

project_create = {
    "type": "object",
    "required": ["project"],
    "properties": {"project": {
        "type": "object", "required": ["name"], "properties": _project_properties}},
}

project_update = {
    "type": "object",
    "required": ["project"],
    "properties": {"project": {
        "type": "object", "minProperties": 1, "properties": _project_properties,
        "not": {"required": ["id"]}}},
}

project_tags_update = {
    "type": "object",
    "required": ["tags"],
    "properties": {"tags": PROJECT_TAGS},
}

# Keystone's user options; Stacklet stores them and shows them back.
_user_options = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{name: {"type": ["boolean", "null"]} for name in (
            "ignore_change_password_upon_first_use", "ignore_password_expiry",
            "ignore_lockout_failure_attempts", "lock_password", "multi_factor_auth_enabled",
            "ignore_user_inactivity")},
        "multi_factor_auth_rules": {"type": ["array", "null"], "items": {
            "type": "array", "items": {"type": "string"}, "minItems": 1}},
    },
}

_user_properties = {
    "name": NAME_STRING, "domain_id": ID_STRING, "enabled": BOOLEAN,
    "default_project_id": NULLABLE_ID, "description": DESCRIPTION,
    "email": {"type": ["string", "null"], "maxLength": 255},
    "password": {"type": ["string", "null"]}, "options": _user_options,
}

user_create = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": {
        "type": "object", "required": ["name"], "properties": _user_properties}},
}

user_update = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": {
        "type": "object", "minProperties": 1, "properties": _user_properties,
        "not": {"required": ["id"]}}},
}

password_change = {
    "type": "object",
    "required": ["user"],
    "properties": {"user": {
        "type": "object",
        "required": ["password", "original_password"],
        "properties": {"password": {"type": "string", "minLength": 1},
                       "original_password": {"type": "string"}},
    }},
}

_group_properties = {"name": NAME_STRING, "domain_id": ID_STRING, "description": DESCRIPTION}

group_create = {
    "type": "object",
    "required": ["group"],
    "properties": {"group": {
        "type": "object", "required": ["name"], "properties": _group_properties}},
}

group_update = {
    "type": "object",
    "required": ["group"],
    "properties": {"group": {
        "type": "object", "minProperties": 1, "properties": _group_properties,
        "not": {"required": ["id"]}}},
}

# -- catalog, credentials and application credentials ----------------------------

_REGION_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_region_properties = {"id": _REGION_ID, "description": DESCRIPTION,
                      "parent_region_id": {"type": ["string", "null"], "maxLength": 255}}

region_create = {
    "type": "object",
    "required": ["region"],
    "properties": {"region": {"type": "object", "properties": _region_properties}},
}

region_update = {
    "type": "object",
    "required": ["region"],
    "properties": {"region": {"type": "object", "minProperties": 1,
                              "properties": _region_properties}},
}

_service_properties = {"type": {"type": "string", "minLength": 1, "maxLength": 255},
                       "name": NAME_STRING, "description": DESCRIPTION, "enabled": BOOLEAN}

service_create = {
    "type": "object",
    "required": ["service"],
    "properties": {"service": {"type": "object", "required": ["type"],
                               "properties": _service_properties}},
}

service_update = {
    "type": "object",
    "required": ["service"],
    "properties": {"service": {"type": "object", "minProperties": 1,
                               "properties": _service_properties,
                               "not": {"required": ["id"]}}},
}

# Keystone's lenient URL check (RFC 1738 section 2.1): a scheme, a colon, something.
_URL = {"type": "string", "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}
_endpoint_properties = {
    "service_id": ID_STRING, "url": _URL, "enabled": BOOLEAN,
    "interface": {"type": "string", "enum": ["public", "internal", "admin"]},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "region": {"type": ["string", "null"], "maxLength": 255},
}

endpoint_create = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {"endpoint": {"type": "object",
                                "required": ["service_id", "interface", "url"],
                                "properties": _endpoint_properties}},
}

endpoint_update = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {"endpoint": {"type": "object", "minProperties": 1,
                                "properties": _endpoint_properties,
                                "not": {"required": ["id"]}}},
}

_credential_properties = {"user_id": ID_STRING, "project_id": {"type": ["string", "null"]},
                          "type": {"type": "string", "minLength": 1, "maxLength": 255},
                          "blob": {"type": "string"}}

credential_create = {
    "type": "object",
    "required": ["credential"],
    "properties": {"credential": {"type": "object", "required": ["user_id", "type", "blob"],
                                  "properties": _credential_properties}},
}

credential_update = {
    "type": "object",
    "required": ["credential"],
    "properties": {"credential": {"type": "object", "minProperties": 1,
                                  "properties": _credential_properties,
                                  "not": {"required": ["id"]}}},
}

_role_ref = {"type": "object", "minProperties": 1,
             "properties": {"id": ID_STRING, "name": NAME_STRING}}

# An existing access rule of the user by id, or a rule by what it allows.
_access_rule_ref = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": ID_STRING,
        "service": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
        "path": {"type": "string", "pattern": "^/", "maxLength": 225},
        "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
    },
    "if": {"required": ["id"]},
    "else": {"required": ["service", "path", "method"]},
}

application_credential_create = {
    "type": "object",
    "required": ["application_credential"],
    "properties": {"application_credential": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": NAME_STRING,
            "description": DESCRIPTION,
            "secret": {"type": ["string", "null"], "minLength": 1},
            "expires_at": {"type": ["string", "null"]},
            "roles": {"type": "array", "items": _role_ref},
            "unrestricted": BOOLEAN,
            "access_rules": {"type": "array", "items": _access_rule_ref},
        },
    }},
}

# -- roles (roles.py) ----------------------------------------------------------------

_role_options = {
    "type": "object",
    "properties": {"immutable": {"type": ["boolean", "null"]}},
    "additionalProperties": False,
}

role_create = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": NAME_STRING, "description": DESCRIPTION,
                       "domain_id": NULLABLE_ID, "options": _role_options},
    }},
}

role_update = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {
        "type": "object",
        "minProperties": 1,
        "properties": {"name": NAME_STRING, "description": DESCRIPTION,
                       "domain_id": NULLABLE_ID, "options": _role_options},
        "not": {"required": ["id"]},
    }},
}

ec2_credential_create = {"type": "object", "required": ["tenant_id"],
                         "properties": {"tenant_id": ID_STRING}}

# -- unified limits -----------------------------------------------------------

_LIMIT_VALUE = {"type": "integer", "minimum": -1, "maximum": 2 ** 31 - 1}
_registered_limit = {
    "type": "object",
    "required": ["service_id", "resource_name", "default_limit"],
    "additionalProperties": False,
    "properties": {"service_id": ID_STRING, "region_id": NULLABLE_ID,
                   "resource_name": NAME_STRING, "default_limit": _LIMIT_VALUE,
                   "description": DESCRIPTION},
}
registered_limits_create = {
    "type": "object", "required": ["registered_limits"],
    "properties": {"registered_limits": {"type": "array", "minItems": 1,
                                         "items": _registered_limit}}}
registered_limit_update = {
    "type": "object", "required": ["registered_limit"],
    "properties": {"registered_limit": {**_registered_limit, "required": [],
                                        "minProperties": 1}}}
limits_create = {
    "type": "object", "required": ["limits"],
    "properties": {"limits": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "required": ["service_id", "resource_name", "resource_limit"],
        "additionalProperties": False,
        "properties": {"service_id": ID_STRING, "region_id": NULLABLE_ID,
                       "project_id": NULLABLE_ID, "domain_id": NULLABLE_ID,
                       "resource_name": NAME_STRING, "resource_limit": _LIMIT_VALUE,
                       "description": DESCRIPTION}}}}}
limit_update = {
    "type": "object", "required": ["limit"],
    "properties": {"limit": {"type": "object", "minProperties": 1,
                             "additionalProperties": False,
                             "properties": {"resource_limit": _LIMIT_VALUE,
                                            "description": DESCRIPTION}}}}

# -- /v3/ec2tokens and /v3/s3tokens: what a client signed, and the signature ------
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_ACCESS_KEY = {"type": "string", "minLength": 1, "maxLength": 255}

ec2_signed_request = {
    "type": "object",
    "required": ["access", "signature"],
    "properties": {"access": _ACCESS_KEY, "signature": {"type": "string"},
                   "host": {"type": "string"}, "verb": {"type": "string"},
                   "path": {"type": "string"}, "params": _STRING_MAP,
                   "headers": _STRING_MAP, "body_hash": {"type": "string"}},
}

s3_signed_request = {
    "type": "object",
    "required": ["access", "token", "signature"],
    "properties": {"access": _ACCESS_KEY, "token": {"type": "string", "minLength": 1},
                   "signature": {"type": "string"}},
}
