"""Metadata definition (metadefs) tables: namespaces and what they hold.

A namespace groups property definitions, objects (named sets of property
definitions) and tag definitions, and is associated with the resource types
(OS::Glance::Image, OS::Nova::Flavor, ...) its properties apply to.  Names
are what the API addresses, so they are unique: a namespace name across the
cloud, an object, property or tag name within its namespace.  Rows carry
integer ids so that renaming keeps a row's identity.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stacklet.db import Base, utcnow

NAME = sa.String(80)


def _namespace_fk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
                         index=True)


class _Timestamps:
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadefNamespace(_Timestamps, Base):
    __tablename__ = "metadef_namespaces"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(NAME, unique=True)
    display_name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(sa.Text)
    visibility: Mapped[str] = mapped_column(sa.String(32), default="private")
    protected: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(sa.String(255), index=True)

    objects: Mapped[list[MetadefObject]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefObject.id")
    properties: Mapped[list[MetadefProperty]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefProperty.id")
    tags: Mapped[list[MetadefTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefTag.id")
    associations: Mapped[list[MetadefResourceTypeAssociation]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="MetadefResourceTypeAssociation.created_at")


class MetadefObject(_Timestamps, Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (sa.UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(sa.Text)
    required: Mapped[list | None] = mapped_column(sa.JSON)
    # {property name: property definition}, each a JSON-schema fragment.
    properties: Mapped[dict | None] = mapped_column(sa.JSON)


class MetadefProperty(_Timestamps, Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (sa.UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(NAME)
    # The definition (title, type, enum, ...) without its name.
    definition: Mapped[dict] = mapped_column(sa.JSON)


class MetadefTag(_Timestamps, Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (sa.UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(sa.String(255))


class MetadefResourceType(_Timestamps, Base):
    """A kind of resource namespaces apply to.  The built-in ones are seeded
    by the migration and protected; associating a namespace with an unknown
    name creates it, as Glance does."""

    __tablename__ = "metadef_resource_types"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    protected: Mapped[bool] = mapped_column(default=False)


class MetadefResourceTypeAssociation(_Timestamps, Base):
    __tablename__ = "metadef_namespace_resource_types"
    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("metadef_resource_types.id"), primary_key=True, index=True)
    prefix: Mapped[str | None] = mapped_column(NAME)
    properties_target: Mapped[str | None] = mapped_column(NAME)

    resource_type: Mapped[MetadefResourceType] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.resource_type.name
