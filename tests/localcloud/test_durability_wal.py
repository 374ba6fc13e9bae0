"""The write-ahead log and recovery from it, on real files: torn tails, CRC damage, group commit, formats."""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
from pathlib import Path

import pytest

from localcloud import moto_state
from localcloud.durability import DataDirError, Durability, wal


def _payload(n: int) -> bytes:
    return f"record {n}".encode() * 10


def _write_log(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / wal.segment_name(1)
    path.write_bytes(b"".join(wal.frame(n, _payload(n)) for n in range(1, count + 1)))
    return path


def test_a_log_reads_back_every_record_in_order(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path, next_lsn=1)
    lsns = [log.append(_payload(n)) for n in range(1, 6)]
    log.flush()
    log.close()
    result = wal.read_segments(tmp_path)
    assert lsns == [1, 2, 3, 4, 5]
    assert result.records == [(n, _payload(n)) for n in range(1, 6)]
    assert result.damage is None


@pytest.mark.parametrize("cut", [3, wal.HEADER.size + 5])
def test_a_torn_last_record_is_ignored(tmp_path: Path, cut: int) -> None:
    path = _write_log(tmp_path, 3)
    torn = wal.frame(4, _payload(4))[:cut]  # a crash in the middle of writing record 4
    path.write_bytes(path.read_bytes() + torn)
    result = wal.read_segments(tmp_path)
    assert [lsn for lsn, _ in result.records] == [1, 2, 3]
    assert result.torn_tail
    assert result.end == (path, len(path.read_bytes()) - len(torn))


def test_zeros_after_the_last_record_are_the_unused_end_of_a_preallocated_segment(tmp_path: Path) -> None:
    path = _write_log(tmp_path, 2)
    path.write_bytes(path.read_bytes() + b"\0" * 4096)
    result = wal.read_segments(tmp_path)
    assert [lsn for lsn, _ in result.records] == [1, 2]
    assert result.damage is None


def test_a_record_torn_inside_a_preallocated_segment_is_a_torn_tail(tmp_path: Path) -> None:
    path = _write_log(tmp_path, 2)
    torn = bytearray(wal.frame(3, _payload(3)))
    torn[-10:] = bytes(10)  # the end of record 3 never reached the disk: zeros, as preallocated
    path.write_bytes(path.read_bytes() + bytes(torn) + b"\0" * 4096)
    result = wal.read_segments(tmp_path)
    assert [lsn for lsn, _ in result.records] == [1, 2]
    assert result.torn_tail


def test_segments_roll_over_when_full_and_read_back_in_order(tmp_path: Path) -> None:
    log = wal.WriteAheadLog(tmp_path, next_lsn=1, segment_bytes=4096)
    for n in range(1, 101):
        log.wait_durable(log.append(_payload(n)))
    log.close()
    assert len(wal.list_segments(tmp_path)) > 1
    assert wal.read_segments(tmp_path).records == [(n, _payload(n)) for n in range(1, 101)]


def test_a_crc_mismatch_stops_replay_at_that_record(tmp_path: Path) -> None:
    path = _write_log(tmp_path, 5)
    data = bytearray(path.read_bytes())
    third = 2 * (wal.HEADER.size + len(_payload(1)))  # all payloads here have the same length
    data[third + wal.HEADER.size + 3] ^= 0xFF  # one flipped bit inside record 3's payload
    path.write_bytes(bytes(data))
    result = wal.read_segments(tmp_path)
    assert [lsn for lsn, _ in result.records] == [1, 2], "nothing at or after the damage is replayed"
    assert not result.torn_tail
    assert "CRC mismatch" in (result.damage or "")


def test_group_commit_acknowledges_only_after_the_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiter returns only once fdatasync has returned for its record; records that arrive
    while one fsync runs share the next one."""
    release = threading.Event()
    entered = threading.Event()
    calls: list[int] = []
    real_fdatasync = os.fdatasync

    def slow_fdatasync(fd: int) -> None:
        calls.append(fd)
        entered.set()
        release.wait(10)  # the disk is slow: hold the fsync until the test says so
        real_fdatasync(fd)

    monkeypatch.setattr(wal.os, "fdatasync", slow_fdatasync)
    log = wal.WriteAheadLog(tmp_path, next_lsn=1)
    first = log.append(b"first")
    assert entered.wait(10), "the committer started an fsync"
    acked: list[int] = []
    waiters = []
    for _ in range(3):
        lsn = log.append(b"more")  # arrives while the first fsync runs
        waiter = threading.Thread(target=lambda n=lsn: (log.wait_durable(n), acked.append(n)))
        waiter.start()
        waiters.append(waiter)
    first_waiter = threading.Thread(target=lambda: (log.wait_durable(first), acked.append(first)))
    first_waiter.start()
    first_waiter.join(0.5)
    assert acked == [] and log.durable_lsn == 0, "nothing is acknowledged while its fsync has not returned"
    release.set()
    for thread in [first_waiter, *waiters]:
        thread.join(10)
    assert sorted(acked) == [1, 2, 3, 4]
    assert len(calls) == 2, "the three records that arrived during the first fsync shared one"
    log.close()
    assert [lsn for lsn, _ in wal.read_segments(tmp_path).records] == [1, 2, 3, 4]


def _logged_checkpoint(n: int) -> bytes:
    return pickle.dumps(("checkpoints", ("put", "pipes", "position", n)))


def test_recovery_replays_up_to_a_damaged_record_says_so_and_keeps_appending(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "state" / "wal"
    folder.mkdir(parents=True)
    path = folder / wal.segment_name(1)
    frames = [wal.frame(n, _logged_checkpoint(n)) for n in range(1, 5)]
    damaged = bytearray(frames[2])
    damaged[-1] ^= 0x01
    path.write_bytes(frames[0] + frames[1] + bytes(damaged) + frames[3])
    caplog.set_level(logging.INFO, logger="localcloud.durability")
    durability = Durability(tmp_path)
    durability.open()
    try:
        assert durability.checkpoint_get("pipes", "position") == 2, "replay stopped before the damaged record"
        assert any("CRC mismatch" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
        assert list(folder.glob("*.damaged-*")), "the damaged log is kept for inspection"
        durability.checkpoint_put("pipes", "position", 7)
    finally:
        durability.close()
    again = Durability(tmp_path)
    again.open()
    try:
        assert again.checkpoint_get("pipes", "position") == 7
    finally:
        again.close()


def test_a_data_dir_pickled_by_another_moto_is_refused_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "FORMAT").write_text(json.dumps({"format": 1, "moto": "4.0.0"}))
    with pytest.raises(DataDirError) as refused:
        Durability(tmp_path).open()
    message = str(refused.value)
    assert "moto 4.0.0" in message and moto_state.moto_version() in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_data_dir_from_the_clean_stop_version_is_migrated_with_positions_kept(tmp_path: Path) -> None:
    legacy = tmp_path / "checkpoints"
    legacy.mkdir()
    (legacy / "firehose.json").write_text(json.dumps({"stream-key": {"stream": "arn:x", "shards": {}}}))
    (tmp_path / "moto-state").mkdir()
    durability = Durability(tmp_path)
    recovered = durability.open()
    try:
        assert recovered["migrated"]
        assert durability.checkpoint_get("firehose", "stream-key") == {"stream": "arn:x", "shards": {}}
        assert (tmp_path / "checkpoints.pre-wal" / "firehose.json").exists()
        assert not legacy.exists()
    finally:
        durability.close()


def test_an_old_format_pickle_from_another_moto_is_refused_not_half_loaded(tmp_path: Path) -> None:
    folder = tmp_path / "moto-state"
    folder.mkdir()
    (folder / "kinesis.pickle").write_bytes(pickle.dumps({"moto": "4.0.0", "state": {}}))
    with pytest.raises(DataDirError, match="cannot be migrated"):
        Durability(tmp_path).open()
    assert not (tmp_path / "state" / "FORMAT").exists(), "nothing half-written that a restart would trust"
    assert (folder / "kinesis.pickle").exists()


def test_a_damaged_snapshot_refuses_the_start_and_loads_nothing(tmp_path: Path) -> None:
    durability = Durability(tmp_path)
    durability.open()
    durability.checkpoint_put("pipes", "position", 1)
    durability.close()  # a clean stop: every service snapshotted
    snapshot = tmp_path / "state" / "snapshots" / "checkpoints.snap"
    data = bytearray(snapshot.read_bytes())
    data[-2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    with pytest.raises(DataDirError, match="cannot be loaded.*nothing was loaded"):
        Durability(tmp_path).open()
