"""Nova's server states: vm_state, task_state, power_state and the API status."""

from __future__ import annotations

# vm_state: what the server is.
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state: what is being done to it.  The ones an agent acts on carry
# their parameters in Instance.pending.
SCHEDULING = "scheduling"
SPAWNING = "spawning"
DELETING = "deleting"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
REBUILDING = "rebuilding"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
IMAGE_BACKUP = "image_backup"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
SHELVING = "shelving"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"
UPDATING_PASSWORD = "updating_password"
# Nova casts a crash dump without a task_state; here the agent needs one to
# find the work, so the server shows this one for the moment it takes.
TRIGGERING_CRASH_DUMP = "triggering_crash_dump"

# power_state, as Nova numbers it.
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7
# Nova's names of power states, as diagnostics and error messages show them.
POWER_STATE_NAMES = {NOSTATE: "pending", RUNNING: "running", PAUSED_POWER: "paused",
                     SHUTDOWN: "shutdown", CRASHED: "crashed", SUSPENDED_POWER: "suspended"}

# The API status of a vm_state, and the exceptions some task_states make.
_STATUS = {
    ACTIVE: "ACTIVE", BUILDING: "BUILD", PAUSED: "PAUSED", SUSPENDED: "SUSPENDED",
    STOPPED: "SHUTOFF", RESCUED: "RESCUE", RESIZED: "VERIFY_RESIZE",
    SOFT_DELETED: "SOFT_DELETED", DELETED: "DELETED", ERROR: "ERROR", SHELVED: "SHELVED",
    SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}
_TASK_STATUS = {
    REBOOTING: "REBOOT", REBOOTING_HARD: "HARD_REBOOT", REBUILDING: "REBUILD",
    UPDATING_PASSWORD: "PASSWORD", RESIZE_PREP: "RESIZE", RESIZE_MIGRATING: "RESIZE",
    RESIZE_FINISH: "RESIZE", RESIZE_REVERTING: "REVERT_RESIZE",
}

# Task states shown as a status of their own.
TASK_STATUSES = list(_TASK_STATUS)


def api_status(vm_state: str, task_state: str | None) -> str:
    """The server status the API shows (Nova's state mapping)."""
    if vm_state in (ACTIVE, STOPPED) and task_state in _TASK_STATUS:
        if task_state in (REBOOTING, REBOOTING_HARD) and vm_state == STOPPED:
            return "SHUTOFF"
        return _TASK_STATUS[task_state]
    if vm_state == RESIZED and task_state == RESIZE_REVERTING:
        return "REVERT_RESIZE"
    return _STATUS.get(vm_state, "UNKNOWN")


def vm_states_for_status(status: str) -> list[str] | None:
    """The vm_states a status filter on the server list means (None: unknown status)."""
    status = status.upper()
    states = [vm for vm, name in _STATUS.items() if name == status]
    if status in _TASK_STATUS.values():
        states.append(ACTIVE)
    return states or None


def task_states_for_status(status: str) -> list[str] | None:
    """The task_states that single out a status shown only during a task."""
    tasks = [task for task, name in _TASK_STATUS.items() if name == status.upper()]
    return tasks or None
