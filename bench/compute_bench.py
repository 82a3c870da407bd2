"""Servers booted and deleted through the Compute API, on the fake driver.

Two runs, each against a `stacklet up --compute-driver fake` of its own:

* boot-and-delete, Rally's NovaServers.boot_and_delete_server: ITERATIONS
  (default 1,000) by CONCURRENCY clients (default 10).  Each iteration POSTs
  /servers, polls GET /servers/{id} until ACTIVE, DELETEs the server and polls
  until the GET answers 404.  Medians and 95th percentiles of boot (POST to
  ACTIVE), delete (DELETE to 404) and both.
* scale: --fake-hosts HOSTS (default 1,000) and SERVERS (default 10,000)
  created by multi-create requests (max_count) sent in parallel.  Scheduler
  decisions per second (servers placed / time from the first POST to all
  ACTIVE), the latency of GET /servers/detail?limit=1000 (median of several),
  and the RSS of Stacklet's whole process tree.

Every count can be lowered by an environment variable (see --help), so a
quick run takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import itertools
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    Connection,
    ConnectionLost,
    machine_busy_seconds,
    own_cpu_seconds,
    say,
    start_stacklet,
    stop_all,
    stop_process,
    tree_cpu_by_process,
    tree_memory,
)

ADMIN_PASSWORD = "bench-" + secrets.token_hex(8)
FLAVOR_ID = "42"                      # m1.nano, one of the flavors made at bootstrap
MICROVERSION = "compute 2.37"         # the first that takes "networks": "none"
# No quota gets in the way of 10,000 servers in one project.
UNLIMITED_QUOTAS = {f"STACKLET_COMPUTE_QUOTA_{name}": "-1"
                    for name in ("INSTANCES", "CORES", "RAM")}

# OpenStack's published Rally run of boot_and_delete_server on 1,000 nodes of
# Nova's fake driver (the Rally/Nova scale tests): the reference, not a target.
REFERENCE_BOOT_MEDIAN = 6.2
REFERENCE_BOOT_AND_DELETE_MEDIAN = 8.1
BOOT_MEDIAN_TARGET = 0.100            # seconds
SERVERS_PAGE_TARGET = 0.300           # seconds, GET /servers/detail?limit=1000


def _on_signal(signum, _frame) -> None:
    stop_all()
    say(f"stopped by signal {signum}")
    os._exit(128 + signum)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (what Rally reports as 95%ile)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


# -- the API --------------------------------------------------------------------------------

class ComputeAPI:
    """The admin's token and the requests the bench makes, on one connection each."""

    def __init__(self, port: int, timeout: float):
        self.port = port
        self.timeout = timeout
        self.token = ""

    def connection(self) -> Connection:
        return Connection("127.0.0.1", self.port)

    def headers(self, **more: str) -> dict[str, str]:
        return {"X-Auth-Token": self.token, "Accept": "application/json",
                "OpenStack-API-Version": MICROVERSION, **more}

    async def call(self, conn: Connection, method: str, path: str, body=None,
                   expected: tuple[int, ...] = (200,), **headers: str) -> tuple[int, dict]:
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        async with asyncio.timeout(self.timeout):
            status, _headers, answer = await conn.request(method, path, self.headers(**headers),
                                                          data)
        if status not in expected:
            raise UnexpectedAnswer(f"{method} {path} answered {status}: {answer[:300]!r}")
        return status, json.loads(answer) if answer.startswith(b"{") else {}

    async def log_in(self) -> None:
        conn = self.connection()
        body = json.dumps({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}).encode()
        status, headers, answer = await conn.request(
            "POST", "/identity/v3/auth/tokens?nocatalog",
            {"Content-Type": "application/json"}, body)
        conn.close()
        if status != 201:
            raise SystemExit(f"logging in answered {status}: {answer[:300]!r}")
        self.token = headers["x-subject-token"]

    async def upload_image(self) -> str:
        """A small public raw image to boot from."""
        conn = self.connection()
        try:
            _, image = await self.call(conn, "POST", "/image/v2/images", {
                "name": "bench-compute", "disk_format": "raw", "container_format": "bare",
                "visibility": "public"}, expected=(201,))
            await self.call(conn, "PUT", f"/image/v2/images/{image['id']}/file",
                            b"\0" * 65536, expected=(204,),
                            **{"Content-Type": "application/octet-stream"})
        finally:
            conn.close()
        return image["id"]

    def server_body(self, name: str, image_id: str, count: int = 1) -> dict:
        server = {"name": name, "imageRef": image_id, "flavorRef": FLAVOR_ID,
                  "networks": "none"}
        if count > 1:
            server |= {"min_count": count, "max_count": count}
        return {"server": server}


class UnexpectedAnswer(Exception):
    pass


class ServerFailed(Exception):
    pass


# -- boot and delete ----------------------------------------------------------------------

@dataclasses.dataclass
class BootAndDelete:
    iterations: int
    concurrency: int
    boot: list[float]
    delete: list[float]
    total: list[float]
    errors: collections.Counter
    elapsed: float
    requests: int
    server_cores: float
    client_cores: float
    others_cores: float

    @property
    def server_cpu_per_iteration(self) -> float:
        return self.server_cores * self.elapsed / max(1, len(self.total))


async def boot_and_delete(api: ComputeAPI, image_id: str, *, iterations: int, concurrency: int,
                          poll_interval: float, server_pid: int) -> BootAndDelete:
    loop = asyncio.get_running_loop()
    numbers = itertools.count()
    boot, delete, total = [], [], []
    errors: collections.Counter = collections.Counter()
    requests = 0

    async def wait_until(conn: Connection, server_id: str, done) -> None:
        nonlocal requests
        while True:
            requests += 1
            status, answer = await api.call(conn, "GET", f"/compute/v2.1/servers/{server_id}",
                                            expected=(200, 404))
            if done(status, answer.get("server", {}).get("status")):
                return
            if answer.get("server", {}).get("status") == "ERROR":
                raise ServerFailed(answer["server"].get("fault", {}).get("message", "ERROR"))
            await asyncio.sleep(poll_interval)

    async def iteration(conn: Connection, number: int) -> None:
        nonlocal requests
        requests += 2       # the POST and the DELETE
        started = loop.time()
        _, created = await api.call(conn, "POST", "/compute/v2.1/servers",
                                    api.server_body(f"bench-{number}", image_id),
                                    expected=(202,))
        server_id = created["server"]["id"]
        try:
            await wait_until(conn, server_id, lambda code, status: status == "ACTIVE")
        finally:
            booted = loop.time()
            await api.call(conn, "DELETE", f"/compute/v2.1/servers/{server_id}",
                           expected=(204,))
            await wait_until(conn, server_id, lambda code, status: code == 404)
        finished = loop.time()
        boot.append(booted - started)
        delete.append(finished - booted)
        total.append(finished - started)

    async def client() -> None:
        conn = api.connection()
        try:
            while (number := next(numbers)) < iterations:
                try:
                    await iteration(conn, number)
                except (OSError, asyncio.TimeoutError, ConnectionLost, UnexpectedAnswer,
                        ServerFailed) as exc:
                    conn.close()
                    errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                if number and number % max(1, iterations // 10) == 0:
                    say(f"  {number} of {iterations} iterations started")
        finally:
            conn.close()

    cpu_before, machine_before = tree_cpu_by_process(server_pid), machine_busy_seconds()
    client_before = own_cpu_seconds()
    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    server_seconds = sum(tree_cpu_by_process(server_pid).values()) - sum(cpu_before.values())
    machine_seconds = machine_busy_seconds() - machine_before
    client_seconds = own_cpu_seconds() - client_before
    return BootAndDelete(iterations, concurrency, boot, delete, total, errors, elapsed,
                         requests, server_cores=server_seconds / elapsed,
                         client_cores=client_seconds / elapsed,
                         others_cores=max(0.0, machine_seconds - server_seconds
                                          - client_seconds) / elapsed)


# -- scale --------------------------------------------------------------------------------

@dataclasses.dataclass
class Scale:
    hosts: int
    servers: int
    batch: int
    posted_after: float          # all create requests answered
    placed_after: float          # no server waits for a host any more
    active_after: float          # no server in BUILD any more
    active: int
    error: int
    list_latencies: list[float]
    listed: int
    rss_kib: int
    peak_kib: int
    processes: int
    server_cores: float

    @property
    def decisions_per_second(self) -> float:
        return (self.active + self.error) / self.active_after


async def count_servers(api: ComputeAPI, conn: Connection, query: str) -> int:
    """How many of the admin's servers match QUERY, page by page."""
    count, marker = 0, ""
    while True:
        _, page = await api.call(conn, "GET",
                                 f"/compute/v2.1/servers?limit=1000&{query}{marker}")
        count += len(page["servers"])
        if not page.get("servers_links"):
            return count
        marker = f"&marker={page['servers'][-1]['id']}"


async def any_server(api: ComputeAPI, conn: Connection, query: str) -> bool:
    _, page = await api.call(conn, "GET", f"/compute/v2.1/servers?limit=1&{query}")
    return bool(page["servers"])


async def scale(api: ComputeAPI, image_id: str, *, hosts: int, servers: int, batch: int,
                concurrency: int, list_runs: int, server_pid: int) -> Scale:
    loop = asyncio.get_running_loop()
    batches = [min(batch, servers - start) for start in range(0, servers, batch)]
    pending = iter(enumerate(batches))
    cpu_before = sum(tree_cpu_by_process(server_pid).values())

    async def create() -> None:
        conn = api.connection()
        try:
            for number, count in pending:
                await api.call(conn, "POST", "/compute/v2.1/servers",
                               api.server_body(f"scale-{number}", image_id, count),
                               expected=(202,))
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(create() for _ in range(concurrency)))
    posted = loop.time() - started
    say(f"  {servers} servers requested in {len(batches)} requests in {posted:.1f}s")
    conn = api.connection()
    placed = None
    while True:
        if placed is None and not await any_server(api, conn, "task_state=scheduling"):
            placed = loop.time() - started
            say(f"  all placed after {placed:.1f}s")
        if not await any_server(api, conn, "status=BUILD"):
            break
        await asyncio.sleep(0.1)
    active_after = loop.time() - started
    server_cores = (sum(tree_cpu_by_process(server_pid).values()) - cpu_before) / active_after
    active = await count_servers(api, conn, "status=ACTIVE")
    error = await count_servers(api, conn, "status=ERROR")
    say(f"  {active} ACTIVE and {error} ERROR after {active_after:.1f}s")

    latencies, listed = [], 0
    for _ in range(list_runs):
        before = loop.time()
        _, page = await api.call(conn, "GET", "/compute/v2.1/servers/detail?limit=1000")
        latencies.append(loop.time() - before)
        listed = len(page["servers"])
    conn.close()
    memory = tree_memory(server_pid)
    return Scale(hosts, servers, batch, posted, placed or active_after, active_after, active,
                 error, latencies, listed, rss_kib=sum(m.rss_kib for m in memory.values()),
                 peak_kib=sum(m.peak_kib for m in memory.values()), processes=len(memory),
                 server_cores=server_cores)


# -- main ---------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/compute",
        description="Rally-like boot_and_delete_server and a 10,000-server scale run "
                    "against Stacklet's fake compute driver.")
    parser.add_argument("--iterations", type=int,
                        default=env_int("BENCH_COMPUTE_ITERATIONS", 1000),
                        help="boot-and-delete iterations (default 1000, or "
                        "$BENCH_COMPUTE_ITERATIONS)")
    parser.add_argument("--concurrency", type=int,
                        default=env_int("BENCH_COMPUTE_CONCURRENCY", 10),
                        help="concurrent clients (default 10, or $BENCH_COMPUTE_CONCURRENCY)")
    parser.add_argument("--hosts", type=int, default=env_int("BENCH_COMPUTE_HOSTS", 1000),
                        help="fake hosts of the scale run (default 1000, or "
                        "$BENCH_COMPUTE_HOSTS)")
    parser.add_argument("--servers", type=int, default=env_int("BENCH_COMPUTE_SERVERS", 10000),
                        help="servers of the scale run (default 10000, or "
                        "$BENCH_COMPUTE_SERVERS)")
    parser.add_argument("--batch", type=int, default=env_int("BENCH_COMPUTE_BATCH", 100),
                        help="max_count of each create request of the scale run (default 100, "
                        "or $BENCH_COMPUTE_BATCH)")
    parser.add_argument("--list-runs", type=int, default=env_int("BENCH_COMPUTE_LIST_RUNS", 7),
                        help="GET /servers/detail?limit=1000 timed this many times (default "
                        "7, or $BENCH_COMPUTE_LIST_RUNS)")
    parser.add_argument("--poll-interval", type=float, default=0.01,
                        help="seconds between two polls of one server (default 0.01)")
    parser.add_argument("--boot-hosts", type=int, default=1,
                        help="fake hosts of the boot-and-delete run (default 1)")
    parser.add_argument("--only", choices=("boot", "scale"), help="run one of the two only")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds a single request may take (default 120)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, databases)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


async def prepared_api(port: int, timeout: float) -> tuple[ComputeAPI, str]:
    api = ComputeAPI(port, timeout)
    await api.log_in()
    return api, await api.upload_image()


def run_against_stacklet(workdir: Path, name: str, hosts: int, timeout: float, measure):
    """Start a Stacklet with HOSTS fake hosts, run MEASURE(api, image_id, pid), stop it."""
    process, port = start_stacklet(
        workdir / name, log=workdir / f"{name}.log", workers=1,
        admin_password=ADMIN_PASSWORD, settings=UNLIMITED_QUOTAS,
        up_args=("--compute-driver", "fake", "--fake-hosts", str(hosts)))
    try:
        async def run():
            api, image_id = await prepared_api(port, timeout)
            return await measure(api, image_id, process.pid)
        result = asyncio.run(run())
        if process.poll() is not None:
            raise SystemExit(f"Stacklet exited with {process.returncode} during the run")
        return result
    finally:
        stop_process(process)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _on_signal)
    # The backstop for anything that hangs: a second per iteration and per 10 servers.
    signal.alarm(int(600 + args.iterations + args.servers / 10))

    workdir = Path(tempfile.mkdtemp(prefix="stacklet-bench-compute-"))
    say(f"{os.cpu_count()} CPUs; temp dir {workdir}")
    results = {}
    try:
        if args.only != "scale":
            say(f"boot-and-delete: {args.iterations} iterations by {args.concurrency} clients "
                f"on {args.boot_hosts} fake host(s), polling every {args.poll_interval}s")

            async def measure_boot(api, image_id, pid):
                return await boot_and_delete(api, image_id, iterations=args.iterations,
                                             concurrency=args.concurrency,
                                             poll_interval=args.poll_interval, server_pid=pid)
            results["boot"] = run_against_stacklet(workdir, "boot", args.boot_hosts,
                                                   args.timeout, measure_boot)
        if args.only != "boot":
            say(f"scale: {args.servers} servers on {args.hosts} fake hosts, "
                f"{args.batch} per request, {args.concurrency} requests at a time")

            async def measure_scale(api, image_id, pid):
                return await scale(api, image_id, hosts=args.hosts, servers=args.servers,
                                   batch=args.batch, concurrency=args.concurrency,
                                   list_runs=args.list_runs, server_pid=pid)
            results["scale"] = run_against_stacklet(workdir, "scale", args.hosts, args.timeout,
                                                    measure_scale)
    finally:
        signal.alarm(0)
        stop_all()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(results, args)


def report(results: dict, args) -> int:
    met = True
    print()
    boot: BootAndDelete | None = results.get("boot")
    if boot is not None:
        print(f"boot_and_delete_server: {boot.iterations} iterations, concurrency "
              f"{boot.concurrency}, {len(boot.total)} completed in {boot.elapsed:.1f}s "
              f"({len(boot.total) / boot.elapsed:.1f} iterations/s, "
              f"{boot.requests / max(1, len(boot.total)):.0f} requests each); CPU cores used: "
              f"Stacklet {boot.server_cores:.2f}, the bench {boot.client_cores:.2f}, other "
              f"processes {boot.others_cores:.2f}; Stacklet CPU per iteration "
              f"{boot.server_cpu_per_iteration * 1000:.0f} ms")
        if boot.total:
            for name, values in (("boot", boot.boot), ("delete", boot.delete),
                                 ("boot+delete", boot.total)):
                print(f"  {name:12} median {statistics.median(values) * 1000:8.1f} ms   "
                      f"95%ile {percentile(values, 0.95) * 1000:8.1f} ms   "
                      f"max {max(values) * 1000:8.1f} ms")
            boot_median = statistics.median(boot.boot)
            ok = boot_median < BOOT_MEDIAN_TARGET and not boot.errors
            met = met and ok
            print(f"  reference (OpenStack's published Rally run, 1,000 fake-driver nodes): "
                  f"boot median {REFERENCE_BOOT_MEDIAN} s, boot+delete "
                  f"{REFERENCE_BOOT_AND_DELETE_MEDIAN} s")
            print(f"  boot median {boot_median * 1000:.1f} ms (target < "
                  f"{BOOT_MEDIAN_TARGET * 1000:.0f} ms: {'met' if ok else 'MISSED'}); "
                  f"{REFERENCE_BOOT_MEDIAN / boot_median:.0f}x faster than the reference")
        else:
            met = False
        for error, count in boot.errors.items():
            print(f"  error x{count}: {error}")
    scaled: Scale | None = results.get("scale")
    if scaled is not None:
        page_median = statistics.median(scaled.list_latencies)
        print(f"scale: {scaled.servers} servers on {scaled.hosts} fake hosts "
              f"({scaled.batch} per create request)")
        print(f"  requests answered after {scaled.posted_after:.1f}s, all placed after "
              f"{scaled.placed_after:.1f}s, all ACTIVE after {scaled.active_after:.1f}s: "
              f"{scaled.active} ACTIVE, {scaled.error} ERROR")
        print(f"  scheduler decisions per second (servers placed / first POST to all ACTIVE): "
              f"{scaled.decisions_per_second:.0f}; Stacklet used {scaled.server_cores:.2f} "
              "cores meanwhile")
        print(f"  GET /servers/detail?limit=1000 ({scaled.listed} servers): median "
              f"{page_median * 1000:.0f} ms of {len(scaled.list_latencies)} "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in scaled.list_latencies)} ms); "
              f"target < {SERVERS_PAGE_TARGET * 1000:.0f} ms: "
              f"{'met' if page_median < SERVERS_PAGE_TARGET else 'MISSED'}")
        print(f"  Stacklet's process tree ({scaled.processes} processes): RSS "
              f"{scaled.rss_kib / 1024:.0f} MiB, peak {scaled.peak_kib / 1024:.0f} MiB")
        met = (met and page_median < SERVERS_PAGE_TARGET and scaled.error == 0
               and scaled.active == scaled.servers)
    if args.json:
        args.json.write_text(json.dumps(
            {name: dataclasses.asdict(result) for name, result in results.items()},
            indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
