"""Network agents: the DHCP, L3, Linux bridge and metadata agents on each host,
known by their heartbeats.

An agent reports its state periodically; one that has not reported within
``AGENT_DOWN_TIME`` is shown as not alive (Neutron's ``agent_down_time``).
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa

from stacklet.db import utcnow
from stacklet.network.errors import AgentNotFound
from stacklet.network.models import Agent

AGENT_DOWN_TIME = datetime.timedelta(seconds=75)
# Neutron's agent types.
LINUX_BRIDGE_AGENT = "Linux bridge agent"
DHCP_AGENT = "DHCP agent"
L3_AGENT = "L3 agent"
METADATA_AGENT = "Metadata agent"
AGENT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"   # Neutron shows agent times without a zone


def report_state(session, agent_type: str, binary: str, host: str, topic: str,
                 configurations: dict, *, availability_zone: str | None = None,
                 start: bool = False) -> Agent:
    """Record an agent's heartbeat, registering the agent on its first report.
    ``start`` says the agent process has just started (its ``started_at``)."""
    now = utcnow()
    agent = session.scalar(sa.select(Agent).where(Agent.agent_type == agent_type,
                                                  Agent.host == host))
    if agent is None:
        agent = Agent(agent_type=agent_type, host=host, created_at=now, started_at=now)
        session.add(agent)
    elif start:
        agent.started_at = now
    agent.binary, agent.topic = binary, topic
    agent.configurations = configurations
    agent.availability_zone = availability_zone
    agent.heartbeat_timestamp = now
    session.flush()
    return agent


def is_alive(agent: Agent, now: datetime.datetime | None = None) -> bool:
    return (now or utcnow()) - agent.heartbeat_timestamp <= AGENT_DOWN_TIME


def alive_condition(alive: bool):
    """A query condition selecting the agents that are (or are not) alive."""
    fresh = Agent.heartbeat_timestamp >= utcnow() - AGENT_DOWN_TIME
    return fresh if alive else sa.not_(fresh)


def get(session, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(f"Agent {agent_id} could not be found.")
    return agent


def _time(moment: datetime.datetime | None) -> str | None:
    return moment.strftime(AGENT_TIME_FORMAT) if moment else None


def view(agent: Agent) -> dict:
    return {
        "id": agent.id, "agent_type": agent.agent_type, "binary": agent.binary,
        "topic": agent.topic, "host": agent.host, "admin_state_up": agent.admin_state_up,
        "alive": is_alive(agent), "availability_zone": agent.availability_zone,
        "description": agent.description, "configurations": agent.configurations,
        "resource_versions": agent.resource_versions,
        "created_at": _time(agent.created_at), "started_at": _time(agent.started_at),
        "heartbeat_timestamp": _time(agent.heartbeat_timestamp),
        "resources_synced": None,
    }
