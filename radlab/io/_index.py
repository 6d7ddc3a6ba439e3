"""A persistent cache of image headers, so reopening a large cohort reads no files twice.

Each entry is keyed by path and invalidated by the file's size and modification time (for a DICOM
folder: the folder's). The cache lives in ``$RADLAB_CACHE`` (default ``~/.cache/radlab``).
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import os
import threading
from pathlib import Path

from radlab.io._readers import Header, read_header

__all__ = ["HeaderIndex", "cache_dir"]


def cache_dir() -> Path:
    return Path(os.environ.get("RADLAB_CACHE", Path.home() / ".cache" / "radlab"))


def _stamp(path: str) -> list[float]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


class HeaderIndex:
    """Headers of the files under one root, cached on disk."""

    def __init__(self, root: str | Path, *, save_every: int = 256):
        digest = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:16]
        self.path = cache_dir() / "headers" / f"{digest}.json"
        self._entries: dict[str, dict] | None = None
        self._dirty = 0
        self._save_every = save_every
        self._lock = threading.RLock()  # get() saves while holding it
        atexit.register(self.save)

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            try:
                self._entries = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def get(self, path: str, fmt: str) -> Header:
        entries = self._load()
        stamp = _stamp(path)
        entry = entries.get(path)
        if entry is not None and entry["stamp"] == stamp and entry["header"]["format"] == fmt:
            h = entry["header"]
            return Header(**{**h, "shape": tuple(h["shape"]), "spacing": tuple(h["spacing"]),
                             "origin": tuple(h["origin"]), "direction": tuple(h["direction"]),
                             "files": tuple(h["files"])})
        header = read_header(path, fmt)
        with self._lock:
            entries[path] = {"stamp": stamp, "header": dataclasses.asdict(header)}
            self._dirty += 1
            if self._dirty >= self._save_every:
                self.save()
        return header

    def save(self) -> None:
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self._entries, default=str))
                tmp.replace(self.path)
                self._dirty = 0
            except OSError:  # a read-only cache only costs speed
                pass
