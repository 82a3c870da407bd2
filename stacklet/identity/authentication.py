"""POST /v3/auth/tokens: turn an auth request into a token.

Each method (password, token, application_credential) proves a user; the
scope (project, domain, system or none) then decides what the token is for.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from stacklet.common.validation import validate
from stacklet.db import utcnow
from stacklet.identity import assignment, compliance, schemas, trusts
from stacklet.identity.compliance import PasswordRules
from stacklet.identity.models import ApplicationCredential, Domain, Project, Trust, User
from stacklet.identity.passwords import verify_secret
from stacklet.identity.records import forbidden_action
from stacklet.identity.tokens import Scope, TokenPayload, TokenService, ValidatedToken

AUTH_FAILED = "The request you have made requires authentication."


def _find_domain(session: Session, ref: dict) -> Domain:
    if "id" in ref:
        domain = session.get(Domain, ref["id"])
    elif "name" in ref:
        domain = session.scalar(sa.select(Domain).where(Domain.name == ref["name"]))
    else:
        raise BadRequest("A domain must be given by id or by name.")
    if domain is None:
        raise Unauthorized(AUTH_FAILED)
    return domain


def _find_user(session: Session, ref: dict) -> User | None:
    """The user a login names; None when there is none (nor such a domain)."""
    if "id" in ref:
        return session.get(User, ref["id"])
    if "name" not in ref or "domain" not in ref:
        raise BadRequest("A user must be given by id, or by name with its domain.")
    try:
        domain = _find_domain(session, ref["domain"])
    except Unauthorized:
        return None
    return session.scalar(sa.select(User).where(User.domain_id == domain.id,
                                                User.name == ref["name"]))


def _check_user_enabled(session: Session, user: User) -> None:
    domain = session.get(Domain, user.domain_id)
    if not user.enabled or domain is None or not domain.enabled:
        raise Unauthorized(AUTH_FAILED)


def _check_rescope(parent: TokenPayload, requested_scope: dict | str | None) -> None:
    """What the token method may make of a token, as Keystone's token plugin rules:
    a delegated token never chooses its own scope (an application credential's
    may only be renewed as it is), and a system-scoped one does not become a
    project or domain one."""
    if parent.trust_id:
        raise forbidden_action("Using trust-scoped token to create another token. Create a "
                               "new trust-scoped token instead")
    if parent.application_credential_id and requested_scope is not None:
        raise forbidden_action("Using an application credential token to create a scoped "
                               "token is not allowed")
    if parent.scope.kind == "system" and isinstance(requested_scope, dict) and (
            "project" in requested_scope or "domain" in requested_scope):
        raise forbidden_action("Using a system-scoped token to create a project-scoped or "
                               "domain-scoped token is not allowed")


class TokenIssuer:
    """Runs the methods of an auth request and issues the token.  ``hash_rounds`` is
    the configured bcrypt cost, which a refused login spends whatever the reason."""

    def __init__(self, tokens: TokenService, password_rules: PasswordRules, hash_rounds: int):
        self.tokens = tokens
        self.password_rules = password_rules
        self.hash_rounds = hash_rounds

    def issue(self, session: Session, body: dict) -> tuple[str, ValidatedToken]:
        auth = validate(schemas.auth_request, body)["auth"]
        identity = auth["identity"]
        methods = identity["methods"]
        for method in methods:
            if method not in identity:
                raise BadRequest(f"Auth method '{method}' is listed but its data is missing.")
        if not methods:
            raise BadRequest("At least one authentication method is required.")
        requested_scope = auth.get("scope")
        if "application_credential" in methods and requested_scope is not None:
            # Its project and roles are the credential's; a scope could only widen them.
            raise Unauthorized("Error authenticating with application credential: "
                               "Application credentials cannot request a scope.")

        user = parent = app_cred = None
        for method in methods:
            if method == "password":
                proven = self._password(session, identity["password"])
            elif method == "token":
                parent = self._token(identity["token"])
                proven = session.get(User, parent.user_id)
            elif method == "application_credential":
                app_cred, proven = self._application_credential(
                    session, identity["application_credential"])
            else:
                raise Unauthorized(f"Unsupported authentication method: {method}.")
            if user is not None and proven.id != user.id:
                raise Unauthorized("The methods of this request prove different users.")
            user = proven
        _check_user_enabled(session, user)
        if parent is not None:
            _check_rescope(parent, requested_scope)
            if parent.application_credential_id:
                # Renewed, a token stays its application credential's.
                app_cred = session.get(ApplicationCredential, parent.application_credential_id)
                if app_cred is None:
                    raise Unauthorized(AUTH_FAILED)

        trust = None
        if isinstance(requested_scope, dict) and "OS-TRUST:trust" in requested_scope:
            trust, user = self._trust(session, requested_scope["OS-TRUST:trust"]["id"], user)
            scope = Scope("project", trust.project_id) if trust.project_id else Scope()
        elif app_cred is not None:
            scope = Scope("project", app_cred.project_id)
        else:
            scope = self._scope(session, requested_scope, user)
        if scope.role_target is not None and trust is None:
            if not assignment.effective_role_ids(session, user.id, *scope.role_target):
                raise Unauthorized(f"User {user.id} has no access to {scope.kind} "
                                   f"{scope.target_id}.")
        method_names = list(dict.fromkeys(
            (list(parent.methods) if parent is not None else []) + methods))
        try:
            return self.tokens.issue(session, user=user, methods=method_names, scope=scope,
                                     parent=parent, application_credential=app_cred,
                                     trust=trust)
        except NotFound:
            # What the token would carry no longer holds (say, a trustor
            # lost the delegated roles): nothing to authenticate.
            raise Unauthorized(AUTH_FAILED) from None

    # -- methods -----------------------------------------------------------

    def _password(self, session: Session, data: dict) -> User:
        user_ref = data["user"]
        if "password" not in user_ref:
            raise BadRequest("Invalid input for field 'identity.password.user': "
                             "'password' is a required property.")
        user = _find_user(session, user_ref)
        if user is None:
            verify_secret(user_ref["password"], None, rounds=self.hash_rounds)
            raise Unauthorized(AUTH_FAILED)
        matched = compliance.password_matches(self.password_rules, user, user_ref["password"],
                                              rounds=self.hash_rounds)
        compliance.record_attempt(self.tokens.db, user)
        if not matched:
            raise Unauthorized(AUTH_FAILED)
        compliance.check_password_not_expired(user)
        return user

    def _token(self, data: dict) -> TokenPayload:
        # An invalid, expired or revoked token is a 404 here, as in Keystone
        # (whose token method validates the token and lets TokenNotFound out).
        return self.tokens.validate(data["id"]).payload

    def _application_credential(self, session: Session,
                                data: dict) -> tuple[ApplicationCredential, User]:
        if "id" in data:
            app_cred = session.get(ApplicationCredential, data["id"])
        elif "name" in data and "user" in data:
            owner = _find_user(session, data["user"])
            app_cred = owner and session.scalar(sa.select(ApplicationCredential).where(
                ApplicationCredential.user_id == owner.id,
                ApplicationCredential.name == data["name"]))
        else:
            raise BadRequest("An application credential is given by id, or by name with "
                             "its user.")
        if not verify_secret(data["secret"], app_cred and app_cred.secret_hash,
                             rounds=self.hash_rounds):
            raise Unauthorized(AUTH_FAILED)
        if app_cred.expires_at and app_cred.expires_at <= utcnow():
            raise Unauthorized("The application credential has expired.")
        return app_cred, session.get(User, app_cred.user_id)

    def _trust(self, session: Session, trust_id: str, caller: User) -> tuple[Trust, User]:
        """The trust to scope by, and the user the token will name."""
        try:
            trust = trusts.get_trust(session, trust_id)
        except NotFound:
            raise Unauthorized(AUTH_FAILED) from None
        if trust.trustee_user_id != caller.id:
            raise Forbidden("The authenticated user is not the trustee of this trust.")
        if trust.remaining_uses is not None:
            # Written in a transaction of its own: issuing a token otherwise
            # runs in a read-only session (see _record_lockout_state).
            with self.tokens.db.transaction() as tx:
                trusts.consume(tx, trust.id)
        if trust.impersonation:
            trustor = session.get(User, trust.trustor_user_id)
            _check_user_enabled(session, trustor)
            return trust, trustor
        return trust, caller

    # -- scope ---------------------------------------------------------------

    def _scope(self, session: Session, requested: dict | str | None, user: User) -> Scope:
        if requested is None:
            return self._default_project_scope(session, user)
        if requested == "unscoped":
            return Scope()
        if len(requested) != 1:
            raise BadRequest("Specify one scope: project, domain or system.")
        if "project" in requested:
            project = self._find_project(session, requested["project"])
            return Scope("project", project.id)
        if "domain" in requested:
            domain = _find_domain(session, requested["domain"])
            if not domain.enabled:
                raise Unauthorized(AUTH_FAILED)
            return Scope("domain", domain.id)
        if "system" in requested:
            if requested["system"] != {"all": True}:
                raise BadRequest("The only system scope is {\"all\": true}.")
            return Scope("system", "all")
        raise BadRequest("Specify one scope: project, domain or system.")

    def _find_project(self, session: Session, ref: dict) -> Project:
        if "id" in ref:
            project = session.get(Project, ref["id"])
        elif "name" in ref and "domain" in ref:
            domain = _find_domain(session, ref["domain"])
            project = session.scalar(sa.select(Project).where(
                Project.domain_id == domain.id, Project.name == ref["name"]))
        else:
            raise BadRequest("A project must be given by id, or by name with its domain.")
        if project is None:
            raise Unauthorized(AUTH_FAILED)
        domain = session.get(Domain, project.domain_id)
        if not project.enabled or not domain.enabled:
            raise Unauthorized(f"Project {project.id} is disabled.")
        return project

    def _default_project_scope(self, session: Session, user: User) -> Scope:
        """Without a scope, Keystone scopes to the user's default project if it can."""
        project_id = user.default_project_id
        if project_id:
            project = session.get(Project, project_id)
            if project is not None and project.enabled and \
                    assignment.effective_role_ids(session, user.id, "project", project_id):
                return Scope("project", project_id)
        return Scope()
