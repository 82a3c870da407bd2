"""Serving the API with several worker processes."""

from __future__ import annotations

import logging
import signal
import socket
import time

import uvicorn
from uvicorn._subprocess import get_subprocess

LOG = logging.getLogger(__name__)


def serve_workers(factory: str, workers: int, options: dict) -> None:
    """Run `workers` uvicorn processes, each accepting on a socket of its own.

    Two things uvicorn.run(workers=N) gets wrong for an API whose clients keep
    connections alive (keystonemiddleware, openstacksdk sessions):

    * It shares one listening socket, and a worker that wakes first accepts
      every pending connection: a burst of new keep-alive connections often
      all landed in one process while the others idled, for the connections'
      whole life (measured: half the throughput in one run out of three).
      With SO_REUSEPORT, each worker listens on its own socket and the kernel
      spreads connections across them.
    * It binds with socket.socket(AF_INET), whose proto is 0, and asyncio
      turns Nagle off (TCP_NODELAY) only on IPPROTO_TCP sockets.  Responses
      go out as two writes (head, body), so on a kept-alive connection the
      body waited for the client's delayed ACK: 40+ ms per request however
      idle the server.  Our sockets are IPPROTO_TCP with TCP_NODELAY set on
      the listener, which Linux copies to accepted connections.

    A worker that dies is started again; SIGINT/SIGTERM stop them all.
    """
    config = uvicorn.Config(factory, factory=True, workers=workers, **options)
    host, port = options["host"], options["port"]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def listening_socket(reuse_port: bool) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise SystemExit(f"stacklet: cannot listen on {host}:{port}: {exc}") from None
        sock.set_inheritable(True)
        return sock

    # SO_REUSEPORT would also let us share a port another server holds the
    # same way: a plain bind first fails if anything listens there already.
    listening_socket(reuse_port=False).close()
    sockets = [listening_socket(reuse_port=True) for _ in range(workers)]

    def start(sock: socket.socket):
        process = get_subprocess(config, target=uvicorn.Server(config).run, sockets=[sock])
        process.start()
        return process, time.monotonic()

    stop_signals: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, _frame: stop_signals.append(signum))
    processes = [start(sock) for sock in sockets]
    LOG.info("started %d API worker processes (pids %s)", workers,
             ", ".join(str(p.pid) for p, _ in processes))
    try:
        while not stop_signals:
            for index, (process, started) in enumerate(processes):
                if process.is_alive():
                    continue
                process.join()
                LOG.warning("API worker %s exited with %s; starting another", process.pid,
                            process.exitcode)
                # A worker failing at start is not restarted in a hot loop.
                time.sleep(max(0.0, started + 5 - time.monotonic()))
                processes[index] = start(sockets[index])
            time.sleep(0.5)
    finally:
        for process, _ in processes:
            if process.is_alive():
                process.terminate()
        for process, _ in processes:
            process.join(options["timeout_graceful_shutdown"] + 5)
            if process.is_alive():
                process.kill()
                process.join()
        for sock in sockets:
            sock.close()
