"""Tables shared by all services."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from stacklet.db import Base, utcnow


class ServiceRecord(Base):
    """A running API service or host agent, with its heartbeat.

    ``stacklet status`` reads this table, so it can tell what runs even when
    the listener does not answer.
    """

    __tablename__ = "stacklet_services"
    __table_args__ = (sa.UniqueConstraint("host", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(64))     # "identity-api", "compute-agent", ...
    kind: Mapped[str] = mapped_column(sa.String(16))     # "api" | "agent"
    started_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    stopped: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
