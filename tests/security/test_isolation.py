"""Project isolation, walked over every route of every service.

Project A owns one of every resource (tests/security/world.py).  For every
declared route that names a resource in its path, B's member and B's reader
try it with A's ids, and must be answered 403 or 404; every list B can ask
for, with the filters that widen a list to other projects, must name none of
A's resources; B's references to A's resources by id in request bodies are
refused; and afterwards A sees every one of its resources as it was.
"""

from __future__ import annotations

import json

import pytest

from stacklet.compute.api.server_actions import ACTIONS
from stacklet.services import SERVICES

from tests.security import routes
from tests.security.routes import CROSS_PROJECT, NOTHING_TO_SHOW, SAME_FOR_EVERYONE, Cell
from tests.security.world import Caller, World, build_world, snapshot

pytestmark = pytest.mark.routes

# B is told the resource does not exist (404), or that it may not (403).
REFUSED = (403, 404)
# Parameters that widen a list beyond the caller's project where policy lets them.
WIDENING = ["", "?all_tenants=1", "?all_tenants=True", "?all_projects=true",
            "?project_id={project}", "?tenant_id={project}", "?owner={project}",
            "?user_id={user}", "?domain_id={domain}", "?visibility=all",
            "?member_status=all", "?scope.project.id={project}",
            # Filters on A's ids must not find what B cannot see.
            "?network_id={network}", "?device_id={server}", "?security_group_id={group}"]
# Keys whose values echo the request (pagination links), not what it found.
LINK_KEYS = {"links", "next", "previous", "first", "self", "schema"}


def _order(cell: Cell) -> int:
    # Reads first, then changes, deletions last: a delete that wrongly succeeds
    # must not turn the other requests' refusals into vacuous 404s.
    return {"GET": 0, "HEAD": 0, "DELETE": 2}.get(cell.method, 1)


def _versions(info, cell: Cell) -> list[dict]:
    """Compute routes exist at different microversions: each is tried at the first
    and the latest (and a server action at the versions it exists in)."""
    if info.type != "compute":
        return [{}]
    versions = ["2.1", "latest"]
    if cell.route.endswith("/action") and "/servers/" in cell.route:
        _, since, until = ACTIONS[next(iter(cell.body))]
        versions = [since or "2.1", until or "latest"]
    return [{"OpenStack-API-Version": f"compute {version}"} for version in dict.fromkeys(versions)]


def _send(caller: Caller, cell: Cell, headers: dict):
    return caller.call(cell.method, cell.path, cell.body, headers={**cell.headers, **headers},
                       content=cell.content)


def _strings(value, key: str = ""):
    if key in LINK_KEYS or key.endswith("_links"):
        return
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from _strings(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner, key)
    elif isinstance(value, str):
        yield value


def leaked(world: World, response) -> set[str]:
    """A's ids and names found in a response's data."""
    try:
        data = response.json()
    except ValueError:
        return set()
    found = set()
    for text in _strings(data):
        found |= {secret for secret in world.secrets() if secret in text}
    return found


def _diff(before: dict, after: dict) -> list[str]:
    return [f"{path}:\n  before {json.dumps(before[path])}\n  after  {json.dumps(after[path])}"
            for path in before if before[path] != after[path]]


@pytest.mark.parametrize("info", SERVICES, ids=[info.type for info in SERVICES])
def test_b_cannot_reach_a_resources_through_any_route(api, info, record_property):
    world = build_world(api)
    before = snapshot(world)
    declared = info.create_api(api.cloud).declared
    problems: list[str] = []

    matrix, allowed, lists = [], 0, []
    for route in declared:
        for method in route.methods:
            key = routes.route_key(info, method, route.path)
            if not routes.has_parameters(route.path):
                if method == "GET":
                    lists.append(info.prefix + route.path)
                continue
            if key in CROSS_PROJECT:
                allowed += 1
                continue
            matrix.extend(routes.cells(info, route, method, world))
    matrix.sort(key=_order)

    requests = 0
    # The ids put in the paths must address something real, or every refusal
    # below is vacuous: each readable route answers A's member or the admin.
    shown = {cell.route for cell in matrix if cell.method in ("GET", "HEAD")}
    for cell in matrix:
        if cell.method not in ("GET", "HEAD") or cell.route not in shown:
            continue
        for headers in _versions(info, cell):
            for owner in (world.a_member, world.admin):
                requests += 1
                if _send(owner, cell, headers).status_code < 300:
                    shown.discard(cell.route)
                    break
    problems += [f"{route}: neither A's member nor the admin could read it with A's ids"
                 for route in sorted(shown - set(NOTHING_TO_SHOW) - set(SAME_FOR_EVERYONE))]

    for persona in (world.b_reader, world.b_member):
        for cell in matrix:
            for headers in _versions(info, cell):
                requests += 1
                response = _send(persona, cell, headers)
                expected = REFUSED + routes.same_for_everyone(cell)
                request = f"{persona.name}: {cell.method} {cell.path} {headers or ''} " \
                          f"{json.dumps(cell.body) if cell.body is not None else ''}"
                if response.status_code not in expected:
                    problems.append(f"{request} -> {response.status_code} "
                                    f"{response.text[:300]}")
                # A refusal may repeat the ids B sent, and nothing else of A's.
                elif found := leaked(world, response) - {
                        secret for secret in world.secrets() if secret in request}:
                    problems.append(f"{request} -> {response.status_code} tells A's "
                                    f"{sorted(found)}")

    for persona in (world.b_reader, world.b_member):
        for path in lists:
            for query in WIDENING:
                query = query.format(project=world.a_member.project_id,
                                     user=world.a_member.user_id,
                                     domain=world.a_member.domain_id,
                                     network=world.a["network"][0],
                                     server=world.a["server"][0],
                                     group=world.a["security_group"][0])
                for headers in _versions(info, Cell("", "GET", path)):
                    requests += 1
                    response = persona.call("GET", path + query, headers=headers)
                    if response.status_code >= 500:
                        problems.append(f"{persona.name}: GET {path}{query} -> "
                                        f"{response.status_code} {response.text[:300]}")
                    elif found := leaked(world, response):
                        problems.append(f"{persona.name}: GET {path}{query} {headers or ''}"
                                        f"shows A's {sorted(found)}")

    # And the search for A's ids finds them where they are: in A's own lists.
    own = [path for path in lists if leaked(world, world.a_member.call("GET", path))]
    if lists and not own:
        problems.append(f"A's member finds none of A's ids in any of {lists}")

    problems += _diff(before, snapshot(world))
    record_property("coverage", (
        f"isolation {info.type}: {len({c.route for c in matrix})} routes, {len(matrix)} "
        f"requests with A's ids x 2 personas, {len(lists)} lists x "
        f"{len(WIDENING)} filters ({len(own)} of them showing A its own), "
        f"{allowed} cross-project routes allowed, "
        f"{requests} requests"))
    assert not problems, f"{len(problems)} isolation problems:\n" + "\n".join(problems)
