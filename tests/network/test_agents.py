"""Network agents (heartbeats, admin management) and availability zones."""

from __future__ import annotations

import datetime

from stacklet.network import agents
from stacklet.network.models import Agent
from tests.network.conftest import neutron_error


def _report(api, agent_type="DHCP agent", host="host1", **extra) -> str:
    with api.cloud.db.transaction() as session:
        agent = agents.report_state(session, agent_type, "stacklet-dhcp-agent", host,
                                    "dhcp_agent", {"networks": 0, **extra})
        return agent.id


def test_reported_agents_are_listed_alive_for_the_admin(api, admin):
    dhcp = _report(api)
    l3 = _report(api, "L3 agent", "host2")
    listed = admin.get("/agents").json()["agents"]
    assert {a["id"] for a in listed} == {dhcp, l3}
    agent = admin.get(f"/agents/{dhcp}").json()["agent"]
    assert agent["agent_type"] == "DHCP agent" and agent["host"] == "host1"
    assert agent["alive"] is True and agent["admin_state_up"] is True
    assert agent["configurations"] == {"networks": 0}
    assert agent["topic"] == "dhcp_agent" and agent["binary"] == "stacklet-dhcp-agent"
    # Neutron's agent times: no zone, a space between date and time.
    datetime.datetime.strptime(agent["heartbeat_timestamp"], "%Y-%m-%d %H:%M:%S")
    assert [a["id"] for a in admin.get("/agents?agent_type=L3%20agent").json()["agents"]] \
        == [l3]
    assert [a["id"] for a in admin.get("/agents?host=host1&alive=true").json()["agents"]] \
        == [dhcp]
    assert admin.get("/agents?alive=maybe").status_code == 400


def test_a_second_report_updates_the_same_agent(api, admin):
    first = _report(api, networks=1)
    assert _report(api, networks=3) == first
    assert admin.get(f"/agents/{first}").json()["agent"]["configurations"] == {"networks": 3}


def test_an_agent_without_heartbeat_is_dead(api, admin):
    agent_id = _report(api)
    with api.cloud.db.transaction() as session:
        session.get(Agent, agent_id).heartbeat_timestamp -= datetime.timedelta(seconds=76)
    assert admin.get(f"/agents/{agent_id}").json()["agent"]["alive"] is False
    assert [a["id"] for a in admin.get("/agents?alive=false").json()["agents"]] == [agent_id]
    assert admin.get("/agents?alive=true").json()["agents"] == []


def test_admin_updates_and_deletes_an_agent(api, admin):
    agent_id = _report(api)
    updated = admin.put(f"/agents/{agent_id}", {"agent": {"admin_state_up": False,
                                                          "description": "draining"}})
    assert updated.status_code == 200
    assert updated.json()["agent"]["admin_state_up"] is False
    assert updated.json()["agent"]["description"] == "draining"
    assert admin.put(f"/agents/{agent_id}", {"agent": {"host": "elsewhere"}}).status_code \
        == 400
    assert admin.delete(f"/agents/{agent_id}").status_code == 204
    gone = admin.get(f"/agents/{agent_id}")
    assert gone.status_code == 404 and neutron_error(gone)["type"] == "AgentNotFound"


def test_members_see_no_agents(api, alice):
    agent_id = _report(api)
    assert alice.get("/agents").json() == {"agents": []}
    assert alice.get(f"/agents/{agent_id}").status_code == 404
    assert alice.put(f"/agents/{agent_id}",
                     {"agent": {"admin_state_up": False}}).status_code == 404
    assert alice.delete(f"/agents/{agent_id}").status_code == 404


def test_availability_zones_and_network_hints(alice):
    zones = alice.get("/availability_zones").json()["availability_zones"]
    assert sorted((z["name"], z["resource"], z["state"]) for z in zones) == [
        ("nova", "network", "available"), ("nova", "router", "available")]
    routers = alice.get("/availability_zones?resource=router").json()["availability_zones"]
    assert [z["resource"] for z in routers] == ["router"]
    assert alice.get("/availability_zones?color=red").status_code == 400
    network = alice.create("network", availability_zone_hints=["nova"])
    assert network["availability_zone_hints"] == ["nova"]
    unknown = alice.post("/networks", {"network": {"availability_zone_hints": ["moon"]}})
    assert unknown.status_code == 404
    assert neutron_error(unknown)["type"] == "AvailabilityZoneNotFound"
