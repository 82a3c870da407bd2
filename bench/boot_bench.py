"""Real guests booted through the Compute API, on the QEMU driver.

Against a `stacklet up --compute-driver qemu` of its own (a temp data dir, a
free loopback port), after `stacklet image build` has uploaded stacklet-tiny,
SERVERS (default 10) servers are created one after another with m1.nano.  For
each: the time from the POST to the first ACTIVE answer, and from the POST to
`login:` on its serial console (os-getConsoleOutput, polled every 0.1 s).  The
servers stay up until the last has booted; then the resident set of each
guest's QEMU process (VmRSS of the process whose command line names
`guest=<server id>`), and the servers are deleted and their QEMU processes
checked gone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    machine_busy_seconds,
    say,
    start_stacklet,
    stop_all,
    stop_process,
    tail,
    tree_memory,
)
from compute_bench import ADMIN_PASSWORD, ComputeAPI

FLAVOR_ID = "42"                      # m1.nano: 1 vCPU, 128 MiB
IMAGE_NAME = "stacklet-tiny"
LOGIN_PROMPT = re.compile(r"\S+ login:")
CONSOLE_LINES = 50                    # the tail asked for at each poll
UNLIMITED_QUOTAS = {f"STACKLET_COMPUTE_QUOTA_{name}": "-1"
                    for name in ("INSTANCES", "CORES", "RAM")}

# References (not targets): Rally's published boot_and_delete_server on
# OpenStack averaged 9.0 s to boot; Firecracker reaches the guest's init in
# 125 ms (with KVM).
REFERENCE_RALLY_BOOT = 9.0
REFERENCE_FIRECRACKER_INIT = 0.125
# The targets under TCG (medians).
ACTIVE_TARGET = 1.0
LOGIN_TARGET = 5.0


def _on_signal(signum, _frame) -> None:
    kill_guests(WORKDIR)
    stop_all()
    say(f"stopped by signal {signum}")
    os._exit(128 + signum)


WORKDIR: Path | None = None


# -- QEMU processes --------------------------------------------------------------------------

def qemu_processes() -> dict[int, bytes]:
    """Every QEMU process on the machine: pid → its command line (NUL-separated)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"qemu-system") or b"/qemu-system" in cmdline.split(b"\0", 1)[0]:
            found[int(entry)] = cmdline
    return found


def guest_pid(server_id: str) -> int | None:
    """The QEMU process of SERVER_ID: `-name guest=<id>,...` in its command line."""
    needle = f"guest={server_id},".encode()
    for pid, cmdline in qemu_processes().items():
        if needle in cmdline:
            return pid
    return None


def vm_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def kill_guests(workdir: Path | None) -> list[int]:
    """SIGKILL the QEMU processes of this bench's data dir (their pidfile and disks
    are under it), should any outlive the run: QEMU daemonizes, so they are in
    none of the process groups the bench started."""
    if workdir is None:
        return []
    needle = str(workdir).encode()
    killed = []
    for pid, cmdline in qemu_processes().items():
        if needle in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    return killed


# -- the run ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Boot:
    server_id: str
    active: float                 # POST → first ACTIVE answer
    login: float                  # POST → `login:` on the console
    console_accel: str            # from the console's "[stacklet] starting" line
    polls: int


@dataclasses.dataclass
class Results:
    image_build_seconds: float
    hypervisor_type: str
    boots: list[Boot]
    rss_kib: dict[str, int]
    deleted_after: float
    left_over: list[int]
    stacklet_rss_kib: int
    boot_seconds: float           # the whole boot phase, first POST to last login prompt
    machine_cores: float          # CPU cores the whole machine used meanwhile
    other_guests: int             # QEMU processes not of this run, at its start


class BootAPI(ComputeAPI):
    def server_body(self, name: str, image_id: str, count: int = 1) -> dict:
        return {"server": {"name": name, "imageRef": image_id, "flavorRef": FLAVOR_ID,
                           "networks": "none"}}

    async def image_id(self, name: str) -> str:
        conn = self.connection()
        try:
            _, answer = await self.call(conn, "GET", f"/image/v2/images?name={name}")
        finally:
            conn.close()
        if not answer.get("images"):
            raise SystemExit(f"no image named {name} after `stacklet image build`")
        return answer["images"][0]["id"]

    async def hypervisor_type(self) -> str:
        conn = self.connection()
        try:
            _, answer = await self.call(conn, "GET", "/compute/v2.1/os-hypervisors/detail")
        finally:
            conn.close()
        return ",".join(sorted({h["hypervisor_type"] for h in answer["hypervisors"]}))


def hypervisor_type_from_cli(data_dir: Path) -> str | None:
    """`openstack hypervisor list`'s Hypervisor Type, when the client is installed."""
    client = Path(sys.executable).parent / "openstack"
    if not client.exists():
        return None
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OS_", "STACKLET_"))}
    env |= {"OS_CLIENT_CONFIG_FILE": str(data_dir / "clouds.yaml"), "OS_CLOUD": "stacklet"}
    answer = subprocess.run([str(client), "hypervisor", "list", "-f", "json"], check=False, env=env,
                            capture_output=True, text=True, timeout=120)
    if answer.returncode != 0:
        say(f"`openstack hypervisor list` failed: {answer.stderr.strip()[-300:]}")
        return None
    return ",".join(sorted({row["Hypervisor Type"] for row in json.loads(answer.stdout)}))


async def boot_one(api: BootAPI, number: int, image_id: str, *, poll_interval: float,
                   status_interval: float, timeout: float) -> Boot:
    """POST one server; poll its status and, at the same time, its console."""
    loop = asyncio.get_running_loop()
    conn, console_conn = api.connection(), api.connection()
    started = loop.time()
    _, created = await api.call(conn, "POST", "/compute/v2.1/servers",
                                api.server_body(f"boot-{number}", image_id), expected=(202,))
    server_id = created["server"]["id"]
    polls = 0

    async def until_active() -> float:
        while True:
            _, answer = await api.call(conn, "GET", f"/compute/v2.1/servers/{server_id}")
            server = answer["server"]
            if server["status"] == "ACTIVE":
                return loop.time() - started
            if server["status"] == "ERROR":
                raise SystemExit(f"server {server_id} went to ERROR: "
                                 f"{server.get('fault', {}).get('message')}")
            await asyncio.sleep(status_interval)

    async def until_login() -> tuple[float, str]:
        nonlocal polls
        body = {"os-getConsoleOutput": {"length": CONSOLE_LINES}}
        while True:
            polls += 1
            # 409 while the guest is not running yet.
            status, answer = await api.call(
                console_conn, "POST", f"/compute/v2.1/servers/{server_id}/action", body,
                expected=(200, 409))
            output = answer.get("output") or ""
            if status == 200 and LOGIN_PROMPT.search(output):
                return loop.time() - started, output
            await asyncio.sleep(poll_interval)

    try:
        async with asyncio.timeout(timeout):
            active, (login, _output) = await asyncio.gather(until_active(), until_login())
        # The whole log's first line names the accelerator QEMU was started with.
        _, answer = await api.call(console_conn, "POST",
                                   f"/compute/v2.1/servers/{server_id}/action",
                                   {"os-getConsoleOutput": {}})
    except TimeoutError:
        raise SystemExit(f"server {server_id} did not show a login prompt within "
                         f"{timeout:.0f}s") from None
    finally:
        conn.close()
        console_conn.close()
    first = next((line for line in answer.get("output", "").splitlines()
                  if line.startswith("[stacklet] starting")), "")
    accel = first.rsplit("(", 1)[-1].rstrip(")\r ") if first else "?"
    return Boot(server_id, active, login, accel, polls)


async def delete_all(api: BootAPI, server_ids: list[str], timeout: float) -> float:
    loop = asyncio.get_running_loop()
    conn = api.connection()
    started = loop.time()
    try:
        for server_id in server_ids:
            await api.call(conn, "DELETE", f"/compute/v2.1/servers/{server_id}",
                           expected=(204,))
        async with asyncio.timeout(timeout):
            for server_id in server_ids:
                while (await api.call(conn, "GET", f"/compute/v2.1/servers/{server_id}",
                                      expected=(200, 404)))[1].get("server"):
                    await asyncio.sleep(0.1)
    finally:
        conn.close()
    return loop.time() - started


def stacklet_tree_rss(pid: int) -> int:
    return sum(m.rss_kib for m in tree_memory(pid).values())


def run(args, workdir: Path) -> Results:
    data_dir = workdir / "data"
    # The default cpu_allocation_ratio (4) places 8 one-vCPU guests on 2 CPUs: raise it
    # so that all the servers fit on this one host.
    ratio = max(4.0, args.servers / (os.cpu_count() or 1))
    settings = UNLIMITED_QUOTAS | {"STACKLET_COMPUTE_CPU_ALLOCATION_RATIO": str(ratio)}
    process, port = start_stacklet(
        data_dir, log=workdir / "stacklet.log", workers=1, admin_password=ADMIN_PASSWORD,
        settings=settings, up_args=("--compute-driver", "qemu"))
    say(f"  cpu_allocation_ratio {ratio:g}")
    try:
        say("stacklet image build (the guest is cached under ~/.cache/stacklet after the "
            "first build)")
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("STACKLET_")}
        build_log = workdir / "image-build.log"
        started = time.monotonic()
        with open(build_log, "wb") as log:
            built = subprocess.run([sys.executable, "-m", "stacklet", "image", "build",
                                    "--data-dir", str(data_dir)], check=False, env=env,
                                   stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   timeout=args.build_timeout)
        build_seconds = time.monotonic() - started
        if built.returncode != 0:
            raise SystemExit(f"stacklet image build exited with {built.returncode}:\n"
                             f"{tail(build_log)}")
        say(f"  built and uploaded in {build_seconds:.1f}s")

        async def measure() -> Results:
            api = BootAPI(port, args.timeout)
            await api.log_in()
            image_id = await api.image_id(IMAGE_NAME)
            boots: list[Boot] = []
            other_guests = len(qemu_processes())
            busy_before, started = machine_busy_seconds(), time.monotonic()
            try:
                for number in range(args.servers):
                    boot = await boot_one(api, number, image_id,
                                          poll_interval=args.poll_interval,
                                          status_interval=args.status_interval,
                                          timeout=args.boot_timeout)
                    boots.append(boot)
                    say(f"  server {number + 1}/{args.servers} {boot.server_id}: ACTIVE "
                        f"{boot.active:.2f}s, login prompt {boot.login:.2f}s "
                        f"({boot.console_accel}, {boot.polls} console polls)")
                boot_seconds = time.monotonic() - started
                machine_cores = (machine_busy_seconds() - busy_before) / boot_seconds
                rss = {}
                for boot in boots:
                    pid = guest_pid(boot.server_id)
                    kib = vm_rss_kib(pid) if pid else None
                    if kib is None:
                        raise SystemExit(f"no QEMU process of server {boot.server_id}")
                    rss[boot.server_id] = kib
                stacklet_rss = stacklet_tree_rss(process.pid)
                hypervisor = (hypervisor_type_from_cli(data_dir)
                              or await api.hypervisor_type())
            finally:
                say(f"deleting {len(boots)} servers")
                deleted_after = await delete_all(api, [b.server_id for b in boots],
                                                 args.timeout)
            # The agent kills QEMU before the server row goes; allow a moment anyway.
            deadline = time.monotonic() + 10
            while True:
                left = [pid for b in boots if (pid := guest_pid(b.server_id))]
                if not left or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            return Results(build_seconds, hypervisor, boots, rss, deleted_after, left,
                           stacklet_rss, boot_seconds, machine_cores, other_guests)

        results = asyncio.run(measure())
        if process.poll() is not None:
            raise SystemExit(f"Stacklet exited with {process.returncode} during the run")
        return results
    finally:
        stop_process(process)
        killed = kill_guests(workdir)
        if killed:
            say(f"killed QEMU processes left over from this run: {killed}")
        # The driver keeps the guests' sockets in a short directory outside the data dir.
        from stacklet.compute.driver.qemu import runtime_dir
        shutil.rmtree(runtime_dir(data_dir), ignore_errors=True)


# -- main -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/boot",
        description="Boot stacklet-tiny guests on the QEMU driver: POST → ACTIVE, "
                    "POST → login prompt, RSS per guest.")
    parser.add_argument("--servers", type=int,
                        default=int(os.environ.get("BENCH_BOOT_SERVERS", "10")),
                        help="servers booted one after another (default 10, or "
                        "$BENCH_BOOT_SERVERS)")
    parser.add_argument("--poll-interval", type=float, default=0.1,
                        help="seconds between two console polls (default 0.1)")
    parser.add_argument("--status-interval", type=float, default=0.02,
                        help="seconds between two status polls (default 0.02)")
    parser.add_argument("--boot-timeout", type=float, default=300,
                        help="seconds one server may take to its login prompt (default 300)")
    parser.add_argument("--build-timeout", type=float, default=1800,
                        help="seconds `stacklet image build` may take (default 1800)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds a single request may take (default 120)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, database, disks)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    global WORKDIR
    args = parse_args(argv)
    if shutil.which("qemu-system-x86_64") is None:
        say("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _on_signal)
    signal.alarm(int(args.build_timeout + 600 + args.servers * args.boot_timeout))
    WORKDIR = Path(tempfile.mkdtemp(prefix="stacklet-bench-boot-", dir="/var/tmp"))
    say(f"{os.cpu_count()} CPUs; temp dir {WORKDIR}")
    try:
        results = run(args, WORKDIR)
    finally:
        signal.alarm(0)
        stop_all()
        kill_guests(WORKDIR)
        if args.keep:
            say(f"kept {WORKDIR}")
        else:
            shutil.rmtree(WORKDIR, ignore_errors=True)
    return report(results, args)


def report(results: Results, args) -> int:
    boots = results.boots
    active = [b.active for b in boots]
    login = [b.login for b in boots]
    active_median, login_median = statistics.median(active), statistics.median(login)
    rss_median = statistics.median(results.rss_kib.values()) / 1024
    kinds = results.hypervisor_type
    accel = {"QEMU": "TCG", "KVM": "KVM"}.get(kinds, kinds)
    consoles = sorted({b.console_accel for b in boots})
    print()
    print(f"boot: {len(boots)} servers from {IMAGE_NAME}, flavor m1.nano, one after another "
          f"(image build and upload {results.image_build_seconds:.1f}s)")
    print(f"  accelerator: {accel} (hypervisor type {kinds}; the consoles say "
          f"{', '.join(consoles)})")
    print(f"  POST → ACTIVE        median {active_median:6.2f} s   max {max(active):6.2f} s   "
          f"(each: {', '.join(f'{t:.2f}' for t in active)})")
    print(f"  POST → login prompt  median {login_median:6.2f} s   max {max(login):6.2f} s   "
          f"(each: {', '.join(f'{t:.2f}' for t in login)})")
    print(f"  the machine ({os.cpu_count()} CPUs) used {results.machine_cores:.2f} cores during "
          f"the {results.boot_seconds:.0f} s of boots; {results.other_guests} QEMU processes "
          "of others were running when they began")
    rss = sorted(results.rss_kib.values())
    print(f"  RSS per guest (VmRSS of its QEMU, {len(rss)} running): median "
          f"{rss_median:.1f} MiB (min {rss[0] / 1024:.1f}, max {rss[-1] / 1024:.1f}); "
          f"Stacklet's own process tree {results.stacklet_rss_kib / 1024:.0f} MiB")
    print(f"  deleted all in {results.deleted_after:.2f}s; QEMU processes left: "
          f"{results.left_over or 'none'}")
    print(f"  reference: Rally's published boot_and_delete_server on OpenStack averaged "
          f"{REFERENCE_RALLY_BOOT} s to boot; ours (median POST → ACTIVE) is "
          f"{active_median / REFERENCE_RALLY_BOOT:.2f}x that")
    emulated = ("ours is TCG emulation, no KVM" if accel == "TCG" else f"ours with {accel}")
    print(f"  reference: Firecracker reaches guest init in {REFERENCE_FIRECRACKER_INIT * 1000:.0f}"
          f" ms with KVM; our login prompt (median) is "
          f"{login_median / REFERENCE_FIRECRACKER_INIT:.1f}x that ({emulated})")
    active_ok = active_median < ACTIVE_TARGET
    login_ok = login_median < LOGIN_TARGET
    print(f"  target under TCG: ACTIVE < {ACTIVE_TARGET:.0f} s: "
          f"{'met' if active_ok else 'not met'} (median {active_median:.2f} s; max "
          f"{'within' if max(active) < ACTIVE_TARGET else 'over'})")
    print(f"  target under TCG: login prompt < {LOGIN_TARGET:.0f} s: "
          f"{'met' if login_ok else 'not met'} (median {login_median:.2f} s; max "
          f"{'within' if max(login) < LOGIN_TARGET else 'over'})")
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=2) + "\n")
    return 0 if active_ok and login_ok and not results.left_over else 1


if __name__ == "__main__":
    sys.exit(main())
