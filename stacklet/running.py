"""Which clouds this user runs on this machine, so that a command pointed at
the wrong data dir can say where the running one is.

`stacklet up` records its data dir and URL in a small file under this user's
runtime dir while it serves; a record whose process is gone is ignored and
removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from stacklet.common.private_files import NotPrivate, private_dir


def runtime_base() -> Path:
    """This user's runtime dir for Stacklet (sockets, records of running clouds):
    /run/stacklet for root, else under $XDG_RUNTIME_DIR or the temp dir."""
    if os.geteuid() == 0:
        return Path("/run/stacklet")
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"stacklet-{os.geteuid()}"


def _records_dir() -> Path:
    return runtime_base() / "clouds"


def _record_path(data_dir: Path) -> Path:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return _records_dir() / f"{digest}.json"


def record(data_dir: Path, url: str) -> Path | None:
    """Note that this process serves ``data_dir`` at ``url``; returns the record
    to remove at exit (None when the runtime dir cannot be ours)."""
    try:
        private_dir(runtime_base())
        private_dir(_records_dir())
    except (NotPrivate, OSError):
        return None
    path = _record_path(data_dir)
    path.write_text(json.dumps({"data_dir": str(data_dir.resolve()), "url": url,
                                "pid": os.getpid()}))
    return path


def running_clouds() -> list[dict]:
    """{"data_dir", "url"} of each cloud this user runs now."""
    found = []
    for path in sorted(_records_dir().glob("*.json")) if _records_dir().is_dir() else []:
        try:
            entry = json.loads(path.read_text())
            os.kill(int(entry["pid"]), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)   # that cloud stopped without saying so
            continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append({"data_dir": entry["data_dir"], "url": entry["url"]})
    return found


def is_running(data_dir: Path) -> bool:
    """Whether this user serves the cloud of ``data_dir`` now."""
    resolved = str(Path(data_dir).resolve())
    return any(cloud["data_dir"] == resolved for cloud in running_clouds())


def where_to_look(data_dir: Path) -> str:
    """What to tell a user whose command found no cloud in ``data_dir``."""
    lines = [f"no cloud was set up in {data_dir} (the data dir comes from --data-dir, "
             "else $STACKLET_DATA_DIR, else the default)."]
    others = [cloud for cloud in running_clouds() if Path(cloud["data_dir"]) != data_dir]
    for cloud in others:
        lines.append(f"A cloud is answering on {cloud['url']} with data dir "
                     f"{cloud['data_dir']}: add --data-dir {cloud['data_dir']}, or "
                     f"export STACKLET_DATA_DIR={cloud['data_dir']}")
    if not others:
        lines.append("Start one with `stacklet up` (add --data-dir DIR for another place).")
    return "\n".join(lines)
