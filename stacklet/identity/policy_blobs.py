"""Policy blobs (/v3/policies) and OAuth 1.0a consumers (/v3/OS-OAUTH1/consumers).

Keystone stores both for other parties: policy blobs for services that fetch
their policy from the catalog, consumers for OAuth clients.  Stacklet keeps
the same records; the OAuth1 request/access-token exchange is not offered.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.identity.models import OAuthConsumer, Policy
from stacklet.identity.records import apply_changes, get_or_404


def list_policies(session: Session, type_filter: str | None) -> list[Policy]:
    query = sa.select(Policy).order_by(Policy.id)
    if type_filter is not None:
        query = query.where(Policy.type == type_filter)
    return list(session.scalars(query))


def get_policy(session: Session, policy_id: str) -> Policy:
    return get_or_404(session, Policy, policy_id, "policy")


def create_policy(session: Session, data: dict) -> Policy:
    policy = Policy(type=data["type"], blob=data["blob"],
                    extra={k: v for k, v in data.items() if k not in ("type", "blob", "id")})
    session.add(policy)
    session.flush()
    return policy


def update_policy(session: Session, policy_id: str, changes: dict) -> Policy:
    policy = get_policy(session, policy_id)
    apply_changes(policy, changes, ("type", "blob"))
    session.flush()
    return policy


def delete_policy(session: Session, policy_id: str) -> None:
    session.delete(get_policy(session, policy_id))


def list_consumers(session: Session) -> list[OAuthConsumer]:
    return list(session.scalars(sa.select(OAuthConsumer).order_by(OAuthConsumer.id)))


def get_consumer(session: Session, consumer_id: str) -> OAuthConsumer:
    return get_or_404(session, OAuthConsumer, consumer_id, "consumer")


def create_consumer(session: Session, data: dict) -> OAuthConsumer:
    consumer = OAuthConsumer(description=data.get("description"),
                             secret=secrets.token_urlsafe(24),
                             extra={k: v for k, v in data.items() if k != "description"})
    session.add(consumer)
    session.flush()
    return consumer


def update_consumer(session: Session, consumer_id: str, changes: dict) -> OAuthConsumer:
    consumer = get_consumer(session, consumer_id)
    apply_changes(consumer, changes, ("description",))
    session.flush()
    return consumer


def delete_consumer(session: Session, consumer_id: str) -> None:
    session.delete(get_consumer(session, consumer_id))
