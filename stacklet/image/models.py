"""Image tables: images, their extra properties, tags and members.

Properties, tags and members are rows of their own (not JSON on the image)
so that list filters by property, tag and membership run in the database.
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stacklet.db import Base, utcnow

ID = sa.String(36)


def new_image_id() -> str:
    # Glance ids are dashed UUIDs; clients and Tempest expect that form.
    return str(uuid.uuid4())


class Image(Base):
    __tablename__ = "image_images"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_image_id)
    name: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(30), default="queued", index=True)
    visibility: Mapped[str] = mapped_column(sa.String(20), default="shared", index=True)
    protected: Mapped[bool] = mapped_column(default=False)
    os_hidden: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    disk_format: Mapped[str | None] = mapped_column(sa.String(20))
    container_format: Mapped[str | None] = mapped_column(sa.String(20))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    checksum: Mapped[str | None] = mapped_column(sa.String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(sa.String(64))
    os_hash_value: Mapped[str | None] = mapped_column(sa.String(128))
    min_disk: Mapped[int] = mapped_column(default=0)
    min_ram: Mapped[int] = mapped_column(default=0)
    # Bytes staged by the interoperable import's glance-direct stage call,
    # counted against the project's quota until the import ends.
    staged_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The staged data's hashes, computed while it streamed in: the import
    # renames the staged file into the store and needs not read it again.
    staged_checksum: Mapped[str | None] = mapped_column(sa.String(32))
    staged_os_hash_value: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow,
                                                          index=True)

    properties: Mapped[list[ImageProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageProperty.name")
    tags: Mapped[list[ImageTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageTag.value")
    members: Mapped[list[ImageMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageMember.created_at")

    @property
    def extra_properties(self) -> dict[str, str]:
        return {p.name: p.value for p in self.properties}

    @property
    def tag_values(self) -> list[str]:
        return [t.value for t in self.tags]


class ImageProperty(Base):
    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class ImageTag(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_members"
    image_id: Mapped[str] = mapped_column(
        ID, sa.ForeignKey("image_images.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(sa.String(64), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImageTask(Base):
    """A Glance task: an interoperable import (type ``api_image_import``) of
    one image, kept after it ends so clients can read how it went until it
    expires."""
    __tablename__ = "image_tasks"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_image_id)
    type: Mapped[str] = mapped_column(sa.String(30))
    status: Mapped[str] = mapped_column(sa.String(30), default="pending", index=True)
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # No foreign key: a task outlives its image, as in Glance.
    image_id: Mapped[str | None] = mapped_column(ID, index=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    user_id: Mapped[str | None] = mapped_column(sa.String(64))
    input: Mapped[dict | None] = mapped_column(sa.JSON)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    expires_at: Mapped[datetime.datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
