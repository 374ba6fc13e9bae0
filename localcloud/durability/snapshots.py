"""Snapshot files: one service's whole state as of one WAL position, replaced atomically.

A snapshot is written to a temp file, fsynced, renamed over the previous one
and the folder fsynced, so at any moment the file on disk is a complete
snapshot, old or new. Its header says which service, which LSN it covers
(records below it are in it; the log replays the rest), the moto version that
pickled it, and a CRC of the body, so damage is found before anything is loaded.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"LOCALCLOUD-SNAPSHOT 1\n"


class SnapshotError(Exception):
    """A snapshot file that cannot be trusted (damaged, or written by something else)."""


@dataclass
class Snapshot:
    service: str
    lsn: int  # the first LSN *not* reflected in the body
    moto: str
    body: bytes


def path_for(folder: Path, service: str) -> Path:
    return folder / f"{service}.snap"


def write(folder: Path, snapshot: Snapshot) -> int:
    """Replace the service's snapshot durably; returns the bytes written."""
    tmp, size = write_temp(folder, snapshot, "tmp")
    install({snapshot.service: tmp}, folder)
    return size


def write_temp(folder: Path, snapshot: Snapshot, tag: str) -> tuple[Path, int]:
    """Write and fsync the snapshot as `<service>.<tag>.tmp` (not yet in effect); returns (path, bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"service": snapshot.service, "lsn": snapshot.lsn, "moto": snapshot.moto,
                         "size": len(snapshot.body), "crc32": zlib.crc32(snapshot.body)}).encode()
    tmp = folder / f"{snapshot.service}.{tag}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(MAGIC)
        handle.write(header + b"\n")
        handle.write(snapshot.body)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp, len(MAGIC) + len(header) + 1 + len(snapshot.body)


def install(temps: dict[str, Path], folder: Path) -> None:
    """Rename each service's temp file over its snapshot, then fsync the folder once."""
    for service, tmp in temps.items():
        os.replace(tmp, path_for(folder, service))
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> Snapshot:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise SnapshotError(f"{path.name} is not a local cloud snapshot")
    try:
        newline = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC):newline])
        body = data[newline + 1:]
        if len(body) != header["size"] or zlib.crc32(body) != header["crc32"]:
            raise SnapshotError(f"{path.name} is damaged (size or CRC does not match its header)")
        return Snapshot(header["service"], int(header["lsn"]), str(header["moto"]), body)
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{path.name} has an unreadable header ({exc})") from None


def read_all(folder: Path) -> dict[str, Snapshot]:
    """Every snapshot in the folder by service; leftover temp files (a crash mid-write) are removed."""
    for tmp in folder.glob("*.tmp"):
        tmp.unlink(missing_ok=True)
    return {snap.service: snap for snap in (read(p) for p in sorted(folder.glob("*.snap")))}
