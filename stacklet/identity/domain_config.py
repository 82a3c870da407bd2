"""Per-domain identity configuration (/v3/domains/{id}/config).

Keystone lets an operator give a domain its own identity driver settings
(the ``identity`` and ``ldap`` groups).  Stacklet stores and validates these
documents exactly as the API defines them; its only identity driver is SQL,
so a stored ``ldap`` configuration is kept for tools that manage it but does
not switch the domain to LDAP (the README says so).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Forbidden, NotFound
from stacklet.identity.models import Domain, DomainConfig
from stacklet.identity.records import get_or_404

# The options Keystone accepts per group, with the defaults it reports.
DEFAULTS = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {"url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com",
             "query_scope": "one", "page_size": 0, "alias_dereferencing": "default",
             "debug_level": None, "chase_referrals": None, "user_tree_dn": None,
             "user_filter": None, "user_objectclass": "inetOrgPerson",
             "user_id_attribute": "cn", "user_name_attribute": "sn",
             "user_mail_attribute": "mail", "user_description_attribute": "description",
             "user_pass_attribute": "userPassword", "user_enabled_attribute": "enabled",
             "group_tree_dn": None, "group_filter": None,
             "group_objectclass": "groupOfNames", "group_id_attribute": "cn",
             "group_name_attribute": "ou", "group_member_attribute": "member",
             "group_desc_attribute": "description", "use_tls": False,
             "tls_cacertfile": None, "tls_req_cert": "demand"},
}


def default_config(group: str | None = None, option: str | None = None) -> dict:
    _check(group, option)
    if group is None:
        return {g: dict(opts) for g, opts in DEFAULTS.items()}
    if option is None:
        return {group: dict(DEFAULTS[group])}
    return {option: DEFAULTS[group][option]}


def _check(group: str | None, option: str | None) -> None:
    if group is not None and group not in DEFAULTS:
        raise Forbidden(f"Group {group} is not supported for domain specific configurations; "
                        f"supported groups are {', '.join(DEFAULTS)}.")
    if option is not None and option not in DEFAULTS[group]:
        raise Forbidden(f"Option {option} in group {group} is not supported for domain "
                        "specific configurations.")


def _validate(config: dict) -> dict:
    if not isinstance(config, dict) or not config:
        raise BadRequest("The domain configuration must be a non-empty object of groups.")
    for group, options in config.items():
        if not isinstance(options, dict) or not options:
            raise BadRequest(f"Group {group} must be a non-empty object of options.")
        _check(group, None)
        for option in options:
            _check(group, option)
    return config


def _stored(session: Session, domain_id: str) -> DomainConfig:
    get_or_404(session, Domain, domain_id, "domain")
    return get_or_404(session, DomainConfig, domain_id, "domain config")


def show(session: Session, domain_id: str, group: str | None = None,
         option: str | None = None) -> dict:
    _check(group, option)
    config = _stored(session, domain_id).config
    if group is None:
        return config
    if group not in config:
        raise NotFound(f"Could not find domain config group: {group}.")
    if option is None:
        return {group: config[group]}
    if option not in config[group]:
        raise NotFound(f"Could not find domain config option: {option}.")
    return {option: config[group][option]}


def create(session: Session, domain_id: str, config: dict) -> tuple[dict, bool]:
    """Store a domain's whole configuration; returns it and whether it was new."""
    get_or_404(session, Domain, domain_id, "domain")
    _validate(config)
    existing = session.get(DomainConfig, domain_id)
    if existing is not None:
        if existing.config != config:
            raise BadRequest("The domain already has a configuration; update it with PATCH.")
        return existing.config, False
    session.add(DomainConfig(domain_id=domain_id, config=config))
    return config, True


def update(session: Session, domain_id: str, changes: dict, group: str | None = None,
           option: str | None = None) -> dict:
    """Merge changes into the whole config, one group, or one option."""
    stored = _stored(session, domain_id)
    config = {g: dict(opts) for g, opts in stored.config.items()}
    _validate(changes)
    if group is not None and set(changes) != {group}:
        raise BadRequest(f"The request body must hold only the group {group}.")
    if option is not None and set(changes[group]) != {option}:
        raise BadRequest(f"The request body must hold only the option {option}.")
    for changed_group, options in changes.items():
        if group is not None and changed_group not in config:
            raise NotFound(f"Could not find domain config group: {changed_group}.")
        config.setdefault(changed_group, {}).update(options)
    stored.config = config
    return config


def delete(session: Session, domain_id: str, group: str | None = None,
           option: str | None = None) -> None:
    stored = _stored(session, domain_id)
    _check(group, option)
    if group is None:
        session.delete(stored)
        return
    config = {g: dict(opts) for g, opts in stored.config.items()}
    if group not in config or (option is not None and option not in config[group]):
        raise NotFound(f"Could not find domain config {group} {option or ''}".rstrip() + ".")
    if option is None:
        del config[group]
    else:
        del config[group][option]
        if not config[group]:
            del config[group]
    stored.config = config
