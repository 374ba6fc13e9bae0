"""Counters of a generator run, shared between the writing loop, the CLI and the status file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

INSERT = "insert"
UPDATE = "update"
DELETE = "delete"


@dataclass
class GeneratorStats:
    """What a run has done so far. Only acknowledged writes are counted as written."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error code -> operations lost to it
    transient_retries: int = 0
    started_at: float | None = None  # epoch seconds
    last_write_at: float | None = None  # epoch seconds of the last acknowledged write
    elapsed_s: float = 0.0
    last_error: str | None = None  # one sentence: the latest problem, transient or not

    @property
    def written(self) -> int:
        return self.inserts + self.updates + self.deletes

    @property
    def achieved_rate_per_s(self) -> float:
        return self.written / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def by_kind(self) -> dict[str, int]:
        return {INSERT: self.inserts, UPDATE: self.updates, DELETE: self.deletes}

    def count(self, kind: str) -> None:
        setattr(self, kind + "s", getattr(self, kind + "s") + 1)

    def summary(self) -> str:
        errors = sum(self.errors.values())
        return (
            f"{self.written} written ({self.inserts} inserts, {self.updates} updates, {self.deletes} deletes), "
            f"{errors} errors, {self.transient_retries} transient retries, "
            f"{self.achieved_rate_per_s:.2f}/s over {self.elapsed_s:.1f} s"
        )

    def copy(self) -> GeneratorStats:
        return dataclasses.replace(self, errors=dict(self.errors))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["written"] = self.written
        data["achieved_rate_per_s"] = self.achieved_rate_per_s
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorStats:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
