"""Durable state for the local cloud: every acknowledged write survives kill -9.

moto stays the API layer and the in-memory state. This package adds a
write-ahead log with group commit (`wal.py`), per-service snapshots that
compact it (`snapshots.py`) and are written by a forked child while the
server goes on (`background.py`), the request classification that decides how a
write is made durable (`requests.py`) and the manager that recovers, logs,
snapshots and holds each response until its changes are on disk
(`manager.py`). The hooks that see moto's data writes are in
localcloud/moto_patches.py ("durability capture").
"""

from localcloud.durability.manager import DataDirError, Durability, active_for

__all__ = ["DataDirError", "Durability", "active_for"]
