"""Route fuzzing: every route of every service, with valid and hostile input.

The routes come from the services' own route tables
(``stacklet.services.SERVICES`` -> ``ServiceAPI.declared``), so a service or
route added later is fuzzed with no new test code.  Each service's routes are
split into shards of about ``SHARD_ROUTES`` (whole resource groups, so that a
resource's deletes stay after its other calls) and each shard is one test, on
a cloud of its own, so xdist spreads them.

Reach without per-route code: the fixture seeds one resource of most kinds
through the API (``seed.py``); path parameters are filled with ids of real
resources found by listing the collection the path names; bodies are learned
from the schemas the handlers validate against, recorded while the handler
runs on a probe body (``fuzz.py``, ``examples.py``), rather than found by
reading the code or kept in a corpus that would go stale.  Cases are drawn
from a fixed seed with Python's ``random`` (deterministic, and cheaper than
Hypothesis's shrinking, which a reproducible failing request does not need).

Every request is sent as the cloud admin, a member of another project and a
reader of the admin's project: first the learned valid request, then
``STACKLET_FUZZ_EXAMPLES`` mutants (default ``CI_EXAMPLES``) with the seed
``STACKLET_FUZZ_SEED`` (default 0).  For a longer run:

    STACKLET_FUZZ_EXAMPLES=200 STACKLET_FUZZ_SEED=7 pytest -m routes tests/security

The cloud runs without its background agents (the fuzzing client starts no
lifespan) after the seed server went ACTIVE, so that the database changes
only by the requests themselves and a state check after a 4xx is exact.
"""

from __future__ import annotations

import math
import os
import random
from unittest import mock

import pytest
from starlette.testclient import TestClient

from stacklet.app import create_app
from stacklet.services import SERVICES
from tests.conftest import Api
from tests.security.fuzz import Fuzzer, Recorder
from tests.security.seed import seed

CI_EXAMPLES = 16
SHARD_ROUTES = 50
EXAMPLES = int(os.environ.get("STACKLET_FUZZ_EXAMPLES", CI_EXAMPLES))
SEED = int(os.environ.get("STACKLET_FUZZ_SEED", "0"))


def _group(path: str) -> str:
    """The resource a route belongs to: the first segment after the version."""
    segments = path.strip("/").split("/")
    return segments[1] if len(segments) > 1 else "/"


def _shards() -> list:
    """(service type, shard number, shard count) for every shard of every service."""
    shards = []
    for info in SERVICES:
        # The route tables are module constants: a stand-in cloud is enough to list them.
        declared = info.create_api(mock.MagicMock()).declared
        count = max(1, math.ceil(sum(len(r.methods) for r in declared) / SHARD_ROUTES))
        shards += [pytest.param(info.type, k, count, id=f"{info.type}-{k + 1}of{count}")
                   for k in range(count)]
    return shards


def _shard_routes(declared, k: int, count: int) -> list:
    """The (route, method) pairs of shard ``k``: whole groups, biggest first to the
    lightest shard; within it every GET and write before any DELETE, and deeper
    DELETEs first, so a resource outlives the calls on it and its children."""
    groups: dict[str, list] = {}
    for route in declared:
        groups.setdefault(_group(route.path), []).extend((route, m) for m in route.methods)
    loads = [[] for _ in range(count)]
    for name in sorted(groups, key=lambda g: (-len(groups[g]), g)):
        min(loads, key=len).extend(groups[name])
    return sorted(loads[k], key=lambda rm: (
        rm[1] == "DELETE", -rm[0].path.count("/") if rm[1] == "DELETE" else 0, rm[0].path,
        rm[1]))


@pytest.mark.routes
@pytest.mark.parametrize("service, k, count", _shards())
def test_route_fuzz(cloud, monkeypatch, record_property, service, k, count):
    info = next(i for i in SERVICES if i.type == service)
    # Seed with the background agents running (the server must go ACTIVE), then
    # fuzz through a client that starts none.
    with TestClient(create_app(cloud), base_url="http://stacklet.test") as client:
        ids, personas = seed(Api(client, cloud))
    client = TestClient(create_app(cloud), base_url="http://stacklet.test",
                        raise_server_exceptions=False, follow_redirects=False)
    recorder = Recorder(monkeypatch, ids)
    declared = info.create_api(cloud).declared
    fuzzer = Fuzzer(client, cloud, personas, ids, recorder, random.Random(f"{SEED}-{service}-{k}"),
                    EXAMPLES)
    try:
        for route, method in _shard_routes(declared, k, count):
            fuzzer.fuzz_route(info.prefix, route, method)
    finally:
        fuzzer.close()
    stats = fuzzer.stats
    record_property("coverage", (
        f"route fuzzing {service} {k + 1}/{count}: {stats.routes} routes "
        f"({stats.learned} bodies learned from schemas), {stats.requests} requests "
        f"({', '.join(f'{n} as {p}' for p, n in sorted(stats.by_persona.items()))}; "
        f"{', '.join(f'{n} {c}' for c, n in sorted(stats.by_class.items()))}), "
        f"{stats.state_checks} state checks after a 4xx; seed {SEED}, {EXAMPLES} mutants "
        "per route"))
    assert not fuzzer.failures, (f"{len(fuzzer.failures)} problems:\n"
                                 + "\n".join(fuzzer.failures[:40]))
