"""Port creation as a subnet fills: does the next address cost the same at the end?

Against a `stacklet up` of its own: one network, one /16 subnet (65,533
addresses), then PORTS (default 10,000) ports created one at a time by one
client, each taking the next address.  Prints the mean time per port for each
successive thousand, and the ratio of the last thousand to the first: IPAM
takes the lowest free range's first address, so the ratio should stay near 1
(the target is within 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Connection, say, start_stacklet, stop_all, stop_process

ADMIN_PASSWORD = "bench-" + secrets.token_hex(8)
RATIO_TARGET = 1.5
# No quota gets in the way of 10,000 ports in one project.
UNLIMITED_QUOTAS = {"STACKLET_NETWORK_QUOTA_PORT": "-1"}


def _on_signal(signum, _frame) -> None:
    stop_all()
    say(f"stopped by signal {signum}")
    os._exit(128 + signum)


class NetworkAPI:
    def __init__(self, port: int):
        self.conn = Connection("127.0.0.1", port)
        self.token = ""

    async def call(self, method: str, path: str, body=None, expected=(200,)) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        status, answer_headers, answer = await self.conn.request(method, path, headers, data)
        if status not in expected:
            raise SystemExit(f"{method} {path} answered {status}: {answer[:300]!r}")
        if path.startswith("/identity"):
            self.token = answer_headers["x-subject-token"]
        return json.loads(answer) if answer.startswith(b"{") else {}

    async def log_in(self) -> None:
        await self.call("POST", "/identity/v3/auth/tokens?nocatalog", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}},
            expected=(201,))


async def fill(port: int, ports: int, step: int) -> list[float]:
    """Seconds per port for each successive STEP ports."""
    api = NetworkAPI(port)
    await api.log_in()
    network = (await api.call("POST", "/network/v2.0/networks",
                              {"network": {"name": "bench"}}, (201,)))["network"]
    await api.call("POST", "/network/v2.0/subnets", {"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/16"}}, (201,))
    per_port = []
    for start in range(0, ports, step):
        began = time.perf_counter()
        for _ in range(min(step, ports - start)):
            await api.call("POST", "/network/v2.0/ports",
                           {"port": {"network_id": network["id"]}}, (201,))
        elapsed = time.perf_counter() - began
        per_port.append(elapsed / min(step, ports - start))
        say(f"ports {start + 1:>6}-{start + min(step, ports - start):<6} "
            f"{per_port[-1] * 1000:7.2f} ms/port")
    api.conn.close()
    return per_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=int(os.environ.get("BENCH_NETWORK_PORTS",
                                                                          10000)))
    parser.add_argument("--step", type=int, default=1000, help="ports per reported group")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and logs")
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _on_signal)
    signal.alarm(int(300 + args.ports / 10))
    workdir = Path(tempfile.mkdtemp(prefix="stacklet-bench-network-"))
    say(f"{os.cpu_count()} CPUs; temp dir {workdir}; {args.ports} ports on one /16")
    try:
        process, port = start_stacklet(workdir / "data", log=workdir / "stacklet.log",
                                       workers=1, admin_password=ADMIN_PASSWORD,
                                       settings=UNLIMITED_QUOTAS)
        try:
            per_port = asyncio.run(fill(port, args.ports, args.step))
        finally:
            stop_process(process)
    finally:
        signal.alarm(0)
        stop_all()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ratio = per_port[-1] / per_port[0]
    met = ratio <= RATIO_TARGET
    print(f"first {args.step}: {per_port[0] * 1000:.2f} ms/port, last: "
          f"{per_port[-1] * 1000:.2f} ms/port, last/first {ratio:.2f} "
          f"({'within' if met else 'NOT within'} {RATIO_TARGET})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
