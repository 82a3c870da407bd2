"""Tokens: issue them for an authenticated user, validate them, revoke them.

A token is a Fernet message (signed and encrypted with the key repository)
carrying a small msgpack payload: who, how they authenticated, the scope,
when it was issued and when it expires, and its audit ids.  Nothing is stored
per token.  Validation re-reads the user, scope and roles from the database,
so a disabled user, a deleted project or a removed role takes effect at once;
revocation events cover explicit revokes and password changes.  Validated
tokens are cached per process and the cache is trusted only while the
identity revision counter (see revoke.py) has not moved.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime
import os
import threading

import msgpack
import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from sqlalchemy.orm import Session

from stacklet.common.access_rules import AccessRule
from stacklet.common.context import RequestContext
from stacklet.common.errors import NotFound, Unauthorized
from stacklet.common.timeutils import isotime
from stacklet.db import Database, utcnow
from stacklet.identity import assignment, credentials, revoke, trusts
from stacklet.identity.catalog import build_catalog
from stacklet.identity.fernet import KeyRepository
from stacklet.identity.models import (
    SYSTEM_TARGET,
    ApplicationCredential,
    Domain,
    IdentityRevision,
    Project,
    Role,
    Trust,
    User,
)

PAYLOAD_VERSION = 1

# Fernet's own timestamp is checked by us, not by the library: the token's
# lifetime lives in the payload.
_NO_TTL = None

# Revision-read connections kept open per process (more are opened while
# more requests than this read at the same moment, then closed).
_REVISION_CONNECTIONS = 8


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")


def _to_timestamp(moment: datetime.datetime) -> float:
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def _from_timestamp(value: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)


@dataclasses.dataclass(frozen=True)
class Scope:
    kind: str | None = None     # "project" | "domain" | "system" | None (unscoped)
    target_id: str | None = None

    @property
    def role_target(self) -> tuple[str, str] | None:
        if self.kind is None:
            return None
        return self.kind, self.target_id if self.kind != "system" else SYSTEM_TARGET


@dataclasses.dataclass(frozen=True)
class TokenPayload:
    """What a token carries."""

    user_id: str
    methods: tuple[str, ...]
    scope: Scope
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    audit_ids: tuple[str, ...]
    application_credential_id: str | None = None
    trust_id: str | None = None

    def pack(self) -> bytes:
        return msgpack.packb([
            PAYLOAD_VERSION, self.user_id, list(self.methods), self.scope.kind,
            self.scope.target_id, _to_timestamp(self.issued_at), _to_timestamp(self.expires_at),
            list(self.audit_ids), self.application_credential_id, self.trust_id])

    @classmethod
    def unpack(cls, data: bytes) -> "TokenPayload":
        (version, user_id, methods, scope_kind, scope_id, issued_at, expires_at,
         audit_ids, app_cred_id, trust_id) = msgpack.unpackb(data)
        if version != PAYLOAD_VERSION:
            raise ValueError(f"unknown token payload version {version}")
        return cls(user_id=user_id, methods=tuple(methods), scope=Scope(scope_kind, scope_id),
                   issued_at=_from_timestamp(issued_at), expires_at=_from_timestamp(expires_at),
                   audit_ids=tuple(audit_ids), application_credential_id=app_cred_id,
                   trust_id=trust_id)


@dataclasses.dataclass(frozen=True)
class ValidatedToken:
    """A token checked against the database: who it speaks for, with names and roles."""

    payload: TokenPayload
    user: dict               # {"id", "name", "domain": {"id", "name"}, "password_expires_at"}
    project: dict | None     # {"id", "name", "domain": {...}}
    domain: dict | None      # {"id", "name"}
    roles: tuple[dict, ...]  # ({"id", "name"}, ...)
    application_credential: dict | None = None
    trust: dict | None = None  # {"id", "impersonation", "trustor_user", "trustee_user"}
    # The application credential's access rules: what requests the token may make.
    access_rules: tuple[AccessRule, ...] = ()

    @property
    def expired(self) -> bool:
        return utcnow() >= self.payload.expires_at

    def context(self) -> RequestContext:
        payload = self.payload
        return RequestContext(
            user_id=self.user["id"], user_name=self.user["name"],
            user_domain_id=self.user["domain"]["id"],
            user_domain_name=self.user["domain"]["name"],
            roles=tuple(r["name"] for r in self.roles),
            role_ids=tuple(r["id"] for r in self.roles),
            project_id=self.project and self.project["id"],
            project_name=self.project and self.project["name"],
            project_domain_id=self.project and self.project["domain"]["id"],
            project_domain_name=self.project and self.project["domain"]["name"],
            domain_id=self.domain and self.domain["id"],
            domain_name=self.domain and self.domain["name"],
            system_scope="all" if payload.scope.kind == "system" else None,
            methods=payload.methods, audit_ids=payload.audit_ids,
            expires_at=payload.expires_at, issued_at=payload.issued_at,
            application_credential_id=payload.application_credential_id,
            trust_id=payload.trust_id, access_rules=self.access_rules)


def _domain_ref(domain: Domain) -> dict:
    return {"id": domain.id, "name": domain.name}


class TokenService:
    """Issues and validates tokens for one cloud; the authenticator of every API."""

    def __init__(self, db: Database, keys: KeyRepository, *, expiration: int,
                 allow_expired_window: int, cache_size: int = 10000):
        self.db = db
        self.keys = keys
        self.expiration = datetime.timedelta(seconds=expiration)
        self.allow_expired_window = datetime.timedelta(seconds=allow_expired_window)
        self._cache: collections.OrderedDict[str, tuple[tuple[int, int], ValidatedToken]] = \
            collections.OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._catalogs: dict[tuple[int, str | None], list[dict]] = {}
        # Idle connections for _current_revision; list.pop/append are atomic.
        # Being outside the pool, they are closed when the engine is disposed.
        self._revision_connections: list = []
        sa.event.listen(db.engine, "engine_disposed", self._close_revision_connections)
        self._revision_sql = str(
            sa.select(IdentityRevision.revision).where(IdentityRevision.id == 1)
            .compile(db.engine, compile_kwargs={"literal_binds": True}))

    # -- issuing ---------------------------------------------------------

    def issue(self, session: Session, *, user: User, methods: list[str], scope: Scope,
              parent: TokenPayload | None = None,
              application_credential: ApplicationCredential | None = None,
              trust: Trust | None = None) -> tuple[str, ValidatedToken]:
        """Sign a new token for an authenticated user; checks the scope is allowed."""
        now = utcnow()
        expires_at = now + self.expiration
        audit_ids: tuple[str, ...] = (new_audit_id(),)
        if parent is not None:
            # A rescoped token keeps its parent's lifetime and audit chain.
            expires_at = parent.expires_at
            audit_ids = (audit_ids[0], parent.audit_ids[-1])
        for delegation in (application_credential, trust):
            if delegation is not None and delegation.expires_at:
                expires_at = min(expires_at, delegation.expires_at)
        payload = TokenPayload(
            user_id=user.id, methods=tuple(methods), scope=scope, issued_at=now,
            expires_at=expires_at, audit_ids=audit_ids,
            application_credential_id=application_credential and application_credential.id,
            trust_id=trust and trust.id)
        validated = self._build(session, payload)
        token = self.keys.fernet().encrypt(payload.pack()).decode()
        return token, validated

    # -- validating ------------------------------------------------------

    def decode(self, token: str) -> TokenPayload:
        try:
            data = self.keys.fernet().decrypt(token.encode(), ttl=_NO_TTL)
            return TokenPayload.unpack(data)
        except (InvalidToken, ValueError, TypeError, msgpack.ExtraData,
                msgpack.FormatError, msgpack.StackError):
            raise NotFound("Could not find token.") from None

    def validate(self, token: str, *, allow_expired: bool = False) -> ValidatedToken:
        """Check a token; NotFound if it is invalid, expired or revoked."""
        # The revision is read before the token is resolved: a change that
        # lands in between leaves the entry under the older revision, so the
        # next request resolves it again.  Reloading the keys first makes a
        # cached token stale once its key was pruned.
        self.keys.fernet()
        revision = (self._current_revision(), self.keys.generation)
        cached = self._cache_get(token, revision)
        if cached is None:
            payload = self.decode(token)
            with self.db.session() as session:
                cached = self._build(session, payload)
            self._cache_put(token, revision, cached)
        expires_at = cached.payload.expires_at
        now = utcnow()
        if now >= expires_at and not (allow_expired and
                                      now < expires_at + self.allow_expired_window):
            raise NotFound("Could not find token.")
        return cached

    def catalog(self, project_id: str | None) -> list[dict]:
        """The catalog a token for this project shows, cached per identity revision
        (catalog changes bump it: see catalog.py)."""
        key = (self._current_revision(), project_id)
        found = self._catalogs.get(key)
        if found is None:
            with self.db.session() as session:
                found = build_catalog(session, project_id)
            if len(self._catalogs) >= self._cache_size:
                self._catalogs.clear()
            self._catalogs[key] = found
        return found

    def authenticate(self, token: str) -> RequestContext:
        """The Authenticator every API uses: a RequestContext, or 401."""
        try:
            return self.validate(token).context()
        except NotFound:
            raise Unauthorized("The request you have made requires authentication.") from None

    def _current_revision(self) -> int:
        """The identity revision counter, read from the database on every call.

        Reading it per request is what makes a revocation in one worker
        process take effect at once in all of them.  It is the whole database
        cost of validating a cached token, so it skips the ORM: no Session, no
        statement compilation (the SQL is compiled once), one indexed
        primary-key read on a DBAPI connection of its own.  Those connections
        are kept apart from the engine's pool (detached from it once made, so
        they keep its per-connection setup): borrowing pooled connections
        made SQLite's pool overflow under load, opening and closing a
        connection (PRAGMAs, schema parse) for many requests.  Each read ends
        its transaction, so the next one sees every commit made before it.
        """
        try:
            connection, reused = self._revision_connections.pop(), True
        except IndexError:
            connection, reused = self._new_revision_connection(), False
        try:
            row = self._read_revision(connection)
        except Exception:
            connection.close()      # a broken connection is not reused
            if not reused:
                raise
            # An idle connection the server dropped: once more on a new one.
            connection = self._new_revision_connection()
            try:
                row = self._read_revision(connection)
            except Exception:
                connection.close()
                raise
        if len(self._revision_connections) < _REVISION_CONNECTIONS:
            self._revision_connections.append(connection)
        else:
            connection.close()
        return row[0] if row and row[0] is not None else 0

    def _close_revision_connections(self, _engine=None) -> None:
        while self._revision_connections:
            self._revision_connections.pop().close()

    def _new_revision_connection(self):
        connection = self.db.engine.raw_connection()
        connection.detach()
        return connection

    def _read_revision(self, connection) -> tuple | None:
        cursor = connection.cursor()
        try:
            cursor.execute(self._revision_sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
        connection.rollback()
        return row

    def _cache_get(self, token: str, revision: tuple[int, int]) -> ValidatedToken | None:
        with self._cache_lock:
            entry = self._cache.get(token)
            if entry is None or entry[0] != revision:
                return None
            self._cache.move_to_end(token)
            return entry[1]

    def _cache_put(self, token: str, revision: tuple[int, int], validated: ValidatedToken) -> None:
        with self._cache_lock:
            self._cache[token] = (revision, validated)
            self._cache.move_to_end(token)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _build(self, session: Session, payload: TokenPayload) -> ValidatedToken:
        """Resolve a payload against the database; NotFound when it no longer holds."""
        invalid = NotFound("Could not find token.")
        user = session.get(User, payload.user_id)
        if user is None or not user.enabled:
            raise invalid
        user_domain = session.get(Domain, user.domain_id)
        if user_domain is None or not user_domain.enabled:
            raise invalid
        scope = payload.scope
        project_ref = domain_ref = None
        project_domain_id = None
        if scope.kind == "project":
            project = session.get(Project, scope.target_id)
            if project is None or not project.enabled:
                raise invalid
            project_domain = session.get(Domain, project.domain_id)
            if project_domain is None or not project_domain.enabled:
                raise invalid
            project_ref = {"id": project.id, "name": project.name,
                           "domain": _domain_ref(project_domain)}
            project_domain_id = project_domain.id
        elif scope.kind == "domain":
            domain = session.get(Domain, scope.target_id)
            if domain is None or not domain.enabled:
                raise invalid
            domain_ref = _domain_ref(domain)
        if revoke.is_revoked(session, audit_ids=list(payload.audit_ids), user_id=user.id,
                             project_id=scope.target_id if scope.kind == "project" else None,
                             domain_id=scope.target_id if scope.kind == "domain"
                             else project_domain_id,
                             issued_at=payload.issued_at):
            raise invalid

        roles: list[Role] = []
        app_cred_ref = trust_ref = None
        access_rules: tuple[AccessRule, ...] = ()
        role_holder = user.id
        if payload.trust_id:
            try:
                chain = trusts.pedigree(session, trusts.get_trust(session, payload.trust_id))
            except NotFound:
                raise invalid from None
            trust = chain[0]
            for party in {user_id for link in chain
                          for user_id in (link.trustor_user_id, link.trustee_user_id)}:
                party_user = session.get(User, party)
                if party_user is None or not party_user.enabled:
                    raise invalid
            # The original trustor's roles are what is delegated, whoever the
            # token names and however often the trust was redelegated.
            role_holder = chain[-1].trustor_user_id
            trust_ref = {"id": trust.id, "impersonation": trust.impersonation,
                         "trustor_user": {"id": trust.trustor_user_id},
                         "trustee_user": {"id": trust.trustee_user_id}}
        if scope.role_target is not None:
            role_ids = assignment.effective_role_ids(session, role_holder, *scope.role_target)
            if trust_ref is not None:
                role_ids &= assignment.expand_implied(session, set(trust.role_ids))
            if payload.application_credential_id:
                app_cred = session.get(ApplicationCredential, payload.application_credential_id)
                if app_cred is None:
                    raise invalid
                # An application credential delegates at most the roles it
                # was created with, and only while the user still holds them.
                role_ids &= assignment.expand_implied(session, set(app_cred.role_ids))
                app_cred_ref = {"id": app_cred.id, "name": app_cred.name,
                                "restricted": not app_cred.unrestricted}
                access_rules = credentials.access_rules_of(session, app_cred)
                if access_rules:
                    app_cred_ref["access_rules"] = [rule.as_dict() for rule in access_rules]
            if not role_ids:
                raise invalid
            roles = assignment.roles_by_ids(session, role_ids)
        return ValidatedToken(
            payload=payload,
            user={"id": user.id, "name": user.name, "domain": _domain_ref(user_domain),
                  "password_expires_at": isotime(user.password_expires_at)},
            project=project_ref, domain=domain_ref,
            roles=tuple({"id": r.id, "name": r.name} for r in roles),
            application_credential=app_cred_ref, trust=trust_ref, access_rules=access_rules)

    # -- revoking ----------------------------------------------------------

    def revoke_token(self, session: Session, payload: TokenPayload) -> None:
        revoke.revoke(session, audit_id=payload.audit_ids[0])
