"""What a generator run should do: rate, mix of operations, bound, seed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from salescdc.errors import ConfigError

DEFAULT_RATE_PER_S = 1 / 3  # the tutorial's one order every 3 seconds
MAX_RATE_PER_S = 2000.0


@dataclass(frozen=True)
class GeneratorOptions:
    """Options of one run; invalid values raise ConfigError with one readable sentence.

    rate_per_s     operations per second (inserts, updates and deletes together)
    update_share   share of operations that update an order this run wrote and that still exists
    delete_share   share of operations that delete such an order
    count          stop after this many acknowledged operations (None: no bound)
    duration_s     stop after this many seconds (None: no bound)
    seed           same seed (and the same starting table) -> the same sequence of operations
    """

    rate_per_s: float = DEFAULT_RATE_PER_S
    update_share: float = 0.0
    delete_share: float = 0.0
    count: int | None = None
    duration_s: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (0 < self.rate_per_s <= MAX_RATE_PER_S):
            raise ConfigError(f"The rate must be above 0 and at most {MAX_RATE_PER_S:g} orders per second, not {self.rate_per_s!r}.")
        for name in ("update_share", "delete_share"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise ConfigError(f"The {name.replace('_', ' ')} must be between 0 and 1, not {value!r}.")
        if self.update_share + self.delete_share > 1.0 + 1e-9:
            raise ConfigError("The update share and the delete share together must not exceed 1.")
        if self.count is not None and self.count < 0:
            raise ConfigError(f"The count must not be negative, not {self.count!r}.")
        if self.duration_s is not None and self.duration_s < 0:
            raise ConfigError(f"The duration must not be negative, not {self.duration_s!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
