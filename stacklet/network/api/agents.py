"""/v2.0/agents: the network agents, an admin's to see and manage."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import agents
from stacklet.network.api.common import authorize, can_get, list_body, shape
from stacklet.network.attributes import Attr, boolean, parse_body, string
from stacklet.network.errors import AgentNotFound, BadRequest
from stacklet.network.listing import Resource, list_page
from stacklet.network.models import Agent

routes = RouteTable()


def _alive_filter(query, values):
    wanted = set()
    for value in values:
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise BadRequest(f"Invalid input for alive. Reason: '{value}' cannot be "
                             "converted to boolean.")
        wanted.add(lowered in ("true", "1"))
    if len(wanted) == 2:
        return query
    return query.where(agents.alive_condition(wanted.pop()))


_COLUMNS = ("id", "agent_type", "binary", "topic", "host", "admin_state_up",
            "availability_zone", "description")
RESOURCE = Resource(
    "agent", "agents", Agent,
    filters={**{name: getattr(Agent, name) for name in _COLUMNS}, "alive": _alive_filter},
    sort_keys={**{name: getattr(Agent, name) for name in _COLUMNS},
               "created_at": Agent.created_at, "started_at": Agent.started_at,
               "heartbeat_timestamp": Agent.heartbeat_timestamp})

ATTRIBUTES = {
    "admin_state_up": Attr(boolean, post=False, put=True),
    "description": Attr(string(255), post=False, put=True),
}


def _agent_visible(req: ApiRequest, session, agent_id: str) -> Agent:
    """The agent, or 404 when the caller may not see agents (Neutron hides them)."""
    agent = agents.get(session, agent_id)
    if not can_get(req, "agent", {}):
        raise AgentNotFound(f"Agent {agent_id} could not be found.")
    return agent


@routes.route("/v2.0/agents", "GET")
def list_agents(req: ApiRequest):
    # Agents are nobody's: a caller the policy refuses sees an empty list.
    if not can_get(req, "agent", {}):
        return {"agents": []}
    with req.cloud.db.session() as session:
        page = list_page(session, sa.select(Agent), RESOURCE, req.query,
                         req.url("/v2.0/agents"))
        views = [agents.view(agent) for agent in page.rows]
    return list_body(req, "agent", "agents", page, views)


@routes.route("/v2.0/agents/{agent_id}", "GET")
def show_agent(req: ApiRequest):
    with req.cloud.db.session() as session:
        agent = _agent_visible(req, session, req.path["agent_id"])
        return {"agent": shape(req, "agent", agents.view(agent))}


@routes.route("/v2.0/agents/{agent_id}", "PUT")
def update_agent(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        agent = _agent_visible(req, session, req.path["agent_id"])
        authorize(req, "update", "agent", {})
        values = parse_body(req.body, "agent", ATTRIBUTES, update=True)
        for key, value in values.items():
            setattr(agent, key, value)
        session.flush()
        return {"agent": shape(req, "agent", agents.view(agent))}


@routes.route("/v2.0/agents/{agent_id}", "DELETE", status=204)
def delete_agent(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        agent = _agent_visible(req, session, req.path["agent_id"])
        authorize(req, "delete", "agent", {})
        session.delete(agent)
