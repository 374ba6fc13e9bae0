"""Firehose S3 custom prefixes and object names, evaluated the way AWS documents them.

- `!{timestamp:<Java DateTimeFormatter pattern>}` — in UTC, at the approximate arrival time of
  the OLDEST record in the object;
- `!{firehose:random-string}` — 11 random characters;
- `!{firehose:error-output-type}` — only in ErrorOutputPrefix, e.g. `processing-failed`;
- a prefix with no expression gets AWS's default time prefix `YYYY/MM/dd/HH/` appended;
- objects are named `<DeliveryStreamName>-<DeliveryStreamVersion>-YYYY-MM-DD-HH-MM-SS-<uuid>`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import uuid

from localcloud.firehose.exceptions import PrefixError

_EXPRESSION = re.compile(r"!\{([^}]*)\}")
DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def format_java_datetime(pattern: str, when: dt.datetime) -> str:
    """Format `when` with a java.time.format.DateTimeFormatter pattern (the letters Firehose users use).

    Supported: y/u (year), Y (week-based year), M/L (month), d, D (day of year), H, h, k, K,
    m, s, S (fraction), E (day name), a (AM/PM), w (ISO week), quoted 'literals' and '' for a
    quote. Any other letter raises PrefixError rather than writing to a wrong path.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):  # '' outside quotes is a literal quote
                out.append("'")
                i += 2
                continue
            i += 1
            while True:  # quoted literal; '' inside it is a quote too
                end = pattern.find("'", i)
                if end == -1:
                    raise PrefixError(f"unterminated quote in timestamp pattern {pattern!r}")
                out.append(pattern[i:end])
                if pattern.startswith("''", end):
                    out.append("'")
                    i = end + 2
                    continue
                i = end + 1
                break
            continue
        if not ch.isalpha():
            out.append(ch)
            i += 1
            continue
        run = 1
        while i + run < len(pattern) and pattern[i + run] == ch:
            run += 1
        out.append(_field(ch, run, when, pattern))
        i += run
    return "".join(out)


def _num(value: int, width: int) -> str:
    return str(value).zfill(width)


def _field(letter: str, n: int, when: dt.datetime, pattern: str) -> str:
    if letter in "yu":
        return _num(when.year % 100, 2) if n == 2 else _num(when.year, n)
    if letter == "Y":
        year = when.isocalendar()[0]
        return _num(year % 100, 2) if n == 2 else _num(year, n)
    if letter in "ML":
        if n >= 4:
            return _MONTHS[when.month - 1]
        if n == 3:
            return _MONTHS[when.month - 1][:3]
        return _num(when.month, n)
    if letter == "d":
        return _num(when.day, n)
    if letter == "D":
        return _num(when.timetuple().tm_yday, n)
    if letter == "H":
        return _num(when.hour, n)
    if letter == "k":
        return _num(when.hour or 24, n)
    if letter == "h":
        return _num(when.hour % 12 or 12, n)
    if letter == "K":
        return _num(when.hour % 12, n)
    if letter == "m":
        return _num(when.minute, n)
    if letter == "s":
        return _num(when.second, n)
    if letter == "S":
        return f"{when.microsecond:06d}000"[:n]
    if letter == "E":
        name = _DAYS[when.weekday()]
        return name if n >= 4 else name[:3]
    if letter == "a":
        return "AM" if when.hour < 12 else "PM"
    if letter == "w":
        return _num(when.isocalendar()[1], n)
    raise PrefixError(f"unsupported pattern letter {letter!r} in timestamp pattern {pattern!r}")


def random_string() -> str:
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(11))


def evaluate_prefix(prefix: str | None, when: dt.datetime, error_output_type: str | None = None) -> str:
    """The S3 key prefix for an object whose oldest record arrived at `when` (UTC)."""
    when = when.astimezone(dt.timezone.utc)
    prefix = prefix or ""
    if not _EXPRESSION.search(prefix):
        # AWS: no expression means the legacy layout, prefix + YYYY/MM/dd/HH/ (with the error
        # type folder first for error output).
        base = prefix
        if error_output_type is not None and not base:
            base = f"{error_output_type}/"
        return base + format_java_datetime(DEFAULT_TIME_PREFIX, when)

    def replace(match: re.Match[str]) -> str:
        namespace, _, arg = match.group(1).partition(":")
        namespace = namespace.strip()
        if namespace == "timestamp":
            return format_java_datetime(arg, when)
        if namespace == "firehose" and arg == "random-string":
            return random_string()
        if namespace == "firehose" and arg == "error-output-type":
            if error_output_type is None:
                raise PrefixError("!{firehose:error-output-type} may only be used in ErrorOutputPrefix")
            return error_output_type
        raise PrefixError(f"unsupported prefix expression !{{{match.group(1)}}}")

    return _EXPRESSION.sub(replace, prefix)


def object_name(delivery_stream_name: str, version: str | int, when: dt.datetime) -> str:
    """`<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`, as Firehose names its objects."""
    when = when.astimezone(dt.timezone.utc)
    return f"{delivery_stream_name}-{version}-{when.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"
