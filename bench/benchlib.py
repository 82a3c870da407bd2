"""What the benchmarks share: the servers they start and stop, what they read
about those servers' processes from /proc, and a small HTTP client.

Every server is started in a process group of its own, so that it and the
workers it spawns stop together, and only the processes a bench started are
ever signalled.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import importlib.util
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# -- processes we start, and their cleanup ----------------------------------------------

_STARTED: list[subprocess.Popen] = []


def start_process(args: list[str], *, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a server in its own process group, so it and its workers stop together."""
    with open(log, "ab") as handle:
        proc = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _STARTED.append(proc)
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the process group we created (its pgid is its own pid), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Workers may outlive a master that exited; the group id still names them.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    if proc in _STARTED:
        _STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(_STARTED):     # stop_process removes it from _STARTED
        stop_process(proc, timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_answering(name: str, url: str, process: subprocess.Popen, log: Path,
                         timeout: float) -> None:
    """Wait until URL answers 200 or a 4xx, failing early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; "
                             f"see {log}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} did not answer on {url} within {timeout:.0f}s; "
                     f"see {log}:\n{tail(log)}")


def start_stacklet(data_dir: Path, *, log: Path, workers: int,
                   admin_password: str | None = None, up_args: tuple[str, ...] = (),
                   settings: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """`python -m stacklet up` (this interpreter) in DATA_DIR on a free loopback port,
    with further flags UP_ARGS; returns once the identity API answers.  The
    environment's STACKLET_* settings are left out, so the run does not depend
    on the caller's shell; SETTINGS are the bench's own."""
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("STACKLET_")} | (settings or {})
    # What a bench measures it makes itself: no first-run networks or image;
    # and no data plane unless it asks (a later --dataplane in UP_ARGS wins).
    args = [sys.executable, "-m", "stacklet", "up", "--data-dir", str(data_dir),
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--no-default-networks", "--no-guest-image", "--dataplane", "off", *up_args]
    if admin_password is not None:
        args += ["--admin-password", admin_password]
    process = start_process(args, log=log, env=env)
    speedups = [name for name in ("uvloop", "httptools")
                if importlib.util.find_spec(name) is not None]
    say(f"Stacklet ({workers} worker{'s' if workers > 1 else ''}) on 127.0.0.1:{port}, "
        f"pid {process.pid}; uvicorn with "
        f"{' and '.join(speedups) or 'neither uvloop nor httptools (pip install -e . adds them)'}")
    wait_until_answering("Stacklet", f"http://127.0.0.1:{port}/identity/v3", process, log,
                         timeout=180)
    return process, port


# -- what /proc says about a process tree -------------------------------------------------

def _process_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Children of every process, and the CPU (user + system) each has used so far."""
    children = collections.defaultdict(list)
    cpu = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces: fields start after the last ')'.
        fields = raw[raw.rindex(")") + 2:].split()
        children[int(fields[1])].append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return children, cpu


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants, the process first."""
    children, _cpu = _process_table()
    return _descendants(pid, children)


def tree_cpu_by_process(pid: int) -> dict[int, float]:
    """CPU (user + system) used so far by a process and each of its descendants."""
    children, cpu = _process_table()
    return {p: cpu.get(p, 0.0) for p in _descendants(pid, children)}


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used so far (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]            # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class Memory:
    """What /proc says about one process's memory."""

    pid: int
    role: str
    peak_kib: int               # VmHWM
    rss_kib: int                # VmRSS


def tree_memory(root: int) -> dict[int, Memory]:
    """Peak and current RSS of ROOT and each process under it."""
    found = {}
    for pid in tree_pids(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue        # it exited meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" not in fields:
            continue        # a zombie has no memory left to report
        found[pid] = Memory(pid, _role(pid == root, cmdline),
                            int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0]))
    return found


def _role(is_root: bool, cmdline: list[bytes]) -> str:
    if is_root:
        return "stacklet up"
    words = b" ".join(cmdline).decode(errors="replace")
    if "resource_tracker" in words:
        return "resource tracker"
    if "multiprocessing" in words:
        return "API worker"
    return os.path.basename(cmdline[0].decode(errors="replace")) or "?"


# -- a small HTTP/1.1 client -------------------------------------------------------------

class ConnectionLost(Exception):
    pass


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        reused = self.writer is not None
        try:
            return await self._exchange(method, path, headers, body)
        except (ConnectionLost, ConnectionError):
            self.close()
            if not reused:
                raise
        # A kept-alive connection the server had already closed: once more, fresh.
        return await self._exchange(method, path, headers, body)

    async def _exchange(self, method, path, headers, body):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise ConnectionLost() from None
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        answer = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            answer[name.strip().lower()] = value.strip()
        if "content-length" in answer:
            data = await self.reader.readexactly(int(answer["content-length"]))
        elif answer.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        elif method == "HEAD" or status in (204, 304):
            data = b""
        else:
            data = await self.reader.read()
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close" or status_line.startswith("HTTP/1.0"):
            self.close()
        return status, answer, data

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append((await self.reader.readexactly(size + 2))[:-2])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
