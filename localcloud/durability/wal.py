"""The write-ahead log: framed, checksummed records in numbered segment files, made durable by group commit.

A frame is `length (u32) | crc32 (u32) | lsn (u64) | payload`, little-endian;
the CRC covers the LSN and the payload, so a frame torn by a crash (short, or
zero-filled by the file system) never passes for a record. LSNs count records
from 1 and are contiguous across segments; a segment is named after the first
LSN it may hold (`wal-00000000000000000001.log`). Segments are created full
size and zero-filled (and fsynced) before use, so a commit overwrites
allocated blocks and its `fdatasync` need not journal a new file size: on
ext4 that halves the cost of an fsync. Zeros after the last frame are the
segment's unused end. A spare segment is prepared in the background, so
moving to the next segment does not stall a commit.

Writers call `append()` under the caller's lock: it only assigns the next LSN
and adds the frame to an in-memory batch, so it costs microseconds.
`wait_durable(lsn)` returns once that LSN is on disk: a request's response is
held on it, so nothing is acknowledged before it would survive a crash.
Group commit is leader/follower: a waiter that finds no commit running becomes
the leader, takes every pending frame, writes them and `fdatasync`s once; a
writer that arrives while that fsync runs sleeps until it ends, and the first
one woken then leads the next batch with everything that arrived meanwhile.
The leader is a request thread (no hand-off to a committer thread) and holds
no state lock while it writes. Before taking its batch, a leader waits up to
`commit_delay` for the writers still inside their request (`writer_enters` /
`writer_leaves`, told by the caller), woken as each one leaves rather than by
polling, so one fsync covers them too (PostgreSQL's commit_delay and
commit_siblings): on a loaded machine an fsync's wall time is mostly the
scheduler's, so fewer fsyncs per write is what keeps throughput up.
A background thread commits records nobody waits for (runner positions)
within a few ms.

Reading (`read_segments`) stops at the first frame that is short, fails its
CRC or breaks the LSN sequence; what follows it is never replayed.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("localcloud.durability")

HEADER = struct.Struct("<IIQ")  # payload length, crc32(lsn + payload), lsn
_LSN = struct.Struct("<Q")
MAX_RECORD = 1 << 30  # a length beyond this is damage, not a record
SEGMENT_BYTES = 16 * 1024 * 1024
_ZERO_HEADER = bytes(HEADER.size)


def frame(lsn: int, payload: bytes) -> bytes:
    lsn_bytes = _LSN.pack(lsn)
    return HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(lsn_bytes)), lsn) + payload


def segment_name(first_lsn: int) -> str:
    return f"wal-{first_lsn:020d}.log"


def list_segments(folder: Path) -> list[tuple[int, Path]]:
    """(first LSN, path) of every segment, oldest first."""
    found = []
    for path in folder.glob("wal-*.log"):
        try:
            found.append((int(path.stem[4:]), path))
        except ValueError:
            continue
    return sorted(found)


@dataclass
class ReadResult:
    """What a read of the log found: the records, and where and why it stopped."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    last_lsn: int = 0
    # Where valid data ends: (segment path, byte offset); None when the log is empty.
    end: tuple[Path, int] | None = None
    damage: str | None = None  # why reading stopped before the end of the last segment
    torn_tail: bool = False  # the only damage is an incomplete last frame (a crash mid-write)
    unread_segments: list[Path] = field(default_factory=list)  # after the damage, never replayed


def read_segments(folder: Path, after_lsn: int = 0) -> ReadResult:
    """Every intact record with LSN > after_lsn, in order, up to the first damaged frame."""
    result = ReadResult()
    segments = list_segments(folder)
    expected: int | None = None
    for index, (first_lsn, path) in enumerate(segments):
        data = path.read_bytes()
        offset = 0
        if expected is not None and first_lsn != expected:
            result.damage = f"{path.name} starts at LSN {first_lsn}, expected {expected}"
            result.unread_segments = [p for _, p in segments[index:]]
            return result
        expected = first_lsn
        while offset < len(data):
            problem = None
            if data[offset:offset + HEADER.size] == _ZERO_HEADER and not data[offset:].strip(b"\0"):
                break  # the segment's unused, zero-filled end
            if len(data) - offset < HEADER.size:
                problem = "an incomplete frame header"
            else:
                length, crc, lsn = HEADER.unpack_from(data, offset)
                body_end = offset + HEADER.size + length
                if length > MAX_RECORD or body_end > len(data):
                    problem = "a frame longer than the rest of the file"
                else:
                    payload = data[offset + HEADER.size:body_end]
                    if zlib.crc32(payload, zlib.crc32(_LSN.pack(lsn))) != crc:
                        problem = "a CRC mismatch"
                    elif lsn != expected:
                        problem = f"LSN {lsn} where {expected} was expected"
            if problem is not None:
                last_segment = index == len(segments) - 1
                # A crash leaves at most the last, unfinished write: a short frame, or a last frame
                # with a bad CRC (only zeros after it), or zeros where data had not reached the disk.
                short = problem in ("an incomplete frame header", "a frame longer than the rest of the file")
                last_bad_crc = problem == "a CRC mismatch" and not data[body_end:].strip(b"\0")
                zeros = not data[offset:].strip(b"\0")
                result.torn_tail = last_segment and (short or last_bad_crc or zeros)
                result.damage = f"{problem} in {path.name} at byte {offset} (after LSN {result.last_lsn})"
                result.end = (path, offset)
                result.unread_segments = [p for _, p in segments[index + 1:]]
                return result
            if lsn > after_lsn:
                result.records.append((lsn, payload))
            result.last_lsn = lsn
            expected = lsn + 1
            offset = body_end
        result.end = (path, offset)
    return result


class WriteAheadLog:
    """Appends records and makes them durable in batches; one instance owns the segment folder."""

    def __init__(self, folder: Path, next_lsn: int, fsync: bool = True, segment_bytes: int = SEGMENT_BYTES,
                 commit_delay: float = 0.002):
        """Continue the log at `next_lsn` in a new segment (recovery has cut older ones at their valid end)."""
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self._spare = folder / "spare.tmp"
        self._spare_ready = threading.Event()
        self._spare_wanted = threading.Event()
        self._next_lsn = next_lsn
        self._durable_lsn = next_lsn - 1
        self._pending: list[bytes] = []
        self._pending_first_lsn = next_lsn
        self._pending_last_lsn = next_lsn - 1
        self._unwaited = False  # a record nobody will wait for is pending: the background thread commits it
        self._committing = False  # a leader is writing and fsyncing a batch; others wait for it to end
        self.commit_delay = commit_delay
        self._writers_inside = 0  # requests still being answered: they may append a record any moment
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        self._writer_left = threading.Condition(lock)  # only a gathering leader waits on it
        self._io_lock = threading.Lock()  # the file being written; rolling swaps it
        self._closed = False
        self._failure: BaseException | None = None
        self.bytes_written = 0
        self.fsyncs = 0
        self.fsync_seconds = 0.0  # time spent in fdatasync (the disk's share of a durable write's latency)
        self._spare.unlink(missing_ok=True)  # possibly half-written by a crash
        self._open(next_lsn, segment_bytes)
        self._committer = threading.Thread(target=self._commit_loop, name="localcloud-wal", daemon=True)
        self._committer.start()
        self._spare_maker = threading.Thread(target=self._spare_loop, name="localcloud-wal-spare", daemon=True)
        self._spare_maker.start()
        self._spare_wanted.set()

    def _open(self, first_lsn: int, size: int) -> None:
        """Make a zero-filled segment named after `first_lsn` the one being written."""
        path = self.folder / segment_name(first_lsn)
        if size <= self.segment_bytes and self._spare_ready.is_set():
            self._spare_ready.clear()
            os.replace(self._spare, path)  # no record can be in a segment named for an LSN not yet written
        else:
            _zero_file(path, max(size, self.segment_bytes))
        _fsync_dir(self.folder)
        self._spare_wanted.set()
        self._path = path
        self._fd = os.open(path, os.O_WRONLY)
        self._size = os.fstat(self._fd).st_size
        self._offset = 0

    def _spare_loop(self) -> None:
        while not self._closed:
            self._spare_wanted.wait()
            self._spare_wanted.clear()
            if self._closed or self._spare_ready.is_set():
                continue
            try:
                _zero_file(self._spare, self.segment_bytes)
                self._spare_ready.set()
            except OSError as exc:  # then segments are zero-filled when needed instead
                log.warning("could not prepare a spare log segment: %s", exc)

    # -- writers ---------------------------------------------------------
    @property
    def next_lsn(self) -> int:
        return self._next_lsn

    @property
    def durable_lsn(self) -> int:
        return self._durable_lsn

    def writer_enters(self) -> None:
        """A write request started: a leader gives it up to `commit_delay` to append its record."""
        with self._cond:
            self._writers_inside += 1

    def writer_leaves(self) -> None:
        with self._cond:
            self._writers_inside -= 1
            self._writer_left.notify()

    def append(self, payload: bytes, waited: bool = False) -> int:
        """Queue one record; returns its LSN. Callers serialise appends with their state changes.

        `waited`: the caller will `wait_durable` for it (and so lead a commit); otherwise the
        background thread commits it within a few milliseconds."""
        with self._cond:
            if self._failure is not None:
                raise OSError(f"the write-ahead log failed earlier: {self._failure}")
            lsn = self._next_lsn
            self._next_lsn += 1
            if not self._pending:
                self._pending_first_lsn = lsn
            self._pending.append(frame(lsn, payload))
            self._pending_last_lsn = lsn
            if not waited:
                self._unwaited = True
                self._cond.notify_all()
        return lsn

    def wait_durable(self, lsn: int, timeout: float | None = None) -> None:
        """Return once every record up to `lsn` is on disk; raises if the log cannot write."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                while True:
                    if self._durable_lsn >= lsn:
                        return
                    if self._failure is not None:
                        raise OSError(f"the write-ahead log could not write: {self._failure}")
                    if not self._committing:
                        self._committing = True  # lead the next commit
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(f"LSN {lsn} not durable within {timeout} s")
                    self._cond.wait(remaining)  # the running commit's end wakes us
            self._lead_commit()

    def flush(self) -> None:
        """Make everything appended so far durable."""
        self.wait_durable(self._next_lsn - 1)

    def roll(self) -> int:
        """Start a new segment; returns its first LSN (every earlier record is in older segments)."""
        with self._io_lock:
            with self._cond:
                first_new = self._next_lsn
            self._commit_pending()
            os.close(self._fd)
            self._open(first_new, self.segment_bytes)
        return first_new

    def drop_segments_before(self, lsn: int) -> int:
        """Delete segments holding only records below `lsn` (covered by snapshots); returns how many."""
        segments = list_segments(self.folder)
        dropped = 0
        for (first, path), (next_first, _) in zip(segments, segments[1:]):
            if next_first <= lsn and path != self._path:
                path.unlink(missing_ok=True)
                dropped += 1
        if dropped:
            _fsync_dir(self.folder)
        return dropped

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._spare_wanted.set()
        self._committer.join(timeout=30)
        self._spare_maker.join(timeout=30)
        with self._io_lock:
            self._commit_pending()
            os.close(self._fd)
        self._spare.unlink(missing_ok=True)

    # -- committing ---------------------------------------------------------
    def _lead_commit(self) -> None:
        """Commit every pending frame as the leader (`_committing` is set), then let the next leader go."""
        if self.commit_delay > 0:
            with self._cond:
                deadline = time.monotonic() + self.commit_delay
                while self._writers_inside > 0:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._writer_left.wait(remaining)
        try:
            with self._io_lock:  # roll() and close() write under it too
                self._commit_pending()
        except BaseException:
            pass  # _commit_pending recorded the failure; every waiter raises it
        finally:
            with self._cond:
                self._committing = False
                self._cond.notify_all()

    def _commit_pending(self) -> None:
        """Write and fsync every pending frame, then publish them as durable (the caller holds `_io_lock`).

        The batch is taken only now, so it holds every record appended up to the last moment."""
        with self._cond:
            batch, self._pending = self._pending, []
            first, last = self._pending_first_lsn, self._pending_last_lsn
        try:
            self._write(batch, first, last)
        except BaseException as exc:  # a full disk: fail every waiter rather than acknowledge
            log.error("write-ahead log write failed: %s; writes are refused from now on", exc)
            with self._cond:
                self._failure = exc
                self._cond.notify_all()
            raise
        if batch:
            with self._cond:
                self._durable_lsn = max(self._durable_lsn, last)
                self._cond.notify_all()

    def _commit_loop(self) -> None:
        """Commit what no request waits for; requests lead their own commits, so give them first go."""
        while True:
            with self._cond:
                while not self._unwaited and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return  # close() writes what is left
            time.sleep(0.002)
            with self._cond:
                while self._committing and not self._closed:
                    self._cond.wait()
                if self._closed or self._failure is not None:
                    return
                self._unwaited = False
                if not self._pending:
                    continue  # a request's commit took it
                self._committing = True
            self._lead_commit()

    def _write(self, batch: list[bytes], first_lsn: int, last_lsn: int) -> None:
        """Write one batch of frames (first_lsn..last_lsn) and fsync it; the caller holds `_io_lock`."""
        if not batch:
            return
        data = b"".join(batch)
        if self._offset + len(data) > self._size:  # the segment is full: the batch starts the next one
            os.close(self._fd)
            self._open(first_lsn, len(data))
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._offset)
            view = view[written:]
            self._offset += written
        if self.fsync:
            started = time.perf_counter()
            os.fdatasync(self._fd)  # the segment is preallocated: no size change for the journal to commit
            self.fsync_seconds += time.perf_counter() - started
        self.bytes_written += len(data)
        self.fsyncs += 1


def _zero_file(path: Path, size: int) -> None:
    """Create `path` as `size` zero bytes, written and fsynced (so later writes change no metadata)."""
    tmp = path.with_name(path.name + ".zeroing")
    chunk = bytes(1024 * 1024)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        remaining = size
        while remaining > 0:
            remaining -= os.write(fd, chunk[:min(len(chunk), remaining)])
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def truncate(path: Path, offset: int) -> None:
    """Cut a segment back to its valid end, durably."""
    with open(path, "r+b") as handle:
        handle.truncate(offset)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

