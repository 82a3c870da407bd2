"""Image upload and download through the Image API, against a plain `cp`.

In one run, on one filesystem (the temp dir holds the source file, the
copies and Stacklet's data dir, so the image store is on the same disk):

* cp:       `cp SRC DST`, timed as a process: the baseline of the targets;
* cp+fsync: `cp SRC DST; sync DST`, for reference only: Stacklet fsyncs an
            uploaded image before it answers, plain cp leaves it to writeback;
* upload:   PUT /image/v2/images/{id}/file with the file as the body
            (socket.sendfile: the client copies nothing through user space),
            timed until the 204 arrives;
* download: GET /image/v2/images/{id}/file into a file (body moved with
            splice: socket → pipe → file), timed until the last byte is written.

Each run does the four in turn (interleaved, so drift on a shared machine
touches all of them alike); the medians over the runs are compared.  Before
each timed step, untimed, the bench calls sync(2), so no step pays for the
writeback of the one before, and reads the step's input once, so every step
reads it from the page cache as `cp` does: the source file, and for the
download the stored image, which Stacklet's store drops from the page cache
while it writes it.  With --cold it evicts the input instead
(posix_fadvise DONTNEED on its own files), and every step reads the disk.

Checked, untimed: the image's size and checksum (md5) and its os_hash_value
against the file's own, and the downloaded bytes' md5.

The API's memory: VmHWM (peak RSS) of `stacklet up` and every process under it,
read from /proc before the first upload and after the last download.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    Memory,
    machine_busy_seconds,
    own_cpu_seconds,
    say,
    start_stacklet,
    stop_all,
    stop_process,
    tree_cpu_by_process,
    tree_memory,
)

MB = 1_000_000              # MB/s are decimal megabytes per second
MIB = 1 << 20
BLOCK = MIB                 # the client splices 1 MiB at a time
THROUGHPUT_TARGET = 0.70    # upload and download each >= 70% of cp's MB/s
RSS_GROWTH_LIMIT_MIB = 64   # "flat": no process's peak RSS grows by more than this
BUSY_MACHINE_CORES = 0.2    # more than this used by others during a step: say so
STEPS = ("cp", "cp+fsync", "upload", "download")
IN_MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}


class Stop(Exception):
    """A signal asked the bench to stop; the cleanup in `finally` blocks still runs."""


def _on_signal(signum, _frame) -> None:
    signal.signal(signum, signal.SIG_IGN)
    raise Stop(f"stopped by signal {signum}")


# -- files and the filesystem ------------------------------------------------------------

def filesystem_of(path: Path) -> tuple[str, str, str]:
    """(mount point, filesystem type, device) of the mount holding PATH."""
    path = path.resolve()
    best = ("/", "?", "?")
    for line in Path("/proc/self/mounts").read_text().splitlines():
        device, mount_point, fstype = line.split()[:3]
        # /proc/self/mounts escapes spaces and the like as octal (\040).
        mount_point = mount_point.encode().decode("unicode_escape")
        inside = path == Path(mount_point) or Path(mount_point) in path.parents
        if inside and len(mount_point) >= len(best[0]):
            best = (mount_point, fstype, device)
    return best


def write_random_file(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(BLOCK, left))
            out.write(block)
            left -= len(block)


def file_digest(path: Path, algorithm: str) -> tuple[str, float]:
    """Hex digest of a file and the seconds it took (the file is in the page cache)."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, algorithm).hexdigest()
    return digest, time.perf_counter() - started


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def settle(source: Path | None, *, cold: bool) -> None:
    """Before a timed step: write back what earlier steps left dirty (so no step
    pays for another's writeback), then put the step's input in the page cache
    by reading it (warm), or evict it so the step reads the disk (cold).
    Either way only this bench's own files are touched: nothing needs root."""
    os.sync()
    if source is None:
        return
    fd = os.open(source, os.O_RDONLY)
    try:
        if cold:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        else:
            block = bytearray(BLOCK)
            while os.readv(fd, [block]):
                pass
    finally:
        os.close(fd)


# -- what one timed step cost -------------------------------------------------------------

@dataclasses.dataclass
class Step:
    """One timed transfer, and the CPU each side used meanwhile (in cores)."""
    name: str
    size: int
    seconds: float
    client_cores: float         # the bench process (for cp: the cp process)
    server_cores: float         # Stacklet's whole process tree
    others_cores: float         # the rest of the machine (other jobs, kernel threads)

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / MB

    @property
    def server_cpu_per_gib(self) -> float:
        """Stacklet's CPU seconds per GiB moved: steadier than MB/s on a shared machine."""
        return self.server_cores * self.seconds / (self.size / (1 << 30))

    def describe(self) -> str:
        return (f"{self.name:9} {self.mb_per_s:8.1f} MB/s  ({self.seconds:.3f} s; CPU cores: "
                f"{client_name(self.name)} {self.client_cores:.2f}, "
                f"Stacklet {self.server_cores:.2f}, rest of the machine {self.others_cores:.2f})")


def client_name(step: str) -> str:
    return "cp" if step.startswith("cp") else "client"


class Meter:
    """CPU use of this process, its finished children, Stacklet's tree and the machine,
    between start() and stop()."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def start(self) -> None:
        self.own = own_cpu_seconds()
        self.children = _children_cpu_seconds()
        self.server = sum(tree_cpu_by_process(self.server_pid).values())
        self.machine = machine_busy_seconds()
        self.started = time.perf_counter()

    def stop(self, name: str, size: int, *, client_is_child: bool = False) -> Step:
        seconds = time.perf_counter() - self.started
        own = own_cpu_seconds() - self.own
        children = _children_cpu_seconds() - self.children
        server = sum(tree_cpu_by_process(self.server_pid).values()) - self.server
        machine = machine_busy_seconds() - self.machine
        client = children if client_is_child else own
        others = max(0.0, machine - own - children - server)
        return Step(name, size, seconds, client / seconds, server / seconds, others / seconds)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cp(source: Path, target: Path, size: int, meter: Meter, *, fsync: bool,
            cold: bool) -> Step:
    """`cp SRC DST`, or with FSYNC `cp SRC DST; sync DST` (coreutils' sync fsyncs a file
    it is given), as separate processes the bench times together."""
    remove(target)
    settle(source, cold=cold)
    meter.start()
    subprocess.run(["cp", str(source), str(target)], check=True)
    if fsync:
        subprocess.run(["sync", str(target)], check=True)
    step = meter.stop("cp+fsync" if fsync else "cp", size, client_is_child=True)
    remove(target)
    return step


# -- the Image API --------------------------------------------------------------------------

class ImageAPI:
    """The few calls the bench makes, each on a connection of its own."""

    def __init__(self, port: int, timeout: float):
        self.host, self.port, self.timeout = "127.0.0.1", port, timeout
        self.token = ""

    def call(self, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            sent = {"Accept": "application/json", **(headers or {})}
            if self.token:
                sent["X-Auth-Token"] = self.token
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=sent)
            answer = conn.getresponse()
            return answer.status, answer.headers, answer.read()
        finally:
            conn.close()

    def expect(self, expected: int, method: str, path: str, body: dict | None = None) -> bytes:
        status, _headers, data = self.call(method, path, body)
        if status != expected:
            raise SystemExit(f"{method} {path} answered {status} (expected {expected}): "
                             f"{data[:500].decode(errors='replace')}")
        return data

    def log_in(self, password: str) -> None:
        status, headers, data = self.call("POST", "/identity/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }})
        if status != 201:
            raise SystemExit(f"issuing a token answered {status}: {data[:500]!r}")
        self.token = headers["X-Subject-Token"]

    def create_image(self) -> str:
        data = self.expect(201, "POST", "/image/v2/images", {
            "name": "bench", "disk_format": "raw", "container_format": "bare"})
        return json.loads(data)["id"]

    def show_image(self, image_id: str) -> dict:
        return json.loads(self.expect(200, "GET", f"/image/v2/images/{image_id}"))

    def delete_image(self, image_id: str) -> None:
        self.expect(204, "DELETE", f"/image/v2/images/{image_id}")

    def _connect(self, head: str) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.sendall(head.encode("latin-1"))
        return sock

    def _head(self, method: str, path: str, extra: str = "") -> str:
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"X-Auth-Token: {self.token}\r\nConnection: close\r\n{extra}\r\n")

    def upload(self, image_id: str, source: Path, size: int) -> None:
        """PUT the file as the image's data, streamed from disk by the kernel."""
        path = f"/image/v2/images/{image_id}/file"
        sock = self._connect(self._head("PUT", path, "Content-Type: application/octet-stream"
                                        f"\r\nContent-Length: {size}\r\n"))
        try:
            failure = None
            with open(source, "rb") as body:
                try:
                    sock.sendfile(body)
                except (BrokenPipeError, ConnectionResetError) as exc:
                    failure = exc   # the server may have answered early: read why
            answer = http.client.HTTPResponse(sock, method="PUT")
            try:
                answer.begin()
            except (http.client.HTTPException, OSError):
                raise SystemExit(f"PUT {path}: the connection broke after sending "
                                 f"({failure or 'no answer'})") from None
            data = answer.read()
            if answer.status != 204:
                raise SystemExit(f"PUT {path} answered {answer.status} (expected 204): "
                                 f"{data[:500].decode(errors='replace')}")
        finally:
            sock.close()

    def download(self, image_id: str, target: Path) -> int:
        """GET the image's data into TARGET; returns the bytes written.

        The headers are read by hand; the body then goes socket → pipe → file
        with splice, so the client, like cp and like the upload's sendfile,
        copies nothing through user space.  (With http.client reading into
        1 MiB blocks, the client was the slowest part of the download: a full
        core at about half of what curl reaches against the same server.)
        """
        path = f"/image/v2/images/{image_id}/file"
        sock = self._connect(self._head("GET", path))
        sock.settimeout(None)   # splice needs a blocking descriptor
        try:
            status, headers, early = _read_response_head(sock)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status} (expected 200): "
                                 f"{early[:500].decode(errors='replace')}")
            length = int(headers["content-length"])
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, early)
                _splice_exactly(sock.fileno(), fd, length - len(early))
            finally:
                os.close(fd)
            return length
        finally:
            sock.close()


def _read_response_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and the body bytes read along with them."""
    received = b""
    while b"\r\n\r\n" not in received:
        more = sock.recv(65536)
        if not more:
            raise SystemExit("the server closed the connection before its answer's headers")
        received += more
    head, _, early = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, early


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _splice_exactly(source: int, target: int, count: int) -> None:
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, BLOCK)
        while count:
            moved = os.splice(source, write_end, min(BLOCK, count))
            if not moved:
                raise SystemExit(f"the server closed the connection {count} bytes early")
            count -= moved
            while moved:
                moved -= os.splice(read_end, target, moved)
    finally:
        os.close(read_end)
        os.close(write_end)


# -- the API processes' memory --------------------------------------------------------------

def describe_memory(before: dict[int, Memory], after: dict[int, Memory]) -> tuple[list[str], int]:
    """Lines of a before/after table, and the largest growth of a peak (KiB)."""
    lines = [(f"  {'pid':>8} {'process':18} {'peak RSS before':>16} {'peak RSS after':>15} "
              f"{'growth':>10} {'RSS now':>9}")]
    worst = 0
    for pid in sorted(before.keys() | after.keys()):
        old, new = before.get(pid), after.get(pid)
        role = (new or old).role
        if old and new:
            growth = new.peak_kib - old.peak_kib
            worst = max(worst, growth)
            lines.append(f"  {pid:>8} {role:18} {old.peak_kib / 1024:12.1f} MiB "
                         f"{new.peak_kib / 1024:11.1f} MiB {growth / 1024:+6.1f} MiB "
                         f"{new.rss_kib / 1024:5.1f} MiB")
        elif new:
            # A process that started during the run (a worker restarted after a
            # crash, say): its whole peak counts as growth.
            worst = max(worst, new.peak_kib)
            lines.append(f"  {pid:>8} {role:18} {'(not running)':>16} "
                         f"{new.peak_kib / 1024:11.1f} MiB {'new':>10} "
                         f"{new.rss_kib / 1024:5.1f} MiB")
        else:
            lines.append(f"  {pid:>8} {role:18} {old.peak_kib / 1024:12.1f} MiB "
                         f"{'(exited)':>15}")
    return lines, worst


def total_peak_mib(memory: dict[int, Memory]) -> float:
    return sum(m.peak_kib for m in memory.values()) / 1024


# -- one run ---------------------------------------------------------------------------------

def stored_image_files(store: Path, size: int) -> list[Path]:
    """Files of exactly SIZE bytes in the image store: where the upload landed."""
    if not store.is_dir():
        return []
    return [path for path in store.rglob("*") if path.is_file() and path.stat().st_size == size]


def check_image(api: ImageAPI, image_id: str, source: Path, size: int,
                digests: dict[str, str]) -> dict:
    image = api.show_image(image_id)
    problems = []
    if image.get("status") != "active":
        problems.append(f"status {image.get('status')!r}, not 'active'")
    if image.get("size") != size:
        problems.append(f"size {image.get('size')} != {size}")
    if image.get("checksum") != digests["md5"]:
        problems.append(f"checksum {image.get('checksum')} != md5 {digests['md5']}")
    algorithm = image.get("os_hash_algo")
    if algorithm:
        if algorithm not in digests and algorithm in hashlib.algorithms_available:
            digests[algorithm] = file_digest(source, algorithm)[0]
        if algorithm in digests and image.get("os_hash_value") != digests[algorithm]:
            problems.append(f"os_hash_value ({algorithm}) differs from the file's")
    if problems:
        raise SystemExit(f"image {image_id} after upload: " + "; ".join(problems))
    return image


def one_run(label: str, api: ImageAPI, meter: Meter, files: dict[str, Path], size: int,
            digests: dict[str, str], store: Path, *, first: bool, cold: bool
            ) -> dict[str, Step]:
    source = files["source"]
    steps = {}
    for fsync in (False, True):
        step = time_cp(source, files["cp"], size, meter, fsync=fsync, cold=cold)
        steps[step.name] = step
        say(f"{label}: {step.describe()}")

    image_id = api.create_image()
    settle(source, cold=cold)
    meter.start()
    api.upload(image_id, source, size)
    steps["upload"] = meter.stop("upload", size)
    say(f"{label}: {steps['upload'].describe()}")
    image = check_image(api, image_id, source, size, digests)
    stored = store / image_id
    if not stored.is_file():
        landed = stored_image_files(store, size)
        stored = landed[0] if len(landed) == 1 else None
    if first:
        same_disk = stored and stored.stat().st_dev == source.stat().st_dev
        say(f"image {image_id}: size, checksum (md5) and os_hash_value "
            f"({image.get('os_hash_algo')}) match the file; stored as "
            f"{stored or '? (no file of that size under ' + str(store) + ')'}"
            f"{' (same filesystem as the source)' if same_disk else ''}")
        if stored is None:
            say("warning: the download reads the image from wherever the server's "
                "cache has it: --cold cannot evict it, nor the default mode warm it")

    remove(files["download"])
    settle(stored, cold=cold)
    meter.start()
    written = api.download(image_id, files["download"])
    steps["download"] = meter.stop("download", size)
    say(f"{label}: {steps['download'].describe()}")
    if written != size:
        raise SystemExit(f"download of {image_id}: {written} bytes, expected {size}")
    md5, _seconds = file_digest(files["download"], "md5")
    if md5 != digests["md5"]:
        raise SystemExit(f"download of {image_id}: md5 {md5} != the file's {digests['md5']}")
    remove(files["download"])
    api.delete_image(image_id)
    return steps


# -- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/image",
        description="Image upload/download through the Image API against cp of the same "
        "file on the same disk, and the API's peak RSS.")
    parser.add_argument("--size-mib", type=int,
                        default=int(os.environ.get("BENCH_IMAGE_SIZE_MIB", "1024")),
                        help="size of the image file in MiB (default 1024, or "
                        "$BENCH_IMAGE_SIZE_MIB)")
    parser.add_argument("--runs", type=int, default=3,
                        help="cp/upload/download rounds; the medians are compared (default 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted rounds first (default 1): the first writes into "
                        "memory the machine has not used yet are slower, in a VM notably")
    parser.add_argument("--cold", action="store_true",
                        help="each step reads its input from the disk: the bench evicts the "
                        "file from the page cache first (default: from the page cache, the "
                        "bench reads it once beforehand)")
    parser.add_argument("--workers", type=int, default=1,
                        help="Stacklet API worker processes (default 1, Stacklet's default)")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"),
                        help="where to make the temp dir for the files and Stacklet's data "
                        "dir; a disk, not tmpfs (default /var/tmp)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds a socket may wait for the server (default 600)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (Stacklet's data dir and log); the big files "
                        "are removed anyway")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.runs < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--size-mib, --runs and --workers must be at least 1, --warmup at least 0")
    return args


def prepare_dir(parent: Path, size: int) -> Path:
    mount_point, fstype, device = filesystem_of(parent)
    if fstype in IN_MEMORY_FILESYSTEMS:
        raise SystemExit(f"{parent} is on {fstype} (memory, not a disk): pass --dir on a disk")
    needed = 3 * size + 256 * MIB       # the source, the stored image, the download
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise SystemExit(f"{parent} has {free / MIB:.0f} MiB free; the bench needs about "
                         f"{needed / MIB:.0f} MiB")
    workdir = Path(tempfile.mkdtemp(prefix="stacklet-bench-image-", dir=parent))
    say(f"temp dir {workdir} on {device} ({fstype}, mounted on {mount_point}; "
        f"{free / MIB / 1024:.0f} GiB free)")
    return workdir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = args.size_mib * MIB
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _on_signal)
    # A backstop for anything that hangs: every transfer at 2 MB/s, plus start-up.
    signal.alarm(int(600 + (args.warmup + args.runs) * 3 * size / (2 * MB)))

    workdir = prepare_dir(args.dir, size)
    files = {name: workdir / name for name in ("source", "cp", "download")}
    data_dir = workdir / "data"
    process = None
    try:
        say(f"{os.cpu_count()} CPUs; writing {args.size_mib} MiB of random bytes to "
            f"{files['source']}")
        write_random_file(files["source"], size)
        os.sync()
        digests, hash_speed = {}, {}
        for algorithm in ("md5", "sha512"):
            digests[algorithm], seconds = file_digest(files["source"], algorithm)
            hash_speed[algorithm] = size / seconds / MB
        say("one core hashes the file (from the page cache) at " +
            ", ".join(f"{name} {speed:.0f} MB/s" for name, speed in hash_speed.items()) +
            ": an upload that computes both cannot beat the slower of the two")

        process, port = start_stacklet(data_dir, log=workdir / "stacklet.log",
                                       workers=args.workers)
        api = ImageAPI(port, args.timeout)
        api.log_in((data_dir / "admin-password").read_text().strip())
        memory_before = tree_memory(process.pid)
        say(f"Stacklet's processes: {len(memory_before)}; peak RSS before the first upload "
            f"{total_peak_mib(memory_before):.1f} MiB in all")

        meter = Meter(process.pid)
        store = data_dir / "images"
        runs = []
        labels = ["warm-up"] * args.warmup + [f"run {n}" for n in range(1, args.runs + 1)]
        for index, label in enumerate(labels):
            steps = one_run(label, api, meter, files, size, digests, store, first=index == 0,
                            cold=args.cold)
            if index >= args.warmup:
                runs.append(steps)
            say(f"{label}: Stacklet's peak RSS now "
                f"{total_peak_mib(tree_memory(process.pid)):.1f} MiB in all")
        memory_after = tree_memory(process.pid)
        if process.poll() is not None:
            raise SystemExit(f"Stacklet exited with {process.returncode} during the run")
    except Stop as stop:
        say(str(stop))
        return 130
    finally:
        signal.alarm(0)
        if process is not None:
            stop_process(process)
        stop_all()
        for path in files.values():
            remove(path)
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return report(args, size, runs, memory_before, memory_after, hash_speed)


def report(args, size: int, runs: list[dict[str, Step]], memory_before: dict[int, Memory],
           memory_after: dict[int, Memory], hash_speed: dict[str, float]) -> int:
    median = {name: statistics.median(run[name].mb_per_s for run in runs) for name in STEPS}
    print()
    print(f"image bench: {args.size_mib} MiB of random bytes, {args.runs} run(s) after "
          f"{args.warmup} warm-up, {args.workers} API worker(s); inputs read from "
          f"{'the disk (--cold)' if args.cold else 'the page cache'}; medians, "
          "MB = 10^6 bytes")
    busiest = 0.0
    for name in STEPS:
        each = ", ".join(f"{run[name].mb_per_s:.0f}" for run in runs)
        cores = {side: statistics.median(getattr(run[name], f"{side}_cores") for run in runs)
                 for side in ("client", "server", "others")}
        busiest = max(busiest, cores["others"])
        per_gib = ""
        if not name.startswith("cp"):
            per_gib = (f"; Stacklet CPU per GiB "
                       f"{statistics.median(run[name].server_cpu_per_gib for run in runs):.2f} s")
        print(f"  {name:9} {median[name]:8.1f} MB/s   (runs: {each}; median CPU cores: "
              f"{client_name(name)} {cores['client']:.2f}, Stacklet {cores['server']:.2f}, "
              f"rest {cores['others']:.2f}{per_gib})")
    print("  (cp+fsync is for reference: Stacklet fsyncs an upload before it answers; "
          "the targets compare with plain cp)")
    met = True
    ratios = {}
    for name in ("upload", "download"):
        ratio = median[name] / median["cp"]
        ok = ratio >= THROUGHPUT_TARGET
        met = met and ok
        ratios[name] = ratio
        print(f"  {name:9} / cp = {ratio * 100:5.1f}%  "
              f"(target >= {THROUGHPUT_TARGET * 100:.0f}%: {'met' if ok else 'MISSED'})")
    lines, worst_kib = describe_memory(memory_before, memory_after)
    flat = worst_kib < RSS_GROWTH_LIMIT_MIB * 1024
    met = met and flat
    print("  API processes' peak RSS (VmHWM), before the first upload and after the last "
          "download:")
    print("\n".join(lines))
    print(f"  largest growth {worst_kib / 1024:.1f} MiB for a {args.size_mib} MiB image "
          f"(flat: under {RSS_GROWTH_LIMIT_MIB} MiB: {'met' if flat else 'MISSED'})")
    if busiest > BUSY_MACHINE_CORES:
        print(f"  note: the rest of the machine used up to {busiest:.2f} cores during a step "
              "(median over the runs): other jobs shared the CPU; the MB/s are lower and "
              "noisier than on a quiet machine")
    if args.json:
        args.json.write_text(json.dumps({
            "size_mib": args.size_mib, "runs": args.runs, "workers": args.workers,
            "inputs": "disk" if args.cold else "page cache",
            "median_mb_per_s": median, "ratios": ratios,
            "hash_mb_per_s": hash_speed,
            "steps": [{name: dataclasses.asdict(step) | {
                           "mb_per_s": step.mb_per_s,
                           "server_cpu_s_per_gib": step.server_cpu_per_gib}
                       for name, step in run.items()} for run in runs],
            "peak_rss_kib_before": {m.pid: dataclasses.asdict(m) for m in memory_before.values()},
            "peak_rss_kib_after": {m.pid: dataclasses.asdict(m) for m in memory_after.values()},
            "largest_peak_growth_kib": worst_kib, "rss_flat": flat, "targets_met": met,
        }, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
