"""The route fuzzer: cases for one declared route, sent and checked.

For each route and method it first learns a valid body: it sends a probe
(``{}``, or ``{name: {}}`` for each name of a dispatch table the handler
looks names up in, such as the server actions) as the admin, records which
JSON schema or Neutron attribute map the handler checked which part of the
body against, puts a value that passes there (``examples``), and repeats
until the handler asks for nothing new.  Path parameters are ids of real
resources: the first item of the collection the path names (listed as the
admin), else a seeded resource of the kind the parameter's name says.

Then it sends the valid request as each persona, and a budget of mutants of
it: a field replaced by a wrong type, a huge or negative number, unicode, NUL,
a lone surrogate, a regex bomb; a field dropped or added; an optional field
set; the body retyped, nested deep, oversized, not JSON, or sent with another
content type; a bogus id in the path; query strings of filter names (common
ones, the fields of the listed resources, the names the handler module reads)
with bogus values; bogus microversions; no or a bogus token.

Every answer is checked: never a 5xx (but 501, which is deliberate), never slower than ``SLOW_SECONDS``, and
a mutating request answered 4xx leaves the database as it was (a fingerprint
of every table: row count and a hash of the rows).
"""

from __future__ import annotations

import collections
import concurrent.futures
import copy
import dataclasses
import hashlib
import inspect
import json
import random
import re
import sys
import time
import urllib.parse
from typing import Any, Callable

import sqlalchemy as sa

from stacklet.common import api as common_api
from stacklet.common import validation
from stacklet.network import attributes
from tests.security.examples import (
    Field,
    SchemaExamples,
    attribute_example,
    attribute_fields,
    seeded_id,
)
from tests.security.seed import Persona

SLOW_SECONDS = 2.0
# A request still running after this long is a hang: the test stops there.
HANG_SECONDS = 30.0
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

BAD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, -(2**31) - 1, 2**31, 2**63, 10**40, -(10**40), 1e308,
    float("inf"), float("nan"), "", " ", "x" * 256, "x" * 70000, "\x00", "a\x00b", "☃💥",
    "\ud800", "\n\r\t", "../../etc/passwd", "%s%s%n", "(a+)+$", "'; DROP TABLE users; --",
    "999.1.1.1", "-1", "1e999", "0x1F", "true", "null", "[]", [], {}, [None], [[]],
    {"": {}}, ["x"] * 1000,
]
# Tried on every field a handler's check knows, when its check lets them through:
# what a schema that is laxer than the code behind it lets reach that code.
SHARP_VALUES: list[Any] = ["", "0", "-0", " ", "9" * 400, "999.1.1.1", "\u0661", "..", "\ud800",
                           2**63, 10**40, 1e308, -1, [], {}]
# Values a lax schema may let through to code that cannot take them.
EDGE_VALUES: list[Any] = BAD_VALUES + [
    "0", "00", "-0", "0.0", ".", "..", "1.", "+1", " 1", "1 ", "\u0661", "\u00b2", "1_000",
    "0" * 300, "9" * 400, 2**31 - 1, 2**32, 2**53 + 1, -0.0, 1e-320, "a" * 255, "\u200b",
    "\ufeff", "a/b", "a\\b", "%", "_", "*", ".*", "[", "{", "$", ":", "::", "0.0.0.0/0",
    "::/0", "255.255.255.255", "10.0.0.0/33", "2030-02-30T00:00:00Z", "0000-00-00",
]
BAD_IDS = ["0", "-1", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 300,
           "%00", "..", "%2F", "☃", "' or 1=1--", "99999999999999999999", "\ud800",
           "default", "fuzz-key"]
QUERY_NAMES = [
    "limit", "marker", "sort_key", "sort_dir", "sort", "name", "status", "all_tenants",
    "project_id", "tenant_id", "fields", "changes-since", "changes-before", "deleted",
    "host", "id", "tags", "tags-any", "not-tags", "not-tags-any", "page_reverse",
    "is_public", "minRam", "minDisk", "ip", "ip6", "image", "flavor", "user_id",
    "domain_id", "enabled", "visibility", "member_status", "owner", "shared",
    "admin_state_up", "network_id", "device_id", "fixed_ips", "parent_id", "effective",
    "include_names", "include_subtree", "scope.project.id", "user.id", "role.id",
    "start", "end", "type", "key", "detailed", "description", "os_hidden",
]
QUERY_VALUES = ["-1", "0", "99999999999999999999", "abc", "", "\x00", "☃", "(a+)+$",
                "*", "' OR 1=1", "x" * 5000, "true", "null", "[]", "1e309", "NaN",
                "00000000-0000-0000-0000-000000000000", "2030-13-45T25:61:61Z", "%",
                "in:a,b", "gte:-1", "desc", "name:asc", "\ud800"]
MICROVERSIONS = [
    {"OpenStack-API-Version": "compute 2.999"},
    {"OpenStack-API-Version": "compute abc"},
    {"OpenStack-API-Version": "compute 2.-1"},
    {"OpenStack-API-Version": "compute 99999999999999999999999.1"},
    {"OpenStack-API-Version": "compute 1.0"},
    {"OpenStack-API-Version": "compute"},
    {"OpenStack-API-Version": "compute latest, compute 2.1"},
    {"X-OpenStack-Nova-API-Version": "2.1000"},
    {"X-OpenStack-Nova-API-Version": "☃".encode()},
    {"OpenStack-API-Version": "image 2.999"},
]
CONTENT_TYPES = ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                 "application/json; charset=latin-1", "",
                 "application/openstack-images-v2.1-json-patch", "application/octet-stream"]
RAW_BODIES = [b"{", b"\xff\xfe\x00", b"[1,]", b'{"a": 1, "a": 2}', b"NaN", b"1e99999",
              b'"\\ud800"', b"\x00"]
LATEST = {"OpenStack-API-Version": "compute latest"}


@dataclasses.dataclass
class Case:
    persona: Persona
    method: str
    path: str                   # with the query string
    what: str                   # which mutation, for the report
    body: Any = None            # JSON value, or bytes sent as they are
    has_body: bool = False
    headers: dict = dataclasses.field(default_factory=dict)
    token: bool = True          # send the persona's token


@dataclasses.dataclass
class Stats:
    routes: int = 0
    requests: int = 0
    state_checks: int = 0
    by_persona: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    by_class: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    learned: int = 0            # route-methods for which a body passing a schema was found


# What a request refused with a 4xx may change by design: a failed password
# check counts itself towards the user's lockout (Keystone's security compliance).
MAY_CHANGE_ON_4XX = {"identity_users": {"failed_auth_count", "failed_auth_at"}}


class Fingerprint:
    """Per table: the row count and a hash of the rows, of the whole database."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        inspector = sa.inspect(engine)
        self.queries = {
            table: "SELECT {} FROM \"{}\"".format(", ".join(
                f'"{c["name"]}"' for c in inspector.get_columns(table)
                if c["name"] not in MAY_CHANGE_ON_4XX.get(table, ())), table)
            for table in inspector.get_table_names() if table != "alembic_version"}

    def take(self) -> dict[str, tuple[int, str]]:
        result = {}
        with self.engine.connect() as connection:
            for table, query in self.queries.items():
                rows = connection.exec_driver_sql(query).all()
                digest = hashlib.blake2b(digest_size=16)
                for row in sorted(repr(tuple(row)) for row in rows):
                    digest.update(row.encode("utf-8", "surrogatepass"))
                result[table] = (len(rows), digest.hexdigest())
        return result


class Recorder:
    """Records, during one request, what the handler validated the body against:
    (path of the value in the body, function returning a value that passes)."""

    def __init__(self, monkeypatch, ids: dict[str, str]):
        self.schemas = SchemaExamples(ids)
        self.ids = ids
        self.body: Any = None
        # (where in the body, a value that passes, the fields the check knows)
        self.seen: list[tuple[list, Callable[[], Any], list[Field]]] = []
        original_read = common_api._read_json

        async def read_json(request):
            self.body = await original_read(request)
            return self.body
        monkeypatch.setattr(common_api, "_read_json", read_json)
        self._patch_everywhere(monkeypatch, validation.validate, self._validate)
        self._patch_everywhere(monkeypatch, attributes.parse_body, self._parse_body)
        self._patch_everywhere(monkeypatch, attributes.check_attributes, self._check_attributes)

    @staticmethod
    def _patch_everywhere(monkeypatch, original: Callable, wrap: Callable) -> None:
        def wrapper(*args, **kwargs):
            wrap(*args, **kwargs)
            return original(*args, **kwargs)
        for name, module in list(sys.modules.items()):
            if not name.startswith("stacklet"):
                continue
            for attr, value in list(vars(module).items()):
                if value is original:
                    monkeypatch.setattr(module, attr, wrapper)

    def _validate(self, schema, body, *args, **kwargs) -> None:
        self._saw(body, lambda: self.schemas.example(schema), lambda: self.schemas.fields(schema))

    def _parse_body(self, body, resource, attrs, *, update=False, **_) -> None:
        self._saw(body, lambda: {resource: attribute_example(attrs, self.ids, update=update)},
                  list)

    def _check_attributes(self, values, attrs, *, update=False, **_) -> None:
        self._saw(values, lambda: attribute_example(attrs, self.ids, update=update),
                  lambda: attribute_fields(attrs, self.ids))

    def _saw(self, value: Any, make: Callable[[], Any], fields: Callable[[], list]) -> None:
        path = _locate(self.body, value)
        if path is not None:
            self.seen.append((path, make, [dataclasses.replace(f, path=path + f.path)
                                           for f in fields()]))


def _locate(root: Any, target: Any, path: list | None = None) -> list | None:
    """Where ``target`` (the very object) sits in ``root``."""
    path = path or []
    if root is target:
        return path
    children = root.items() if isinstance(root, dict) else (
        enumerate(root) if isinstance(root, list) else ())
    for key, child in children:
        found = _locate(child, target, path + [key])
        if found is not None:
            return found
    return None


def _set(root: Any, path: list, value: Any) -> Any:
    if not path:
        return value
    root = copy.deepcopy(root)
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


def _put(root: Any, path: list, value: Any) -> Any:
    """``root`` with ``value`` at ``path``, making the objects and lists on the way."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        items = list(root) if isinstance(root, list) else []
        items = items or [{}]
        items[min(key, len(items) - 1)] = _put(items[min(key, len(items) - 1)], rest, value)
        return items
    node = dict(root) if isinstance(root, dict) else {}
    node[key] = _put(node.get(key), rest, value)
    return node


def _nodes(value: Any, path: list | None = None) -> list[tuple[list, Any]]:
    """Every (path, node) of a JSON value, the root first."""
    path = path or []
    found = [(path, value)]
    children = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        if len(found) > 200:
            break
        found.extend(_nodes(child, path + [key]))
    return found


def _dispatch_names(handler: Callable) -> list[str]:
    """Names of a table the handler looks a body's key up in (such as the server
    actions): an upper-case module global dict with string keys it refers to."""
    handler = inspect.unwrap(getattr(handler, "func", handler))   # a functools.partial
    names: list[str] = []
    for global_name in handler.__code__.co_names:
        table = handler.__globals__.get(global_name)
        if global_name.isupper() and isinstance(table, dict) and table and all(
                isinstance(key, str) for key in table):
            names.extend(table)
    return names


def _query_names(handler: Callable) -> list[str]:
    """String literals on the lines of the handler's module that read the query."""
    try:
        source = inspect.getsource(sys.modules[getattr(handler, "func", handler).__module__])
    except (OSError, TypeError, KeyError):
        return []
    return sorted({name for line in source.splitlines() if "query" in line
                   for name in re.findall(r'"([A-Za-z][\w:.\-]{0,40})"', line)})


class Fuzzer:
    def __init__(self, client, cloud, personas: list[Persona], ids: dict[str, str],
                 recorder: Recorder, rng: random.Random, examples: int):
        self.client = client
        self.personas = personas
        self.admin = personas[0]
        self.ids = ids
        self.recorder = recorder
        self.rng = rng
        self.examples = examples
        self.fingerprint = Fingerprint(cloud.db.engine)
        self._state: dict | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._collections: dict[str, tuple[list[str], list[str]]] = {}
        self.stats = Stats()
        self.failures: list[str] = []

    # -- sending and checking ---------------------------------------------------------

    def send(self, case: Case):
        headers = {**LATEST, **case.headers}
        if case.token:
            headers["X-Auth-Token"] = case.persona.token
        kwargs: dict[str, Any] = {"headers": headers}
        if case.has_body:
            if isinstance(case.body, bytes):
                kwargs["content"] = case.body
            else:
                kwargs["content"] = json.dumps(case.body).encode()
                headers.setdefault("Content-Type", "application/json")
        mutating = case.method in MUTATING
        before = (self._state or self.fingerprint.take()) if mutating else None
        started = time.monotonic()
        future = self._pool.submit(self.client.request, case.method, case.path, **kwargs)
        try:
            response = future.result(timeout=HANG_SECONDS)
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"hang: no answer in {HANG_SECONDS:.0f} s to "
                                 f"{self._describe(case)}") from None
        elapsed = time.monotonic() - started
        self.stats.requests += 1
        self.stats.by_persona[case.persona.name] += 1
        self.stats.by_class[f"{response.status_code // 100}xx"] += 1
        # 501 is an answer OpenStack APIs give on purpose (Nova: a console type
        # this cloud does not offer); every other 5xx is a fault.
        if response.status_code >= 500 and response.status_code != 501:
            self._fail(case, f"{response.status_code}: {response.text[:300]}")
        self._state = None
        refused = 400 <= response.status_code < 500
        if mutating and refused:
            after = self.fingerprint.take()
            self.stats.state_checks += 1
            changed = sorted(t for t in after if after[t] != before.get(t))
            if changed:
                self._fail(case, f"{response.status_code} but tables changed: {changed}; "
                                 f"{response.text[:200]}")
            self._state = after
        if elapsed > SLOW_SECONDS and (refused or not mutating):
            # Once more (it changes nothing), to tell slow input from a busy machine.
            started = time.monotonic()
            self.client.request(case.method, case.path, **kwargs)
            elapsed = min(elapsed, time.monotonic() - started)
            self._state = None
        if elapsed > SLOW_SECONDS:
            self._fail(case, f"took {elapsed:.2f} s (bound {SLOW_SECONDS} s)")
        return response

    def _fail(self, case: Case, problem: str) -> None:
        self.failures.append(f"{problem}\n    {self._describe(case)}")

    @staticmethod
    def _describe(case: Case) -> str:
        body = repr(case.body) if isinstance(case.body, bytes) else json.dumps(case.body)
        body = body if len(body) < 300 else body[:300] + f"...({len(body)} long)"
        return (f"{case.method} {case.path[:300]} as {case.persona.name} [{case.what}] "
                f"headers={case.headers} body={body if case.has_body else '(none)'}")

    # -- one route ----------------------------------------------------------------------

    def fuzz_route(self, prefix: str, route, method: str) -> None:
        self.stats.routes += 1
        path = prefix + self.fill_path(prefix, route.path)
        has_body = method in ("POST", "PUT", "PATCH")
        raw = route.stream_body
        bodies, fields = [None], []
        if raw:
            bodies = [b"\0" * 1024]
        elif has_body:
            bodies, fields = self.learn_bodies(method, path, route.handler)
        query_names = self.query_names(prefix, route)

        def case(persona=self.admin, **kw) -> Case:
            base = dict(persona=persona, method=method, path=path, what="valid",
                        body=self.rng.choice(bodies), has_body=has_body)
            if raw:
                base["headers"] = {"Content-Type": "application/octet-stream"}
            return Case(**{**base, **kw})

        cases = [case(persona) for persona in self.personas]
        cases.append(case(headers={"OpenStack-API-Version": "compute 2.1"}, what="2.1"))
        for field in fields:
            base = next((b for b in bodies if isinstance(b, dict) and field.path[0] in b),
                        bodies[0])
            for value in [*SHARP_VALUES, *field.boundaries[:3]]:
                if field.accepts(value):
                    cases.append(case(body=_put(base, field.path, value), what=(
                        f"edge {'.'.join(map(str, field.path))} = {_short(value)}")))
        for _ in range(self.examples):
            mutant = self.mutate(case(self.rng.choice(self.personas)), route.path, prefix,
                                 query_names, fields, raw)
            cases.append(mutant)
        # Once per route: what is dear to send.
        cases.append(case(what="oversized", body=b'{"x": "' + b"x" * (3 << 19) + b'"}',
                          has_body=True))
        cases.append(case(what="deep", body=self._deep(5000), has_body=True))
        for item in cases:
            self.send(item)

    def learn_bodies(self, method: str, path: str, handler: Callable) -> tuple[list, list]:
        """Bodies that pass what the handler checks (and the JSON schemas it checked
        them against): from each probe, fill in what the handler validated, until it
        asks for nothing new."""
        fields: dict[str, Field] = {}
        probes = [{name: {}} for name in _dispatch_names(handler)] or [{}]
        bodies = []
        for body in probes:
            for _ in range(4):
                self.recorder.seen = []
                self.send(Case(self.admin, method, path, "learning", body, True))
                learned = body
                for where, make, known in self.recorder.seen:
                    learned = _set(learned, where, make())
                    fields.update((repr(f.path), f) for f in known)
                if learned == body:
                    break
                body = learned
            if self.recorder.seen:
                self.stats.learned += 1
            bodies.append(body)
        return bodies, list(fields.values())

    # -- path parameters ------------------------------------------------------------------

    def fill_path(self, prefix: str, template: str) -> str:
        """The template with each parameter the id of a real resource."""
        path = template
        for match in re.finditer(r"{([^}:]+)(?::[^}]*)?}", template):
            before = path[: path.index(match.group(0))]
            value = self._real_id(prefix, before.rstrip("/"), match.group(1))
            path = path.replace(match.group(0), urllib.parse.quote(value, safe=""), 1)
        return path

    def _real_id(self, prefix: str, collection: str, param: str) -> str:
        segments = collection.split("/")
        # The collection itself, or one of that name at the root of the version
        # (/v3/OS-INHERIT/domains/{id} -> /v3/domains).
        for candidate in (collection, "/".join(segments[:2] + segments[-1:])):
            ids, _ = self.listing(prefix + candidate)
            if ids:
                return ids[0]
        seeded = seeded_id(param, self.ids) or seeded_id(segments[-1], self.ids)
        return seeded or {"collection": "networks", "group": "identity",
                          "option": "driver", "access": "fuzz-access",
                          "namespace": "fuzz-ns"}.get(param, "fuzz-1")

    def listing(self, path: str) -> tuple[list[str], list[str]]:
        """(ids or names, field names) of what a GET of ``path`` as the admin lists."""
        if path not in self._collections:
            response = self.client.get(path, headers={
                **LATEST, "X-Auth-Token": self.admin.token})
            items: list = []
            if response.status_code == 200 and "json" in response.headers.get(
                    "content-type", ""):
                data = response.json()
                lists = [v for v in data.values() if isinstance(v, (list, dict))] if isinstance(
                    data, dict) else [data]
                if lists:
                    items = list(lists[0]) if isinstance(lists[0], dict) else lists[0]
            ids, fields = [], set()
            for item in items:
                if isinstance(item, dict):
                    fields.update(k for k in item if isinstance(k, str))
                    for key in ("id", "name", "namespace", "key", "request_id", "access",
                                "instance_uuid"):
                        if isinstance(item.get(key), (str, int)):
                            ids.append(str(item[key]))
                            break
                elif isinstance(item, (str, int)):
                    ids.append(str(item))
            self._collections[path] = (ids, sorted(fields))
        return self._collections[path]

    def query_names(self, prefix: str, route) -> list[str]:
        _, fields = self.listing(prefix + self.fill_path(prefix, route.path))
        return sorted(set(QUERY_NAMES) | set(fields) | set(_query_names(route.handler)))

    # -- mutations ------------------------------------------------------------------------

    def mutate(self, case: Case, template: str, prefix: str, query_names: list[str],
               fields: list[Field], raw: bool) -> Case:
        rng = self.rng
        kinds = ["query", "query", "path", "microversion", "token", "content-type"]
        if case.has_body and not raw:
            kinds += ["replace"] * 6 + ["drop", "drop", "extra", "extra", "retype", "raw"]
            if fields:
                kinds += ["edge"] * 8 + ["wrong"] * 3 + ["optional"] * 3
        kind = rng.choice(kinds)
        case.what = kind
        if kind == "query":
            pairs = [(rng.choice(query_names), rng.choice(QUERY_VALUES))
                     for _ in range(rng.randint(1, 3))]
            case.path += "?" + urllib.parse.urlencode(pairs, encoding="utf-8",
                                                      errors="surrogatepass")
            case.what = f"query {pairs[0][0]}"
        elif kind == "path":
            params = re.findall(r"{([^}:]+)(?::[^}]*)?}", template)
            if params:
                target = rng.choice(params)
                bogus = urllib.parse.quote(rng.choice(BAD_IDS), safe="",
                                           errors="surrogatepass")
                filled = template.replace("{" + target + "}", bogus)
                case.path = prefix + self.fill_path(prefix, filled)
                case.what = f"bogus {target}"
            else:
                case.path += rng.choice(["/", "/x", "/..", "/%00"])
                case.what = "bogus path"
        elif kind == "microversion":
            case.headers = {**case.headers, **rng.choice(MICROVERSIONS)}
        elif kind == "token":
            if rng.random() < 0.5:
                case.token = False
            else:
                case.headers = {**case.headers, "X-Auth-Token": rng.choice(
                    ["gAAAAABfuzz", "x" * 10000, "\x00", case.persona.token[:-4] + "AAAA"])}
                case.token = False
        elif kind == "content-type":
            case.headers = {**case.headers, "Content-Type": rng.choice(CONTENT_TYPES)}
            case.has_body = case.has_body or rng.random() < 0.3
        elif kind == "replace":
            where, _ = rng.choice(_nodes(case.body))
            value = rng.choice(BAD_VALUES)
            case.body = _set(case.body, where, value)
            case.what = f"{'.'.join(map(str, where)) or 'body'} = {_short(value)}"
        elif kind == "drop":
            dicts = [(p, n) for p, n in _nodes(case.body) if isinstance(n, dict) and n]
            if dicts:
                where, node = rng.choice(dicts)
                key = rng.choice(sorted(node))
                node = dict(node)
                del node[key]
                case.body = _set(case.body, where, node)
                case.what = f"without {'.'.join(map(str, where + [key]))}"
        elif kind == "extra":
            dicts = [(p, n) for p, n in _nodes(case.body) if isinstance(n, dict)]
            if dicts:
                where, node = rng.choice(dicts)
                key = rng.choice(["fuzz_extra", "id", "project_id", "\x00", "☃", "\ud800",
                                  "__proto__", "links"])
                case.body = _set(case.body, where, {**node, key: rng.choice(BAD_VALUES)})
                case.what = f"extra {'.'.join(map(str, where + [key]))}"
        elif kind == "retype":
            case.body = rng.choice([[], "x", 1, None, [case.body], {"": case.body}])
        elif kind == "raw":
            case.body = rng.choice(RAW_BODIES)
        elif kind in ("edge", "wrong", "optional"):
            # A field the handler's check knows, set to a value that check lets
            # through at an edge, to any value, or to a valid one.
            field = rng.choice(fields)
            if kind == "optional":
                value = field.example()
            else:
                pool = list(field.boundaries) + EDGE_VALUES
                passing = [v for v in pool if field.accepts(v)] if kind == "edge" else []
                value = rng.choice(passing or BAD_VALUES)
            case.body = _put(case.body, field.path, value)
            case.what = f"{kind} {'.'.join(map(str, field.path))} = {_short(value)}"
        return case

    @staticmethod
    def _deep(levels: int) -> bytes:
        return b'{"a": ' + b"[" * levels + b"]" * levels + b"}"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:40] + "..."
