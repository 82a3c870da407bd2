"""Token issue and validation throughput: Stacklet against real Keystone.

For each cloud in turn (never both at once, so neither steals the other's
CPU) the bench starts the server with the same number of worker processes,
SQLite, Fernet tokens and bcrypt at cost 12, then runs two timed phases in
which N concurrent clients

* issue:    POST /v3/auth/tokens (password method, project scoped), expecting 201;
* validate: GET /v3/auth/tokens with the admin token as X-Auth-Token and one
            of a few earlier tokens as X-Subject-Token, expecting 200.

Only those answers count, and only when they arrive inside the timed window;
anything else is reported as an error.  Requests still in flight at the end
of a window are awaited (bounded) but not counted, so a phase leaves the
server idle for the next one.

The load generator is a minimal HTTP/1.1 keep-alive client on plain asyncio
streams in this one process: a general-purpose client (httpx, aiohttp) costs
several times more CPU per request, and on a 2-core machine the client's CPU
is taken from the server.  Each phase prints the CPU the client and the
server used, so it is visible whether the client was the bottleneck.

Real Keystone runs under uwsgi (pyuwsgi wheel) from its own venv, installed
on first use; a stamp file skips the install next time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchlib import (
    Connection,
    ConnectionLost,
    free_port,
    machine_busy_seconds,
    own_cpu_seconds,
    say,
    start_process,
    stop_all,
    stop_process,
    tail,
    tree_cpu_by_process,
    wait_until_answering,
)
from benchlib import start_stacklet as start_stacklet_process

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEYSTONE_REQUIREMENTS = ["keystone==30.0.0", "pyuwsgi==2.0.30.post1"]
DEFAULT_KEYSTONE_VENV = HERE / ".keystone-venv"
BCRYPT_ROUNDS = 12
WORKERS = 2
ADMIN_PASSWORD = "bench-" + secrets.token_hex(8)
SUBJECT_TOKENS = 4

VALIDATION_TARGET = 100.0   # Stacklet validations/s >= 100 x Keystone's
ISSUE_TARGET = 1.0          # Stacklet issues/s >= Keystone's

def _on_signal(signum, _frame) -> None:
    stop_all()
    say(f"stopped by signal {signum}")
    os._exit(128 + signum)


# -- the two clouds ----------------------------------------------------------------------

@dataclasses.dataclass
class Cloud:
    name: str
    port: int
    identity_path: str          # "/v3" or "/identity/v3"
    process: subprocess.Popen
    log: Path
    password_hash: str = ""

    def auth_body(self) -> bytes:
        return json.dumps({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }}).encode()


def ensure_keystone_venv(venv: Path) -> Path:
    """Keystone and uwsgi in their own venv; the stamp records what is installed."""
    stamp = venv / ".bench-stamp"
    wanted = " ".join(KEYSTONE_REQUIREMENTS)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        say(f"Keystone venv ready ({venv}: {wanted})")
        return venv
    say(f"installing {wanted} into {venv} (once; later runs reuse it)")
    if venv.exists():
        shutil.rmtree(venv)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "on"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + KEYSTONE_REQUIREMENTS, check=True)
    stamp.write_text(wanted + "\n")
    say("Keystone venv installed")
    return venv


def start_keystone(venv: Path, workdir: Path) -> Cloud:
    workdir.mkdir(parents=True)
    port = free_port()
    conf = workdir / "keystone.conf"
    keys = workdir / "fernet-keys"
    conf.write_text(textwrap.dedent(f"""\
        [DEFAULT]
        log_file = {workdir / 'keystone.log'}
        use_stderr = false

        [database]
        connection = sqlite:///{workdir / 'keystone.db'}

        [token]
        provider = fernet

        [fernet_tokens]
        key_repository = {keys}

        [fernet_receipts]
        key_repository = {workdir / 'fernet-receipts'}

        [identity]
        password_hash_algorithm = bcrypt
        password_hash_rounds = {BCRYPT_ROUNDS}

        [cache]
        enabled = false
        """))
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    log = workdir / "setup.log"
    steps = [
        ("db_sync", ["db_sync"]),
        ("fernet_setup", ["fernet_setup", "--keystone-user", user, "--keystone-group", group]),
        ("bootstrap", ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                       "--bootstrap-admin-url", f"http://127.0.0.1:{port}/v3",
                       "--bootstrap-public-url", f"http://127.0.0.1:{port}/v3",
                       "--bootstrap-internal-url", f"http://127.0.0.1:{port}/v3",
                       "--bootstrap-region-id", "RegionOne"]),
    ]
    for label, args in steps:
        say(f"keystone-manage {label}")
        with open(log, "ab") as handle:
            result = subprocess.run(manage + args, stdout=handle, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=300)
        if result.returncode:
            raise SystemExit(f"keystone-manage {label} failed; see {log}:\n{tail(log)}")
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(conf))
    env.pop("PYTHONPATH", None)
    server_log = workdir / "uwsgi.log"
    # As DevStack runs it: a master and WORKERS single-threaded processes,
    # each loading the app itself (lazy-apps); request logging off on both
    # sides' access logs (Stacklet's is off by default).
    process = start_process([
        str(venv / "bin" / "uwsgi"), "--master", "--processes", str(WORKERS), "--threads", "1",
        "--lazy-apps", "--http11-socket", f"127.0.0.1:{port}", "--listen", "128",
        "--module", "keystone.wsgi.api:application", "--die-on-term", "--disable-logging",
        "--need-app", "--buffer-size", "65535",
    ], log=server_log, env=env)
    cloud = Cloud("Keystone", port, "/v3", process, server_log)
    say(f"Keystone 30.0.0 under uwsgi ({WORKERS} workers) on 127.0.0.1:{port}")
    wait_until_answering(cloud.name, f"http://127.0.0.1:{port}/v3", process, server_log,
                         timeout=180)
    with contextlib.closing(sqlite3.connect(workdir / "keystone.db")) as db:
        row = db.execute("SELECT password_hash FROM password p JOIN local_user l "
                         "ON p.local_user_id = l.id WHERE l.name = 'admin'").fetchone()
    cloud.password_hash = row[0] if row else "?"
    return cloud


def start_stacklet(workdir: Path) -> Cloud:
    workdir.mkdir(parents=True)
    log = workdir / "stacklet.log"
    process, port = start_stacklet_process(workdir / "data", log=log, workers=WORKERS,
                                           admin_password=ADMIN_PASSWORD)
    cloud = Cloud("Stacklet", port, "/identity/v3", process, log)
    with contextlib.closing(sqlite3.connect(workdir / "data" / "stacklet.db")) as db:
        row = db.execute("SELECT password_hash FROM identity_users WHERE name = 'admin'"
                         ).fetchone()
    cloud.password_hash = row[0] if row else "?"
    return cloud


# -- load ----------------------------------------------------------------------------------

@dataclasses.dataclass
class PhaseResult:
    ok: int
    duration: float
    errors: collections.Counter
    latencies: list[float]
    client_cpu: float
    server_cpu: float
    elapsed: float
    server_processes: list[float]   # cores used by each busy server process
    others_cpu: float               # cores used meanwhile by the rest of the machine

    @property
    def rate(self) -> float:
        return self.ok / self.duration

    def describe(self) -> str:
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        return (f"{self.rate:10.1f} req/s  ({self.ok} ok in {self.duration:.0f}s; "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; errors: {errors}; "
                f"CPU cores used: client {self.client_cpu:.2f}, server {self.server_cpu:.2f} "
                f"({' + '.join(f'{c:.2f}' for c in self.server_processes)}), "
                f"other processes {self.others_cpu:.2f}; "
                f"server CPU per answer {self.server_cpu_per_request * 1000:.2f} ms)")

    @property
    def server_cpu_per_request(self) -> float:
        """Server CPU seconds per counted answer: steadier than req/s on a busy machine."""
        return self.server_cpu * self.elapsed / self.ok if self.ok else float("nan")


async def run_phase(cloud: Cloud, make_request, *, clients: int, duration: float,
                    timeout: float, expected: int, counted: bool = True) -> PhaseResult:
    loop = asyncio.get_running_loop()
    errors: collections.Counter = collections.Counter()
    latencies: list[float] = []
    ok = 0
    deadline = loop.time() + duration

    async def client(index: int) -> None:
        nonlocal ok
        conn = Connection("127.0.0.1", cloud.port)
        sequence = index
        try:
            while loop.time() < deadline:
                started = loop.time()
                try:
                    async with asyncio.timeout(timeout):
                        status = await make_request(conn, sequence)
                except (OSError, asyncio.TimeoutError, ConnectionLost, ValueError) as exc:
                    conn.close()
                    errors[type(exc).__name__] += 1
                    continue
                finally:
                    sequence += clients
                finished = loop.time()
                if finished > deadline:
                    break       # answered after the window closed: not counted
                if status == expected:
                    ok += 1
                    latencies.append(finished - started)
                else:
                    errors[f"HTTP {status}"] += 1
        finally:
            conn.close()

    client_cpu, machine_cpu = own_cpu_seconds(), machine_busy_seconds()
    server_cpu, wall = tree_cpu_by_process(cloud.process.pid), time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.monotonic() - wall
    server_after = tree_cpu_by_process(cloud.process.pid)
    per_process = sorted(((after - server_cpu.get(pid, 0.0)) / elapsed
                          for pid, after in server_after.items()), reverse=True)
    client_cores = (own_cpu_seconds() - client_cpu) / elapsed
    server_cores = sum(per_process)
    return PhaseResult(ok=ok, duration=duration, errors=errors, latencies=latencies,
                       client_cpu=client_cores, server_cpu=server_cores, elapsed=elapsed,
                       server_processes=[c for c in per_process if c >= 0.01],
                       others_cpu=max(0.0, (machine_busy_seconds() - machine_cpu) / elapsed
                                      - client_cores - server_cores))


async def measure(cloud: Cloud, args) -> dict[str, PhaseResult]:
    tokens_path = f"{cloud.identity_path}/auth/tokens"
    if args.nocatalog:
        tokens_path += "?nocatalog"
    body = cloud.auth_body()
    issue_headers = {"Content-Type": "application/json", "Accept": "application/json"}

    async def issue(conn: Connection, _sequence: int) -> int:
        status, _headers, _data = await conn.request("POST", tokens_path, issue_headers, body)
        return status

    setup = Connection("127.0.0.1", cloud.port)
    tokens = []
    for _ in range(1 + SUBJECT_TOKENS):
        status, headers, data = await setup.request("POST", tokens_path, issue_headers, body)
        if status != 201:
            raise SystemExit(f"{cloud.name}: issuing a token answered {status}: {data[:500]!r}")
        tokens.append(headers["x-subject-token"])
    setup.close()
    admin_token, subjects = tokens[0], tokens[1:]
    validate_headers = [{"X-Auth-Token": admin_token, "X-Subject-Token": subject,
                         "Accept": "application/json"} for subject in subjects]

    async def validate(conn: Connection, sequence: int) -> int:
        headers = validate_headers[sequence % len(validate_headers)]
        status, _headers, _data = await conn.request("GET", tokens_path, headers)
        return status

    results = {}
    for phase, request, expected in (("issue", issue, 201), ("validate", validate, 200)):
        if args.warmup > 0:
            await run_phase(cloud, request, clients=args.clients, duration=args.warmup,
                            timeout=args.timeout, expected=expected)
        say(f"{cloud.name}: {phase} for {args.duration:.0f}s with {args.clients} clients")
        result = await run_phase(cloud, request, clients=args.clients, duration=args.duration,
                                 timeout=args.timeout, expected=expected)
        say(f"{cloud.name}: {phase} {result.describe()}")
        if result.client_cpu > 0.8:
            say(f"warning: the client used {result.client_cpu:.2f} cores: it may be the "
                "bottleneck")
        results[phase] = result
    return results


# -- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/identity",
        description="Token issue/validate throughput of Stacklet against real Keystone.")
    parser.add_argument("--duration", type=float, default=20,
                        help="seconds of each timed phase (default 20)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients (default 8)")
    parser.add_argument("--warmup", type=float, default=2,
                        help="uncounted seconds before each phase (default 2)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a single request may take (default 60)")
    parser.add_argument("--nocatalog", action="store_true",
                        help="issue and validate with ?nocatalog (default: with the catalog, "
                        "as keystonemiddleware asks)")
    parser.add_argument("--only", choices=("keystone", "stacklet"),
                        help="measure one cloud only (no ratios)")
    parser.add_argument("--keystone-venv", type=Path, default=DEFAULT_KEYSTONE_VENV,
                        help=f"venv for Keystone and uwsgi (default {DEFAULT_KEYSTONE_VENV})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, databases)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    # The bench stops by itself: installs, starts and phases all have bounds,
    # and this alarm is the backstop for anything that hangs anyway.
    phases = 4 * (args.duration + args.warmup + args.timeout)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(int(900 + 2 * 180 + phases))

    workdir = Path(tempfile.mkdtemp(prefix="stacklet-bench-identity-"))
    results: dict[str, dict[str, PhaseResult]] = {}
    try:
        say(f"{os.cpu_count()} CPUs; {args.clients} clients; {args.duration:.0f}s per phase; "
            f"temp dir {workdir}")
        if args.only != "stacklet":
            venv = ensure_keystone_venv(args.keystone_venv)
            keystone = start_keystone(venv, workdir / "keystone")
            say(f"Keystone admin password hash: {keystone.password_hash[:7]}...")
            try:
                results["Keystone"] = asyncio.run(measure(keystone, args))
            finally:
                stop_process(keystone.process)
        if args.only != "keystone":
            stacklet = start_stacklet(workdir / "stacklet")
            say(f"Stacklet admin password hash: {stacklet.password_hash[:7]}...")
            try:
                results["Stacklet"] = asyncio.run(measure(stacklet, args))
            finally:
                stop_process(stacklet.process)
    finally:
        stop_all()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    signal.alarm(0)
    return report(results, args)


def report(results: dict[str, dict[str, PhaseResult]], args) -> int:
    print()
    print(f"identity bench: {args.clients} clients, {args.duration:.0f}s per phase, "
          f"{WORKERS} workers each, bcrypt cost {BCRYPT_ROUNDS}, SQLite, Fernet"
          f"{', nocatalog' if args.nocatalog else ''}")
    print(f"{'':10} {'issue req/s':>12} {'validate req/s':>15}   server CPU ms per answer "
          "(issue, validate)")
    for name, phases in results.items():
        print(f"{name:10} {phases['issue'].rate:12.1f} {phases['validate'].rate:15.1f}   "
              f"{phases['issue'].server_cpu_per_request * 1000:8.2f} "
              f"{phases['validate'].server_cpu_per_request * 1000:8.2f}")
    summary = {name: {phase: {"rate": r.rate, "ok": r.ok, "errors": dict(r.errors),
                              "client_cpu": r.client_cpu, "server_cpu": r.server_cpu,
                              "server_cpu_ms_per_answer": r.server_cpu_per_request * 1000,
                              "server_processes": r.server_processes,
                              "others_cpu": r.others_cpu}
                      for phase, r in phases.items()} for name, phases in results.items()}
    met = True
    if len(results) == 2:
        keystone, stacklet = results["Keystone"], results["Stacklet"]
        ratios = {}
        for phase, target in (("issue", ISSUE_TARGET), ("validate", VALIDATION_TARGET)):
            base = keystone[phase].rate
            ratio = stacklet[phase].rate / base if base else float("inf")
            ok = ratio >= target
            met = met and ok
            ratios[phase] = ratio
            # The same comparison per CPU second: steadier when other jobs
            # took CPU from one cloud's run and not the other's.
            per_cpu = keystone[phase].server_cpu_per_request / \
                stacklet[phase].server_cpu_per_request
            print(f"{phase:>8} Stacklet/Keystone = {ratio:8.1f}x  "
                  f"(target >= {target:g}x: {'met' if ok else 'MISSED'}); "
                  f"per server CPU second {per_cpu:.1f}x")
            ratios[f"{phase}_per_cpu"] = per_cpu
        summary["ratios"] = ratios
        summary["targets_met"] = met
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
