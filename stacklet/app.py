"""The one ASGI application: every service mounted under its path prefix."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from stacklet import __version__
from stacklet import config as config_module
from stacklet.cloud import Cloud
from stacklet.common.models import ServiceRecord
from stacklet.common.requestid import RequestIdMiddleware
from stacklet.compute import console_proxy, consoles
from stacklet.compute.runtime import ComputeRuntime
from stacklet.db import utcnow
from stacklet.network.agent.runtime import NetworkRuntime
from stacklet.services import SERVICES

LOG = logging.getLogger(__name__)
HEARTBEAT_INTERVAL = 10


def record_heartbeat(cloud: Cloud, names: list[str], *, started: bool = False,
                     stopped: bool = False) -> None:
    """Upsert this host's service rows so `stacklet status` can report them."""
    now = utcnow()
    with cloud.db.transaction() as session:
        for name in names:
            row = session.scalar(sa.select(ServiceRecord).filter_by(host=cloud.host, name=name))
            if row is None:
                row = ServiceRecord(host=cloud.host, name=name, kind="api")
                session.add(row)
            if started:
                row.started_at = now
            row.heartbeat_at = now
            row.stopped = stopped
            row.details = {"listener": cloud.config.public_url}


def create_app(cloud: Cloud) -> Starlette:
    service_names = [f"{info.type}-api" for info in SERVICES]

    async def root(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"name": "stacklet", "version": __version__, "services": [
            {"type": info.type, "url": f"{base}{info.prefix}"} for info in SERVICES]})

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        try:
            await asyncio.to_thread(record_heartbeat, cloud, service_names, started=True)
        except sa.exc.IntegrityError:
            # Worker processes of one host start together: another one
            # inserted this host's rows between our select and insert.
            await asyncio.to_thread(record_heartbeat, cloud, service_names, started=True)

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_INTERVAL)
                try:
                    await asyncio.to_thread(record_heartbeat, cloud, service_names)
                except Exception:  # a missed beat must not stop the API
                    LOG.exception("could not record heartbeat")

        task = asyncio.create_task(heartbeat())
        # Compute first: its metadata service's address is where the network's
        # metadata proxies send guests.  A guest it builds meanwhile waits for
        # its ports to be wired.
        compute = ComputeRuntime(cloud)
        await compute.start()
        network = cloud.network_agents = NetworkRuntime(cloud)
        await network.start()
        try:
            yield
        finally:
            task.cancel()
            await compute.stop()
            await network.stop()
            await asyncio.to_thread(record_heartbeat, cloud, service_names, stopped=True)

    routes = [Route("/", root)]
    routes += [Mount(info.prefix, app=info.create_api(cloud).asgi_app()) for info in SERVICES]
    # Nova's console proxies: the URLs its remote-consoles API hands out.
    routes.append(Mount(consoles.PROXY_PREFIX, app=console_proxy.create_app(cloud)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestIdMiddleware)
    app.state.cloud = cloud
    # Services calling each other's APIs in-process (stacklet.common.internal).
    cloud.asgi_app = app
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn worker processes: the data dir comes from STACKLET_DATA_DIR."""
    return create_app(Cloud(config_module.load()))
