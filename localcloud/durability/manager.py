"""Durable state for `python -m localcloud`: recovery on start, the log while serving, snapshots, clean stop.

Layout of `<data_dir>/state/`:
- `FORMAT`: the state format and the moto version that pickled it; written last when a
  data dir is created or migrated, so its absence means "nothing usable here yet";
- `snapshots/<service>.snap`: each moto service's backends (and the runners' positions,
  `checkpoints.snap`) as of an LSN, see `snapshots.py`;
- `wal/wal-<lsn>.log`: the write-ahead log, see `wal.py`;
- `s3-bodies/body-*`: S3 object bodies, one file each, named by the S3 snapshot.

While serving, one lock (`self.lock`) makes a state change and its log record one
step: the capture hooks (localcloud/moto_patches.py) hold it around moto's data
writes, checkpoint writes take it, and a snapshot takes it only to take its cut:
the LSN it covers up to, and a fork (background.py) whose child pickles that
copy-on-write image and writes the files while the server goes on answering
(as Redis's BGSAVE; a small service is pickled under the lock instead, quicker
than a fork). So a snapshot is a consistent cut at an LSN and a runner can
never read a change the log has not got (no phantom downstream of a lost
write). A request's response waits until its records are fsynced (`serve`).
Control-plane writes (CreateTable, CreatePipe, UpdateFunctionCode, ...) are
rare: the service is snapshotted before the response instead. Runner positions
go through the same log after the records they cover, so a durable prefix never
holds a position past its data. Retention trims of stream records
(localcloud/retention.py), CloudWatch data points and Logs events, and Athena's
execution records (localcloud/athena/history.py, in the same JSON store as the
positions) are log records too. The log is compacted by snapshotting every
service once it is larger than both `compact_bytes` and the last full snapshot
(so, as for Redis's AOF rewrite, snapshot work stays proportional to what was
written, and recovery never replays more log than the state itself), and on a
clean stop. The S3 snapshot names body files rather than holding the bytes
(localcloud/moto_patches.py, "S3 body files in snapshots").

Recovery loads every snapshot (all or nothing; S3 keys adopt the body files
they name), replays the log's intact prefix (a record of service S only if its
LSN is at or past S's snapshot), cuts a torn last record off, removes body files
no snapshot names, and reports what it restored and how long it took.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import pickle
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from localcloud import moto_patches, moto_state
from localcloud.durability import background, requests, snapshots, wal

log = logging.getLogger("localcloud.durability")

# 2: the S3 snapshot names each body file in state/s3-bodies/ (1: it held the bytes; still read,
# and FORMAT is rewritten as 2 on start: a version reading only 1 then refuses the data dir).
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHECKPOINTS = "checkpoints"  # the pseudo-service holding runner positions
DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024
# A service whose last snapshot was smaller is pickled under the lock (a control-plane write's
# snapshot): quicker than forking a large process. Larger ones, and compactions, are forked.
INLINE_SNAPSHOT_BYTES = 1024 * 1024
# Signing names whose moto backend has another name.
_BACKEND_OF = {"monitoring": "cloudwatch", "dynamodbstreams": "dynamodb"}

_active: dict[Path, Durability] = {}
_active_lock = threading.Lock()


class DataDirError(Exception):
    """The data dir cannot be loaded as it is; the message is one sentence for the user."""


class SnapshotFailed(Exception):
    """A snapshot could not be written; the message says why."""


def active_for(data_dir: str | Path) -> Durability | None:
    """The open Durability of this data dir in this process, if any (runners' checkpoints use it)."""
    with _active_lock:
        return _active.get(Path(data_dir).resolve())


class Durability:
    """The data dir's durable state; `open()` recovers it into moto, `close()` snapshots it."""

    def __init__(self, data_dir: str | Path, *, fsync: bool = True, compact_bytes: int = DEFAULT_COMPACT_BYTES):
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "state"
        self.snapshot_folder = self.folder / "snapshots"
        self.wal_folder = self.folder / "wal"
        self.fsync = fsync
        self.compact_bytes = compact_bytes
        self.lock = threading.RLock()
        self._compact_mutex = threading.Lock()  # one compaction at a time (other snapshots run alongside)
        self._install_lock = threading.Lock()  # installing snapshot files and recording their LSNs
        self._temp_names = itertools.count()
        self._cut_tickets = itertools.count(1)  # taken under `lock` with each snapshot's cut
        self._installed_ticket: dict[str, int] = {}  # the ticket of each service's installed snapshot
        self._moto_version = moto_state.moto_version()
        self._local = threading.local()
        self._checkpoints: dict[str, dict[str, Any]] = {}
        self._snapshot_lsn: dict[str, int] = {}
        self._snapshot_sizes: dict[str, int] = {}  # bytes of each service's installed snapshot
        self._synced_body_files: set[str] = set()  # S3 body files already fsynced for a snapshot
        self._log_bytes = 0  # appended since the last compaction
        self._snapshot_bytes = 0  # size of the last full set of snapshots
        self._wal: wal.WriteAheadLog | None = None
        self._stop = threading.Event()
        self._compactor: threading.Thread | None = None
        self.recovery: dict[str, Any] = {}

    # -- start -----------------------------------------------------------
    def open(self) -> dict[str, Any]:
        """Recover the data dir into moto and start logging; returns what was recovered."""
        started = time.monotonic()
        self.folder.mkdir(parents=True, exist_ok=True)
        migrated = False
        if not (self.folder / "FORMAT").exists():
            migrated = self._create_or_migrate()
        self._check_format()
        on_disk = moto_patches.s3_body_files_on_disk()
        loading = time.monotonic()
        loaded = self._load_snapshots()
        bodies = self._adopt_s3_body_files(on_disk)
        replaying = time.monotonic()
        replay = self._replay_log()
        replayed = time.monotonic()
        moto_patches.mark_stream_records_logged()
        moto_patches.continue_log_event_numbering()
        self._wal = wal.WriteAheadLog(self.wal_folder, replay["next_lsn"], fsync=self.fsync)
        self._first_lsn = replay["next_lsn"]
        self._log_bytes = replay["log_bytes"]  # a long log left by a crash is compacted soon
        moto_patches.install_durability_capture(self)
        with _active_lock:
            _active[self.data_dir.resolve()] = self
        self._stop.clear()
        self._compactor = threading.Thread(target=self._compact_loop, name="localcloud-compactor", daemon=True)
        self._compactor.start()
        if replay["damage"] and not replay["damage"].startswith("an incomplete"):
            self.compact("after replaying a damaged log")  # what was replayed must not depend on it again
        seconds = time.monotonic() - started
        self.recovery = {"seconds": round(seconds, 3), "snapshots": loaded, "migrated": migrated,
                         "s3_body_files": bodies, **replay}
        applied = ", ".join(f"{n} {s}" for s, n in sorted(replay["applied"].items())) or "none"
        self.recovery["load_seconds"] = round(replaying - loading, 3)
        self.recovery["replay_seconds"] = round(replayed - replaying, 3)
        log.info("recovered state from %s in %.2f s: snapshots of %d services (%s; %d S3 object bodies used "
                 "in place) in %.2f s, %d log records replayed (%s) in %.2f s, %d skipped for resources deleted "
                 "since%s", self.folder, seconds, len(loaded), ", ".join(sorted(loaded)) or "none",
                 bodies["adopted"], replaying - loading, sum(replay["applied"].values()), applied,
                 replayed - replaying, replay["skipped"], f"; {replay['damage']}" if replay["damage"] else "")
        return self.recovery

    def _create_or_migrate(self) -> bool:
        legacy_state = self.data_dir / "moto-state"
        legacy_checkpoints = self.data_dir / "checkpoints"
        has_legacy = legacy_state.is_dir() or any(legacy_checkpoints.glob("*.json"))
        if has_legacy:
            self._migrate(legacy_state, legacy_checkpoints)
        self._write_format()
        if has_legacy:
            for folder in (legacy_state, legacy_checkpoints):
                if folder.exists():
                    os.replace(folder, folder.with_name(folder.name + ".pre-wal"))
            log.info("migrated %s from the clean-stop snapshot format to the write-ahead log; the old files "
                     "are kept as moto-state.pre-wal and checkpoints.pre-wal", self.data_dir)
        return has_legacy

    def _migrate(self, legacy_state: Path, legacy_checkpoints: Path) -> None:
        """Load an older version's clean-stop pickles and checkpoint files, and write them as snapshots."""
        try:
            legacy = moto_state.read_legacy(self.data_dir)
        except ValueError as exc:
            raise DataDirError(
                f"The data dir {self.data_dir} was written by an older local cloud and cannot be migrated: "
                f"{exc}; start with an empty --data-dir (or delete {legacy_state}).") from None
        checkpoints: dict[str, dict[str, Any]] = {}
        for path in sorted(legacy_checkpoints.glob("*.json")):
            try:
                checkpoints[path.stem] = json.loads(path.read_text())
            except ValueError as exc:
                raise DataDirError(f"The data dir {self.data_dir} was written by an older local cloud and its "
                                   f"runner positions in {path} cannot be read ({exc}); start with an empty "
                                   f"--data-dir.") from None
        for service, state in legacy.items():
            moto_state.install(service, state)
        _clamp_positions(checkpoints)
        snapshot_folder = self.snapshot_folder
        for service in moto_state.SERVICES:
            snapshots.write(snapshot_folder, snapshots.Snapshot(service, 1, moto_state.moto_version(),
                                                                moto_state.dump_service(service)))
        snapshots.write(snapshot_folder, snapshots.Snapshot(CHECKPOINTS, 1, moto_state.moto_version(),
                                                            json.dumps(checkpoints).encode()))

    def _write_format(self) -> None:
        tmp = self.folder / "FORMAT.tmp"
        tmp.write_text(json.dumps({"format": FORMAT_VERSION, "moto": moto_state.moto_version()}) + "\n")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.folder / "FORMAT")

    def _check_format(self) -> None:
        try:
            found = json.loads((self.folder / "FORMAT").read_text())
            version, moto = int(found["format"]), str(found["moto"])
        except (ValueError, KeyError, TypeError):
            raise DataDirError(f"The data dir {self.data_dir} has an unreadable {self.folder / 'FORMAT'}; "
                               f"it was not written by this local cloud, use another --data-dir.") from None
        if version not in READABLE_FORMATS:
            raise DataDirError(f"The data dir {self.data_dir} holds state format {version} and this local cloud "
                               f"reads format {FORMAT_VERSION}: start it with the version that wrote it, or use "
                               f"another --data-dir.")
        if moto != moto_state.moto_version():
            raise DataDirError(f"The data dir {self.data_dir} holds state pickled by moto {moto} and this local "
                               f"cloud runs moto {moto_state.moto_version()}, which cannot load it reliably: start "
                               f"it with moto {moto}, or use another --data-dir.")
        if version != FORMAT_VERSION:
            self._write_format()

    def _load_snapshots(self) -> list[str]:
        """All snapshots or none: every file is read and unpickled before moto is touched."""
        try:
            found = snapshots.read_all(self.snapshot_folder) if self.snapshot_folder.exists() else {}
            bodies = {}
            for service, snap in found.items():
                if snap.moto != moto_state.moto_version():
                    raise snapshots.SnapshotError(f"{service}.snap was pickled by moto {snap.moto}")
                bodies[service] = json.loads(snap.body) if service == CHECKPOINTS else pickle.loads(snap.body)
        except Exception as exc:
            raise DataDirError(f"The data dir {self.data_dir} has a snapshot that cannot be loaded ({exc}); "
                               f"nothing was loaded: restore the data dir from a backup or use another "
                               f"--data-dir.") from None
        from localcloud import moto_patches

        for service, state in bodies.items():
            self._snapshot_lsn[service] = found[service].lsn
            self._snapshot_sizes[service] = len(found[service].body)
            self._snapshot_bytes += len(found[service].body)
            if service == CHECKPOINTS:
                self._checkpoints = state
                continue
            backends = moto_patches.service_backends(service)
            for account, regions in state.items():
                for region, backend in regions.items():
                    backends[account][region] = backend
        return sorted(bodies)

    def _adopt_s3_body_files(self, on_disk: set[str]) -> dict[str, int]:
        """The S3 snapshot names its keys' body files; they stay (pinned) until a newer snapshot
        drops them, and were fsynced before it was installed. Any other body file is left from
        a crash (an object written after the snapshot, which the log replays with its bytes)."""
        adopted = moto_patches.s3_body_files_adopted()
        moto_patches.pin_s3_body_files(adopted)
        self._synced_body_files = set(adopted)
        orphans = on_disk - adopted
        moto_patches.remove_s3_body_files(orphans)
        missing = adopted - on_disk
        if missing:
            log.error("%d S3 object bodies the snapshot names are missing from the data dir (e.g. %s); those "
                      "objects read as empty", len(missing), sorted(missing)[0])
        return {"adopted": len(adopted), "removed": len(orphans), "missing": len(missing)}

    def _replay_log(self) -> dict[str, Any]:
        self.wal_folder.mkdir(parents=True, exist_ok=True)
        result = wal.read_segments(self.wal_folder)
        applied: Counter[str] = Counter()
        skipped = 0
        for lsn, payload in result.records:
            service, change = pickle.loads(payload)
            if lsn < self._snapshot_lsn.get(service, 1):
                continue  # already in the snapshot
            if service == CHECKPOINTS:
                self._apply_checkpoint(change)
            elif not moto_patches.apply_logged_change(change):
                skipped += 1
                continue
            applied[service] += 1
        damage = None
        if result.damage and result.end is not None:
            path, offset = result.end
            if result.torn_tail:
                damage = f"an incomplete last log record was discarded ({result.damage})"
                log.info("write-ahead log: %s", damage)
            else:
                kept = path.with_name(path.name + f".damaged-{int(time.time())}")
                kept.write_bytes(path.read_bytes())
                damage = (f"the write-ahead log is damaged: {result.damage}; replay stopped there, "
                          f"the damaged file is kept as {kept.name}")
                log.error("%s", damage)
            wal.truncate(path, offset)
        for unread in result.unread_segments:
            os.replace(unread, unread.with_name(unread.name + ".unreplayed"))
            log.error("write-ahead log: %s was not replayed (it follows the damage) and is kept as %s.unreplayed",
                      unread.name, unread.name)
        next_lsn = max([result.last_lsn + 1, *self._snapshot_lsn.values()])
        if next_lsn > result.last_lsn + 1:
            # Only after a clean stop or a compaction: every remaining segment is older than every snapshot.
            for _, path in wal.list_segments(self.wal_folder):
                path.unlink()
        return {"next_lsn": next_lsn, "applied": dict(applied), "skipped": skipped, "damage": damage,
                "log_records": len(result.records), "log_bytes": sum(len(p) for _, p in result.records)}

    # -- while serving ------------------------------------------------------
    def log_change(self, service: str, change: tuple[Any, ...]) -> int:
        """Append one change to the log (the caller holds `self.lock`); the request waits for it."""
        assert self._wal is not None
        try:
            blob = pickle.dumps((service, change), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # weak indexes or lambda defaultdicts inside moto objects
            blob = moto_state.dumps((service, change))
        lsn = self._wal.append(blob, waited=getattr(self._local, "in_request", False))
        self._local.max_lsn = max(getattr(self._local, "max_lsn", 0), lsn)
        self._log_bytes += len(blob)
        return lsn

    def serve(self, environ: dict[str, Any], start_response: Any, app: Any,
              kind: requests.Kind | None = None) -> Any:
        """Answer a request through `app`, holding the response until its changes are durable.

        `kind`: the request's `requests.classify(environ)`, if the caller has it already."""
        kind = kind if kind is not None else requests.classify(environ)
        if kind.kind == requests.READ:
            return app(environ, start_response)
        statuses: list[str] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        self._local.max_lsn = 0
        self._local.in_request = True
        assert self._wal is not None
        self._wal.writer_enters()
        try:
            body = app(environ, recording_start_response)
        finally:
            self._local.in_request = False
            self._wal.writer_leaves()
        succeeded = bool(statuses) and statuses[-1][:1] in ("2", "3")
        if kind.kind == requests.SNAPSHOT and succeeded:
            service = _BACKEND_OF.get(kind.service or "", kind.service)
            if service in moto_state.SERVICES:
                try:
                    self.snapshot(service)
                except Exception as exc:  # the change is made; say loudly that it is not yet on disk
                    log.error("could not snapshot %s after %s (%s: %s): this change survives only a clean "
                              "stop until a snapshot succeeds", service, environ.get("HTTP_X_AMZ_TARGET")
                              or environ.get("PATH_INFO"), type(exc).__name__, exc)
        if self._local.max_lsn:
            assert self._wal is not None
            self._wal.wait_durable(self._local.max_lsn)
        return body

    # -- runner positions ------------------------------------------------------
    def checkpoint_get(self, store: str, key: str, default: Any = None) -> Any:
        with self.lock:
            value = self._checkpoints.get(store, {}).get(key, default)
            return json.loads(json.dumps(value)) if value is not default else default

    def checkpoint_put(self, store: str, key: str, value: Any) -> int:
        """Set one key (in memory and in the log); returns the record's LSN for `wait_durable`."""
        value = json.loads(json.dumps(value))  # JSON only, and no aliasing with the caller's dict
        with self.lock:
            self._checkpoints.setdefault(store, {})[key] = value
            return self.log_change(CHECKPOINTS, ("put", store, key, value))

    def checkpoint_delete(self, store: str, key: str) -> None:
        with self.lock:
            if self._checkpoints.get(store, {}).pop(key, None) is not None:
                self.log_change(CHECKPOINTS, ("delete", store, key, None))

    def checkpoint_items(self, store: str) -> dict[str, Any]:
        """Every key of `store` and its value (copies)."""
        with self.lock:
            return json.loads(json.dumps(self._checkpoints.get(store, {})))

    def wait_durable(self, lsn: int) -> None:
        """Return once the log record `lsn` (and every one before it) is on disk."""
        assert self._wal is not None
        self._wal.wait_durable(lsn)

    def _apply_checkpoint(self, change: tuple[Any, ...]) -> None:
        op, store, key, value = change
        if op == "put":
            self._checkpoints.setdefault(store, {})[key] = value
        else:
            self._checkpoints.get(store, {}).pop(key, None)

    # -- snapshots ------------------------------------------------------------
    def snapshot(self, service: str) -> None:
        """Write one service's snapshot now (durable when this returns); raises SnapshotFailed if it could not."""
        outcome = self._snapshot((service,))
        if service in outcome["failed"]:
            raise SnapshotFailed(outcome["failed"][service])

    def _snapshot(self, services: tuple[str, ...], *, roll: bool = False) -> dict[str, Any]:
        """Snapshot `services` as of one LSN (the cut) and install the new files; `roll`: start a
        new log segment at the cut (a compaction, whose older segments can then be dropped).

        The durability lock is held only to take the cut: a fork, or, for services whose last
        snapshot was small (under INLINE_SNAPSHOT_BYTES, quicker than a fork) or where fork is
        unavailable, the pickling itself. Pickling and writing happen in the forked child while
        the server goes on answering (see background.py). Returns {"failed": {service: why},
        "held": seconds the lock was held, "pid": the child's pid or None}."""
        assert self._wal is not None
        body_files: set[str] = set()
        dumps: dict[str, bytes] = {}
        failed: dict[str, str] = {}
        child = None
        failed_fork: OSError | None = None
        with self.lock:  # a consistent cut: no logged change is half-done at the fork (or while we pickle)
            held_from = time.monotonic()
            if roll:
                self._wal.roll()  # writes what is pending, so every record below the cut is durable
                self._log_bytes = 0
            cut = self._wal.next_lsn
            # Which snapshot is newer goes by when its cut was taken, not by LSN: a control-plane
            # change logs no record, so its snapshot can have the same LSN as an older one.
            ticket = next(self._cut_tickets)
            moto_patches.hold_s3_body_files()  # from here until installed: no body file is removed
            synced = self._synced_body_files
            if background.available() and (roll or any(
                    self._snapshot_sizes.get(s, 0) >= INLINE_SNAPSHOT_BYTES for s in services)):
                try:
                    child = background.start(lambda: self._write_snapshots(services, cut, synced))
                except OSError as exc:  # e.g. no memory to fork: pickle here, as a last resort
                    failed_fork = exc
            if child is None:
                for service in services:
                    try:
                        dumps[service] = self._dump(service, body_files)
                    except Exception as exc:  # e.g. a service moto cannot pickle: keep its log instead
                        failed[service] = f"{type(exc).__name__}: {exc}"
            held = time.monotonic() - held_from
        pins = None
        try:
            if child is not None:
                log.info("snapshot of %s at LSN %d is being written by process %d (writes were held %.0f ms)",
                         ", ".join(services) if len(services) < 4 else f"{len(services)} services", cut,
                         child.pid, held * 1000)
                try:
                    result = child.wait()
                except background.ChildFailed as exc:
                    result = {"temps": {}, "sizes": {}, "failed": {s: str(exc) for s in services},
                              "body_files": None}
            else:
                if failed_fork is not None:
                    log.warning("could not fork to write the snapshot (%s); it was written with writes held",
                                failed_fork)
                result = self._store(dumps, cut, body_files, synced)
            failed.update(result["failed"])
            # A snapshot must never show a change the log could still lose (a runner position in
            # it would then point past data a crash loses); a roll has already made this true.
            self._wal.wait_durable(cut - 1)
            with self._install_lock:
                temps = {s: Path(t) for s, t in result["temps"].items()}
                newer = {s: t for s, t in temps.items() if self._installed_ticket.get(s, 0) < ticket}
                for service in set(temps) - set(newer):  # a later snapshot of it was installed meanwhile
                    temps[service].unlink(missing_ok=True)
                if newer:
                    snapshots.install(newer, self.snapshot_folder)
                for service in newer:
                    self._installed_ticket[service] = ticket
                    self._snapshot_lsn[service] = cut
                    self._snapshot_sizes[service] = result["sizes"][service]
                if "s3" in newer and result["body_files"] is not None:
                    pins = set(result["body_files"])
                    self._synced_body_files = pins
        finally:
            moto_patches.release_s3_body_files(pins)
        return {"failed": failed, "held": held, "pid": None if child is None else child.pid}

    def _dump(self, service: str, body_files: set[str]) -> bytes:
        if service == CHECKPOINTS:
            return json.dumps(self._checkpoints).encode()
        # A set for every service: it picks the snapshot pickler (only S3's names matter).
        return moto_state.dump_service(service, body_files if service == "s3" else set())

    def _write_snapshots(self, services: tuple[str, ...], cut: int, synced: set[str]) -> dict[str, Any]:
        """In the forked child: pickle and write the snapshots' temp files (nothing here may log)."""
        body_files: set[str] = set()
        dumps: dict[str, bytes] = {}
        failed: dict[str, str] = {}
        for service in services:
            try:
                dumps[service] = self._dump(service, body_files)
            except Exception as exc:
                failed[service] = f"{type(exc).__name__}: {exc}"
        result = self._store(dumps, cut, body_files, synced)
        result["failed"].update(failed)
        return result

    def _store(self, dumps: dict[str, bytes], cut: int, body_files: set[str], synced: set[str]) -> dict[str, Any]:
        """Write each pickled service as a durable temp file, after the S3 body files it names."""
        failed: dict[str, str] = {}
        if "s3" in dumps:
            try:
                moto_patches.sync_s3_body_files(body_files - synced)  # once synced, a body file never changes
            except OSError as exc:
                failed["s3"] = f"a body file it names could not be synced ({exc})"
                dumps = {s: b for s, b in dumps.items() if s != "s3"}
        tag = f"{os.getpid()}-{next(self._temp_names)}"
        temps: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for service, body in dumps.items():
            try:
                tmp, _ = snapshots.write_temp(self.snapshot_folder,
                                              snapshots.Snapshot(service, cut, self._moto_version, body), tag)
            except OSError as exc:
                failed[service] = f"{type(exc).__name__}: {exc}"
                continue
            temps[service], sizes[service] = str(tmp), len(body)
        return {"temps": temps, "sizes": sizes, "failed": failed,
                "body_files": sorted(body_files) if "s3" in temps else None}

    def compact(self, reason: str) -> None:
        """Snapshot every service and drop the log segments the snapshots cover."""
        assert self._wal is not None
        started = time.monotonic()
        services = (*moto_state.SERVICES, CHECKPOINTS)
        with self._compact_mutex:
            outcome = self._snapshot(services, roll=True)
            for service, why in sorted(outcome["failed"].items()):
                log.warning("could not snapshot %s (%s); its changes stay in the log", service, why)
            covered = min(self._snapshot_lsn.get(s, 1) for s in services)
            dropped = self._wal.drop_segments_before(covered)
            self._snapshot_bytes = sum(self._snapshot_sizes.get(s, 0) for s in services)
        where = f"in process {outcome['pid']}" if outcome["pid"] else "with writes held"
        log.info("snapshot of every service (%s, %.0f MB) in %.2f s, written %s (writes were held %.0f ms); "
                 "%d log segment(s) dropped", reason, self._snapshot_bytes / 1e6, time.monotonic() - started,
                 where, outcome["held"] * 1000, dropped)

    def _compact_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                threshold = max(self.compact_bytes, self._snapshot_bytes)
                if self._log_bytes >= threshold:
                    self.compact(f"log passed {threshold / 1e6:.0f} MB")
            except Exception:
                log.exception("periodic snapshot failed; the log keeps every change meanwhile")

    # -- stop ------------------------------------------------------------------
    def close(self) -> None:
        """Snapshot everything and stop logging (a clean stop; nothing is left to replay)."""
        self._stop.set()
        if self._compactor is not None:
            self._compactor.join(timeout=60)
        if self._wal is None:
            return
        self.compact("clean stop")
        moto_patches.uninstall_durability_capture()
        self._wal.close()
        log.info("write-ahead log this run: %d records in %d fsyncs (%.1f MB), %.2f ms per fsync on average",
                 self._wal.next_lsn - self._first_lsn, self._wal.fsyncs, self._wal.bytes_written / 1e6,
                 1e3 * self._wal.fsync_seconds / max(1, self._wal.fsyncs))
        self._wal = None
        with _active_lock:
            _active.pop(self.data_dir.resolve(), None)

    def stats(self) -> dict[str, Any]:
        assert self._wal is not None
        return {"next_lsn": self._wal.next_lsn, "durable_lsn": self._wal.durable_lsn,
                "fsyncs": self._wal.fsyncs, "fsync_seconds": self._wal.fsync_seconds,
                "log_bytes": self._wal.bytes_written}


def _clamp_positions(checkpoints: dict[str, dict[str, Any]]) -> None:
    """An older version could restore an old snapshot while its checkpoint files pointed past it
    (a crash after an earlier clean stop). Such a position would skip every record written after
    the restart up to it, so it is moved back to the end of the restored stream, and logged."""
    for store, entries in checkpoints.items():
        for key, entry in entries.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("shards"), dict):
                continue
            for shard_id, position in list(entry["shards"].items()):
                field = "after" if isinstance(position, dict) else None
                raw = position.get("after") if isinstance(position, dict) else position
                try:
                    seq = int(raw)
                except (TypeError, ValueError):
                    continue
                end = moto_patches.stream_last_sequence(str(entry.get("stream", "")), shard_id)
                if end is not None and seq > end:
                    log.warning("migration: %s position %s of %s shard %s pointed past the end of its stream "
                                "(%s); moved back to %s so no new record is skipped", store, seq, key, shard_id,
                                end, end)
                    if field:
                        position[field] = str(end)
                    else:
                        entry["shards"][shard_id] = str(end)
