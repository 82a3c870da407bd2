"""The Fernet key repository: numbered key files, rotated as Keystone rotates them.

Key ``0`` is the staged key (the next primary, already accepted so a rotation
on one host never invalidates tokens issued by another); the highest number
is the primary key that signs new tokens; the others are secondary keys that
still validate older tokens until they are pruned.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class KeyRepository:
    # How often a running process looks for keys rotated by another process.
    RELOAD_INTERVAL = 1.0

    def __init__(self, path: Path, max_active_keys: int = 3):
        if max_active_keys < 2:
            raise ValueError("max_active_keys must be at least 2 (staged and primary)")
        self.path = path
        self.max_active_keys = max_active_keys
        self._lock = threading.Lock()
        self._fernet: MultiFernet | None = None
        self._loaded_mtime = None
        self._checked_at = 0.0
        # Counts key set reloads, so a cache of validated tokens can tell that
        # keys were pruned since it validated a token.
        self.generation = 0

    def initialize(self) -> None:
        """Create the repository with a staged and a primary key if it is empty."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._key_numbers():
            self._write_key(0)
            self.rotate()

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new key, prune the oldest.

        Returns the number of the new primary key.
        """
        numbers = self._key_numbers()
        if 0 not in numbers:
            self._write_key(0)
            numbers = self._key_numbers()
        new_primary = max(numbers) + 1
        os.replace(self.path / "0", self.path / str(new_primary))
        self._write_key(0)
        survivors = sorted(n for n in self._key_numbers() if n != 0)
        for number in survivors[:-(self.max_active_keys - 1)]:
            (self.path / str(number)).unlink()
        self._fernet = None
        return new_primary

    def fernet(self) -> MultiFernet:
        """The keys as a MultiFernet, primary first; reloaded when the files change."""
        now = time.monotonic()
        if self._fernet is not None and now - self._checked_at < self.RELOAD_INTERVAL:
            return self._fernet
        with self._lock:
            mtime = self.path.stat().st_mtime_ns
            if self._fernet is None or mtime != self._loaded_mtime:
                numbers = sorted(self._key_numbers(), reverse=True)
                # Primary (highest) first, staged key 0 last.
                ordered = [n for n in numbers if n != 0] + ([0] if 0 in numbers else [])
                self._fernet = MultiFernet(
                    [Fernet((self.path / str(n)).read_bytes().strip()) for n in ordered])
                self._loaded_mtime = mtime
                self.generation += 1
            self._checked_at = now
            return self._fernet

    def _key_numbers(self) -> list[int]:
        if not self.path.exists():
            return []
        return [int(p.name) for p in self.path.iterdir() if p.name.isdigit()]

    def _write_key(self, number: int) -> None:
        temporary = self.path / f".{number}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
        os.replace(temporary, self.path / str(number))
