"""`stacklet cleanup`: everything a cloud's network agents made on this host,
removed, whether or not the database still knows of it."""

from __future__ import annotations

import socket

from stacklet.network.agent.dhcp import DhcpAgent
from stacklet.network.agent.external import ExternalGateway
from stacklet.network.agent.l2 import L2Agent
from stacklet.network.agent.l3 import L3Agent
from stacklet.network.agent.settings import DataplaneSettings


def remove_everything(config) -> list[str]:
    """What was removed, one line each: routers and DHCP first (their
    namespaces' veths hang on the bridges), then bridges, taps and rules."""
    settings = DataplaneSettings.from_config(config, socket.gethostname())
    removed = []
    removed += L3Agent(settings, None).cleanup()
    removed += DhcpAgent(settings, None).cleanup()
    removed += ExternalGateway(settings).cleanup()
    removed += L2Agent(settings).cleanup()
    return removed
