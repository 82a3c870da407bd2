"""Remote consoles: the URLs Nova's remote-consoles API hands out, the tokens in
them, and where the console proxy finds the console a token opens.

As Nova's console auth tokens: a URL carries a random token; the database
keeps only its SHA-256, the server it opens and its expiry
(``[consoleauth] token_ttl``, 600 s).  Until then the token opens its console
as often as asked, so noVNC reconnecting, or a browser tab reloaded, keeps
working; afterwards, or once the server is deleted, it opens nothing.
Expired rows are purged whenever a new token is issued.

The consoles themselves are the driver's (``ComputeDriver.consoles`` and
``console_socket``): unix sockets on the server's host, which the proxy
(``console_proxy.py``) relays websockets to.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.errors import BadRequest, Conflict, NotImplementedYet
from stacklet.compute import states
from stacklet.compute.driver import DriverError, local_driver
from stacklet.compute.models import ConsoleAuthToken, Instance
from stacklet.compute.servers import invalid_state
from stacklet.db import utcnow

# Where the proxy is served under the one listener, and its pages and sockets.
PROXY_PREFIX = "/console"
NOVNC_PAGE = "/novnc/vnc_lite.html"
VNC_WEBSOCKET = "/websockify"
SERIAL_WEBSOCKET = "/serial"

# The console type Stacklet serves for each protocol it offers (Nova's names).
SERVED_TYPES = {"vnc": "novnc", "serial": "serial"}
PROTOCOL_OF_TYPE = {console_type: protocol for protocol, console_type in SERVED_TYPES.items()}


class InvalidToken(Exception):
    """The token is unknown, expired, for another kind of console, or its server is gone."""


class ConsoleUnreachable(Exception):
    """The token is valid but its console cannot be reached now (the guest does not run)."""


def issue_url(cloud, server: Instance, protocol: str, console_type: str) -> str:
    """A new URL opening the server's console, checked as Nova checks it: the
    server must have a host and not be being deleted (409), the protocol be one
    Stacklet serves with its console type (400), and the host's driver offer it
    (501, as Nova answers for a driver without consoles)."""
    if server.host is None:
        raise Conflict(f"Instance {server.id} is not ready")
    if server.task_state == states.DELETING:
        raise invalid_state(f"get_{protocol}_console", server, "task_state", server.task_state)
    if protocol not in SERVED_TYPES:
        raise BadRequest(f"Unavailable console type {console_type}.")
    if console_type != SERVED_TYPES[protocol]:
        raise BadRequest(f"Invalid console type {console_type}")
    if protocol not in offered_consoles(cloud, server.host):
        raise NotImplementedYet("The requested functionality is not supported.")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = datetime.timedelta(seconds=cloud.config.get("consoleauth", "token_ttl"))
    with cloud.db.transaction() as session:
        session.execute(sa.delete(ConsoleAuthToken).where(ConsoleAuthToken.expires_at <= now))
        session.add(ConsoleAuthToken(token_hash=_hash(token), console_type=console_type,
                                     instance_id=server.id, host=server.host,
                                     expires_at=now + lifetime))
    return access_url(cloud.config.public_url, console_type, token)


def access_url(public_url: str, console_type: str, token: str) -> str:
    """The URL a user opens: noVNC's page, told (as Nova's novncproxy_base_url
    does) the websocket path relative to the host, token included; or the
    serial console's websocket itself."""
    base = urlsplit(public_url)
    prefix = base.path.rstrip("/") + PROXY_PREFIX
    if console_type == "novnc":
        websocket = f"{prefix}{VNC_WEBSOCKET}?{urlencode({'token': token})}".lstrip("/")
        return urlunsplit((base.scheme, base.netloc, prefix + NOVNC_PAGE,
                           urlencode({"path": websocket}), ""))
    scheme = "wss" if base.scheme == "https" else "ws"
    return urlunsplit((scheme, base.netloc, prefix + SERIAL_WEBSOCKET,
                       urlencode({"token": token}), ""))


def valid_token(session: orm.Session, token: str) -> ConsoleAuthToken | None:
    """The token's row while it is unexpired and its server exists."""
    row = session.scalar(sa.select(ConsoleAuthToken).filter_by(token_hash=_hash(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    server = session.get(Instance, row.instance_id)
    if server is None or server.deleted:
        return None
    return row


def console_to_open(cloud, token: str, console_type: str) -> Path:
    """The socket of the console a token opens through the proxy of
    ``console_type``: InvalidToken or ConsoleUnreachable otherwise."""
    with cloud.db.session() as session:
        row = valid_token(session, token)
        if row is None or row.console_type != console_type:
            raise InvalidToken()
        instance_id = row.instance_id
        host = session.get(Instance, instance_id).host
    if host is None:
        raise ConsoleUnreachable(f"Instance {instance_id} is not on a host.")
    try:
        return guest_console_socket(cloud, host, instance_id, PROTOCOL_OF_TYPE[console_type])
    except DriverError as exc:
        raise ConsoleUnreachable(str(exc)) from None


# What the API and the proxy ask of a host's driver.  The API and that host's
# agent share this machine today; with many hosts these become bus calls.

def offered_consoles(cloud, host: str) -> tuple[str, ...]:
    return local_driver(cloud, host).consoles


def guest_console_socket(cloud, host: str, instance_id: str, protocol: str) -> Path:
    return local_driver(cloud, host).console_socket(instance_id, protocol)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
