"""Flavors: who sees which, creating and deleting them, their extra specs and
the projects a private flavor is shared with."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute.models import Flavor, FlavorExtraSpec, FlavorProject

# The flavors DevStack creates (name, flavor id, MiB of RAM, vCPUs, GiB of disk).
DEVSTACK_FLAVORS = [
    ("m1.tiny", "1", 512, 1, 1),
    ("m1.small", "2", 2048, 1, 20),
    ("m1.medium", "3", 4096, 2, 40),
    ("m1.large", "4", 8192, 4, 80),
    ("m1.xlarge", "5", 16384, 8, 160),
    ("m1.nano", "42", 128, 1, 1),
    ("m1.micro", "84", 192, 1, 1),
]

# Columns a listing can be sorted by, under Nova's names for them.
SORT_COLUMNS = {
    "flavorid": Flavor.id, "id": Flavor.pk, "name": Flavor.name,
    "memory_mb": Flavor.memory_mb, "vcpus": Flavor.vcpus, "root_gb": Flavor.root_gb,
    "ephemeral_gb": Flavor.ephemeral_gb, "swap": Flavor.swap,
    "rxtx_factor": Flavor.rxtx_factor, "is_public": Flavor.is_public,
    "disabled": Flavor.disabled, "description": Flavor.description,
    "created_at": Flavor.created_at, "updated_at": Flavor.updated_at,
}


def bootstrap_flavors(session: Session) -> int:
    """Create DevStack's default flavors on a fresh cloud; returns how many.

    Only when there is no flavor at all: an operator who deleted some (or
    all but one) keeps that choice across restarts."""
    if session.scalar(sa.select(sa.func.count()).select_from(Flavor)):
        return 0
    for name, flavor_id, ram, vcpus, disk in DEVSTACK_FLAVORS:
        session.add(Flavor(id=flavor_id, name=name, memory_mb=ram, vcpus=vcpus, root_gb=disk))
    return len(DEVSTACK_FLAVORS)


def _visible(ctx: RequestContext | None):
    """The flavors a caller may use: all for an admin, else public ones and the
    private ones shared with the caller's project."""
    if ctx is None or ctx.is_admin:
        return sa.true()
    return sa.or_(Flavor.is_public.is_(True),
                  Flavor.projects.any(FlavorProject.project_id == (ctx.project_id or "")))


def find_flavor(session: Session, flavor_id: str, ctx: RequestContext | None) -> Flavor | None:
    """The flavor with this id if the caller may see it (None as caller: any)."""
    return session.scalar(sa.select(Flavor).where(Flavor.id == str(flavor_id), _visible(ctx)))


def get_flavor(session: Session, flavor_id: str, ctx: RequestContext | None) -> Flavor:
    flavor = find_flavor(session, flavor_id, ctx)
    if flavor is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return flavor


def flavor_snapshot(flavor: Flavor) -> dict:
    """The flavor as a server records it at boot (Nova's embedded flavor)."""
    return {
        "id": flavor.id, "name": flavor.name, "original_name": flavor.name,
        "vcpus": flavor.vcpus, "ram": flavor.memory_mb, "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb, "swap": flavor.swap,
        "rxtx_factor": flavor.rxtx_factor, "is_public": flavor.is_public,
        "description": flavor.description,
        "extra_specs": {spec.key: spec.value for spec in flavor.extra_specs},
    }


def list_flavors(session: Session, ctx: RequestContext, *, is_public: bool | None,
                 min_ram: int | None, min_disk: int | None, sort_key: str,
                 sort_dir: str) -> list[Flavor]:
    """Flavors for a listing.  ``is_public`` True: the public ones plus private ones
    shared with the caller's project; False: private only; None: all."""
    query = sa.select(Flavor)
    if is_public is not None:
        shared = Flavor.projects.any(FlavorProject.project_id == (ctx.project_id or ""))
        query = query.where(sa.or_(Flavor.is_public.is_(True), shared) if is_public
                            else Flavor.is_public.is_(False))
    if not ctx.is_admin:
        query = query.where(_visible(ctx), Flavor.disabled.is_(False))
    if min_ram is not None:
        query = query.where(Flavor.memory_mb >= min_ram)
    if min_disk is not None:
        query = query.where(Flavor.root_gb >= min_disk)
    column = SORT_COLUMNS[sort_key]
    order = column.asc() if sort_dir == "asc" else column.desc()
    # The flavor id breaks ties, so markers always find their place.
    return list(session.scalars(query.order_by(order, Flavor.id.asc())))


def create_flavor(session: Session, values: dict) -> Flavor:
    flavor_id = values.get("id") or str(uuid.uuid4())
    if session.scalar(sa.select(Flavor.pk).where(Flavor.name == values["name"])):
        raise Conflict(f"Flavor with name {values['name']} already exists.")
    if session.scalar(sa.select(Flavor.pk).where(Flavor.id == flavor_id)):
        raise Conflict(f"Flavor with ID {flavor_id} already exists.")
    flavor = Flavor(id=flavor_id, **{k: v for k, v in values.items() if k != "id"})
    session.add(flavor)
    session.flush()
    return flavor


def delete_flavor(session: Session, flavor_id: str) -> None:
    session.delete(get_flavor(session, flavor_id, None))


# -- extra specs ---------------------------------------------------------------

def set_extra_specs(session: Session, flavor: Flavor, specs: dict[str, str]) -> None:
    current = {spec.key: spec for spec in flavor.extra_specs}
    for key, value in specs.items():
        if key in current:
            current[key].value = value
        else:
            flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
    session.flush()


def delete_extra_spec(session: Session, flavor: Flavor, key: str) -> None:
    for spec in flavor.extra_specs:
        if spec.key == key:
            flavor.extra_specs.remove(spec)
            session.flush()
            return
    raise NotFound(f"Flavor {flavor.id} has no extra specs with key {key}.")


# -- access of private flavors --------------------------------------------------

def add_project_access(session: Session, flavor: Flavor, project_id: str) -> None:
    if flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if any(access.project_id == project_id for access in flavor.projects):
        raise Conflict(f"Flavor access already exists for flavor {flavor.id} and project "
                       f"{project_id} combination.")
    flavor.projects.append(FlavorProject(project_id=project_id))
    session.flush()


def remove_project_access(session: Session, flavor: Flavor, project_id: str) -> None:
    for access in flavor.projects:
        if access.project_id == project_id:
            flavor.projects.remove(access)
            session.flush()
            return
    raise NotFound(f"Flavor access not found for {flavor.id} / {project_id} combination.")


def check_sort(sort_key: str, sort_dir: str) -> None:
    if sort_key not in SORT_COLUMNS:
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {sort_key}.")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {sort_dir}.")
