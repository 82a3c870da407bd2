"""What a compute agent does for each task_state, and how a task ends.

The API starts a task by writing the server's ``task_state`` (and its
parameters in ``pending``) in the same transaction that records the
instance action; the agent on the server's host runs the function
registered here for that task_state.  A task ends by writing the server's
new state, but only if its task_state is still the one the task was for: a
delete that arrived meanwhile wins, and runs next.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.compute.driver import ComputeDriver, DriverError, NotSupported
from stacklet.compute.models import Instance, InstanceAction, InstanceActionEvent, InstanceFault
from stacklet.db import Database, utcnow

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Task:
    run: Callable[["TaskRun"], None]
    event: str               # the instance-action event name, e.g. compute_stop_instance
    on_error: dict           # fields written when the task fails


TASKS: dict[str, Task] = {}


def task(task_state: str, event: str, *, on_error: dict | None = None):
    """Register what the agent does for servers in ``task_state``.  On failure the
    server's task_state is cleared (and ``on_error`` written) and a fault recorded."""
    def register(run: Callable[["TaskRun"], None]):
        TASKS[task_state] = Task(run, event, on_error or {})
        return run
    return register


class TaskRun:
    """One run of a task for one server on one host."""

    def __init__(self, cloud, driver: ComputeDriver, host: str, instance: Instance):
        # The cloud gives a task its database, port provider and image store.
        self.cloud = cloud
        self.db: Database = cloud.db
        self.driver = driver
        self.host = host
        self.instance = instance
        self.task_state = instance.task_state
        self.pending = dict(instance.pending or {})
        self.event_id: int | None = None   # the instance-action event of this run

    @property
    def instance_id(self) -> str:
        return self.instance.id

    def finish(self, also: Callable[[Session], None] | None = None, **fields) -> bool:
        """Write the server's new state and clear its task; False when another task
        (a delete) replaced this one meanwhile, in which case nothing is written.
        ``also`` writes what goes with the new state (claims, a migration's
        status) in the same transaction, only when the state is written; the
        task's event ends in it too, so whoever sees the new state sees the
        event finished."""
        return self._end(fields, also, "Success", None)

    def fail(self, fields: dict, fault: InstanceFault, details: str) -> bool:
        """Write the state a failed task leaves, with its fault and failed event."""
        return self._end(dict(fields), lambda session: session.add(fault), "Error", details)

    def _end(self, fields: dict, also, result: str, details: str | None) -> bool:
        fields.setdefault("task_state", None)
        fields.setdefault("pending", {})
        with self.db.transaction() as session:
            written = session.execute(
                sa.update(Instance)
                .where(Instance.id == self.instance_id,
                       Instance.task_state == self.task_state)
                .values(**fields, updated_at=utcnow())
                .execution_options(synchronize_session=False))
            if written.rowcount != 1:
                return False
            if also is not None:
                also(session)
            _end_event(session, self.event_id, result, details)
            return True


def run_task(run: TaskRun) -> None:
    """Run the registered task, record its instance-action event, and on error
    leave the server in a state the user can act on, with a fault saying why."""
    spec = TASKS[run.task_state]
    run.event_id = _start_event(run, spec.event)
    try:
        spec.run(run)
    except Exception as exc:  # every failure ends the task; none may leave it hanging
        expected = isinstance(exc, DriverError)
        if not expected:
            LOG.exception("task %s of server %s failed", run.task_state, run.instance_id)
        message = str(exc) if expected else f"{exc.__class__.__name__}: {exc}"
        code = 409 if isinstance(exc, NotSupported) else 500
        details = "" if expected else traceback.format_exc()
        fault = InstanceFault(instance_id=run.instance_id, code=code, message=message[:255],
                              details=details, host=run.host)
        if not run.fail(spec.on_error, fault, details or message):
            # Another task (a delete) took over: the fault and event still tell.
            with run.db.transaction() as session:
                session.add(fault)
                _end_event(session, run.event_id, "Error", details or message)
    else:
        # A task that ended without finish (its server was deleted meanwhile).
        with run.db.transaction() as session:
            _end_event(session, run.event_id, "Success", None)


def _start_event(run: TaskRun, event: str) -> int | None:
    action_id = run.pending.get("action_id")
    if action_id is None:
        return None
    with run.db.transaction() as session:
        row = InstanceActionEvent(action_id=action_id, event=event, host=run.host)
        session.add(row)
        session.flush()
        return row.id


def _end_event(session: Session, event_id: int | None, result: str,
               traceback_text: str | None) -> None:
    """End the event (once: the first end written stands) and its action."""
    event = session.get(InstanceActionEvent, event_id) if event_id is not None else None
    if event is None or event.result is not None:
        return
    now = utcnow()
    event.result = result
    event.finish_time = now
    event.traceback = traceback_text
    action = session.get(InstanceAction, event.action_id)
    action.finish_time = now
    if result == "Error":
        action.message = "Error"
