"""What the agent does for each server action (one task per task_state).

Each task asks the driver, then ends in Nova's end state for the action.
On failure a task ends as ``on_error`` says: most leave the server as it
was (Nova reverts the task_state); rebuild, resize, rescue and unshelve
leave it in ERROR, as Nova does.  The API side is stacklet.compute.actions.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import sqlalchemy as sa

from stacklet.compute import scheduler, servers, states
from stacklet.compute.driver import DriverError, GuestSpec
from stacklet.compute.models import Migration
from stacklet.compute.tasks import TaskRun, task
from stacklet.db import utcnow
from stacklet.image import data as image_data
from stacklet.image.models import Image, ImageProperty

ERROR = {"vm_state": states.ERROR}


# -- power, pause, suspend, rescue ---------------------------------------------------------

def _driver_step(task_state: str, event: str, method: str, vm_state: str, power_state: int,
                 on_error: dict | None = None) -> None:
    """Register a task that is one driver call on the guest and one end state."""
    @task(task_state, event, on_error=on_error)
    def run(run: TaskRun) -> None:
        getattr(run.driver, method)(run.instance_id)
        run.finish(vm_state=vm_state, power_state=power_state)


_driver_step(states.POWERING_OFF, "compute_stop_instance", "power_off",
             states.STOPPED, states.SHUTDOWN)
_driver_step(states.POWERING_ON, "compute_start_instance", "power_on",
             states.ACTIVE, states.RUNNING)
_driver_step(states.PAUSING, "compute_pause_instance", "pause",
             states.PAUSED, states.PAUSED_POWER)
_driver_step(states.UNPAUSING, "compute_unpause_instance", "unpause",
             states.ACTIVE, states.RUNNING)
_driver_step(states.SUSPENDING, "compute_suspend_instance", "suspend",
             states.SUSPENDED, states.SUSPENDED_POWER)
_driver_step(states.RESUMING, "compute_resume_instance", "resume",
             states.ACTIVE, states.RUNNING)
_driver_step(states.UNRESCUING, "compute_unrescue_instance", "unrescue",
             states.ACTIVE, states.RUNNING, on_error=ERROR)


def _reboot(run: TaskRun) -> None:
    run.driver.reboot(run.instance_id, hard=bool(run.pending.get("hard")))
    run.finish(vm_state=states.ACTIVE, power_state=states.RUNNING)


task(states.REBOOTING, "compute_reboot_instance", on_error=ERROR)(_reboot)
task(states.REBOOTING_HARD, "compute_reboot_instance", on_error=ERROR)(_reboot)


@task(states.RESCUING, "compute_rescue_instance", on_error=ERROR)
def rescue(run: TaskRun) -> None:
    run.driver.rescue(run.instance_id, run.pending["rescue_image_id"])
    run.finish(vm_state=states.RESCUED, power_state=states.RUNNING, admin_password=None)


@task(states.UPDATING_PASSWORD, "compute_set_admin_password")
def set_admin_password(run: TaskRun) -> None:
    run.driver.set_admin_password(run.instance_id, run.pending["password"])
    run.finish()


@task(states.TRIGGERING_CRASH_DUMP, "compute_trigger_crash_dump")
def trigger_crash_dump(run: TaskRun) -> None:
    run.driver.trigger_crash_dump(run.instance_id)
    run.finish()


# -- rebuild ----------------------------------------------------------------------------------

@task(states.REBUILDING, "compute_rebuild_instance", on_error=ERROR)
def rebuild(run: TaskRun) -> None:
    run.driver.rebuild(servers.guest_spec(run.instance))
    # A stopped server is rebuilt, then stopped again, as in Nova.
    if run.pending.get("was_stopped"):
        run.driver.power_off(run.instance_id)
        run.finish(vm_state=states.STOPPED, power_state=states.SHUTDOWN, admin_password=None,
                   launched_at=utcnow())
    else:
        run.finish(vm_state=states.ACTIVE, power_state=states.RUNNING, admin_password=None,
                   launched_at=utcnow())


# -- resize, migrate and revert ---------------------------------------------------------------

def _spec_with_flavor(run: TaskRun, flavor: dict) -> GuestSpec:
    return dataclasses.replace(
        servers.guest_spec(run.instance), vcpus=flavor["vcpus"], memory_mb=flavor["ram"],
        root_gb=flavor["disk"], ephemeral_gb=flavor["ephemeral"], swap_mb=flavor["swap"])


def _flavor_columns(flavor: dict) -> dict:
    return {"flavor": flavor, "vcpus": flavor["vcpus"], "memory_mb": flavor["ram"],
            "root_gb": flavor["disk"], "ephemeral_gb": flavor["ephemeral"]}


def _set_migration(migration_id: int, status: str):
    def write(session) -> None:
        session.execute(sa.update(Migration).where(Migration.id == migration_id)
                        .values(status=status, updated_at=utcnow()))
    return write


def _migration(run: TaskRun) -> Migration:
    with run.db.session() as session:
        return session.get(Migration, run.pending["migration_id"])


def _guest_on_this_host(run: TaskRun, spec: GuestSpec, *, stopped: bool) -> None:
    """Build the moved guest here, powered as it was before the move."""
    instance = run.instance
    run.cloud.ports.allocate(instance, run.host)
    run.driver.spawn(spec)
    if stopped:
        run.driver.power_off(run.instance_id)


@task(states.RESIZE_PREP, "compute_resize_instance", on_error=ERROR)
def resize(run: TaskRun) -> None:
    """On the source host: resize in place, or give the guest up to the destination."""
    migration = _migration(run)
    if migration.dest_compute == run.host:
        run.driver.resize(_spec_with_flavor(run, run.instance.new_flavor))
        if run.pending.get("was_stopped"):
            run.driver.power_off(run.instance_id)
        _finish_resize(run, migration)
        return
    run.driver.destroy(run.instance_id)
    run.finish(host=migration.dest_compute, node=migration.dest_node,
               task_state=states.RESIZE_FINISH, pending=run.pending,
               also=_set_migration(migration.id, "post-migrating"))


@task(states.RESIZE_FINISH, "compute_finish_resize", on_error=ERROR)
def finish_resize(run: TaskRun) -> None:
    """On the destination host: the guest with its new flavor."""
    _guest_on_this_host(run, _spec_with_flavor(run, run.instance.new_flavor),
                        stopped=bool(run.pending.get("was_stopped")))
    _finish_resize(run, _migration(run))


def _finish_resize(run: TaskRun, migration: Migration) -> None:
    stopped = bool(run.pending.get("was_stopped"))
    instance = run.instance
    # The old flavor and state stay with the server until the resize is
    # confirmed or reverted.
    system_metadata = {**instance.system_metadata, "old_flavor": instance.flavor,
                       "old_vm_state": states.STOPPED if stopped else states.ACTIVE}
    run.finish(vm_state=states.RESIZED,
               power_state=states.SHUTDOWN if stopped else states.RUNNING,
               system_metadata=system_metadata, **_flavor_columns(instance.new_flavor),
               also=_set_migration(migration.id, "finished"))


@task(states.RESIZE_REVERTING, "compute_revert_resize", on_error=ERROR)
def revert_resize(run: TaskRun) -> None:
    """On the destination host: give up the new flavor's claim (and the guest when
    it moved); then, on the source host, the guest with its old flavor again."""
    migration = _migration(run)
    instance = run.instance
    new_flavor, old_flavor = instance.flavor, instance.system_metadata["old_flavor"]
    stopped = instance.system_metadata.get("old_vm_state") == states.STOPPED

    def release_new_claim(session) -> None:
        scheduler.release(session, migration.dest_compute, new_flavor["vcpus"],
                          new_flavor["ram"], scheduler.disk_gb_of(new_flavor))

    if migration.source_compute != run.host:
        run.driver.destroy(run.instance_id)
        run.finish(host=migration.source_compute, node=migration.source_node,
                   task_state=states.RESIZE_REVERTING, pending=run.pending,
                   also=release_new_claim)
        return
    old_spec = _spec_with_flavor(run, old_flavor)
    if migration.dest_compute == run.host:
        run.driver.resize(old_spec)
        if stopped:
            run.driver.power_off(run.instance_id)
    else:
        _guest_on_this_host(run, old_spec, stopped=stopped)

    def write(session) -> None:
        if migration.dest_compute == run.host:
            release_new_claim(session)
        _set_migration(migration.id, "reverted")(session)

    system_metadata = {key: value for key, value in instance.system_metadata.items()
                       if key not in ("old_flavor", "old_vm_state")}
    run.finish(vm_state=states.STOPPED if stopped else states.ACTIVE,
               power_state=states.SHUTDOWN if stopped else states.RUNNING,
               new_flavor=None, system_metadata=system_metadata,
               **_flavor_columns(old_flavor), also=write)


# -- snapshots, backups and shelving ------------------------------------------------------------

def _upload_snapshot(run: TaskRun, image_id: str) -> None:
    """The guest's disk into the image, through the image store as an upload
    would go: queued → saving → active.  On failure the image goes, as in Nova."""
    store = run.cloud.image_store
    try:
        with run.db.transaction() as session:
            image = session.get(Image, image_id)
            if image is None:
                raise DriverError(f"Image {image_id} was deleted before the snapshot "
                                  "was taken.")
            if image.status == "active":
                return   # uploaded by a run cut short before it could finish the task
            image_data.claim_for_upload(session, image)
        disk, disk_format = run.driver.snapshot(run.instance_id)
        try:
            stored = asyncio.run(store.receive(_file_chunks(disk), store.data_path(image_id),
                                               disk.stat().st_size))
        finally:
            disk.unlink(missing_ok=True)
        with run.db.transaction() as session:
            session.execute(sa.update(Image).where(Image.id == image_id)
                            .values(disk_format=disk_format))
            if not image_data.activate(session, store, image_id, stored,
                                       from_status="saving"):
                store.remove(image_id)
    except Exception:
        _delete_images(run, [image_id])
        raise


async def _file_chunks(path: Path, size: int = 1 << 20):
    with open(path, "rb") as disk:
        while chunk := disk.read(size):
            yield chunk


def _delete_images(run: TaskRun, image_ids: list[str]) -> None:
    with run.db.transaction() as session:
        session.execute(sa.delete(Image).where(Image.id.in_(image_ids)))
    for image_id in image_ids:
        run.cloud.image_store.remove(image_id)


def _snapshot(run: TaskRun) -> None:
    _upload_snapshot(run, run.pending["image_id"])
    if run.pending.get("backup_type") is not None:
        _rotate_backups(run, run.pending["backup_type"], run.pending["rotation"])
    run.finish()


task(states.IMAGE_SNAPSHOT, "compute_snapshot_instance")(_snapshot)
task(states.IMAGE_BACKUP, "compute_backup_instance")(_snapshot)


def _rotate_backups(run: TaskRun, backup_type: str, rotation: int) -> None:
    """Keep the newest ``rotation`` backups of this type of the server."""
    def has(name: str, value: str):
        return Image.properties.any(sa.and_(ImageProperty.name == name,
                                            ImageProperty.value == value))

    with run.db.session() as session:
        backups = list(session.scalars(
            sa.select(Image.id)
            .where(has("instance_uuid", run.instance_id), has("image_type", "backup"),
                   has("backup_type", backup_type))
            .order_by(Image.created_at.desc(), Image.id.desc())))
    if len(backups) > rotation:
        _delete_images(run, backups[rotation:])


@task(states.SHELVING, "compute_shelve_instance")
def shelve(run: TaskRun) -> None:
    run.driver.power_off(run.instance_id)
    image_id = run.pending["image_id"]
    _upload_snapshot(run, image_id)
    # Nova's shelved_offload_time=0: offloading follows at once.
    run.finish(vm_state=states.SHELVED, power_state=states.SHUTDOWN,
               task_state=states.SHELVING_OFFLOADING,
               pending={"action_id": run.pending.get("action_id")},
               system_metadata={**run.instance.system_metadata, "shelved_image_id": image_id})


@task(states.SHELVING_OFFLOADING, "compute_shelve_offload_instance")
def shelve_offload(run: TaskRun) -> None:
    """Free the host: the guest goes, and so does its claim."""
    instance = run.instance
    run.driver.destroy(run.instance_id)

    def release_claim(session) -> None:
        scheduler.release(session, run.host, instance.vcpus, instance.memory_mb,
                          scheduler.disk_gb_of(instance.flavor))

    run.finish(vm_state=states.SHELVED_OFFLOADED, power_state=states.SHUTDOWN, host=None,
               node=None, also=release_claim)


@task(states.UNSHELVING, "compute_unshelve_instance", on_error=ERROR)
def unshelve(run: TaskRun) -> None:
    """Power a shelved guest on, or build an offloaded one from its shelved image
    on the host the conductor chose; the shelved image then goes, as in Nova."""
    instance = run.instance
    image_id = instance.system_metadata.get("shelved_image_id")
    if instance.vm_state == states.SHELVED:
        run.driver.power_on(run.instance_id)
    else:
        spec = servers.guest_spec(instance)
        if image_id:
            spec = dataclasses.replace(spec, image_id=image_id)
        _guest_on_this_host(run, spec, stopped=False)
    system_metadata = {key: value for key, value in instance.system_metadata.items()
                       if key != "shelved_image_id"}
    if run.finish(vm_state=states.ACTIVE, power_state=states.RUNNING,
                  system_metadata=system_metadata, launched_at=utcnow()) and image_id:
        _delete_images(run, [image_id])
