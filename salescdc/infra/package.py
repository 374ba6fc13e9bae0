"""A deterministic zip of the Lambda source: same files in, same bytes (and CodeSha256) out.

Entries are sorted, timestamps and permissions fixed, and stored uncompressed
so the bytes do not depend on the zlib version either. That lets `up` compare
the local CodeSha256 with the deployed one and update code only when it changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from salescdc.infra.model import ResourceError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", "tests"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def _files(source: Path) -> list[Path]:
    files = []
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if not path.is_file() or any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix in _SKIP_SUFFIXES:
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(source).as_posix())


def build_zip(source: Path, handler_module: str = "handler") -> bytes:
    """Zip `source` at its root (the handler module must be at the top level)."""
    if not (source / f"{handler_module}.py").is_file():
        raise ResourceError(f"The Lambda source {source} has no {handler_module}.py to deploy.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in _files(source):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # Unix, so the mode bits above are honoured
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's CodeSha256: base64 of the SHA-256 of the deployment package."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
