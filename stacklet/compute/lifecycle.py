"""The tasks that build and destroy servers on their host."""

from __future__ import annotations

from stacklet.compute import servers, states
from stacklet.compute.models import Instance
from stacklet.compute.tasks import TaskRun, task
from stacklet.db import utcnow


@task(states.SPAWNING, "compute__do_build_and_run_instance",
      on_error={"vm_state": states.ERROR})
def spawn(run: TaskRun) -> None:
    instance = run.instance
    run.cloud.ports.allocate(instance, run.host)
    run.driver.spawn(servers.guest_spec(instance))
    run.finish(vm_state=states.ACTIVE, power_state=states.RUNNING, launched_at=utcnow(),
               admin_password=None)


@task(states.DELETING, "compute_terminate_instance", on_error={"vm_state": states.ERROR})
def delete(run: TaskRun) -> None:
    run.driver.destroy(run.instance_id)
    run.cloud.ports.deallocate(run.instance)
    with run.db.transaction() as session:
        server = session.get(Instance, run.instance_id)
        if server.task_state == states.DELETING:
            servers.mark_deleted(session, server)
