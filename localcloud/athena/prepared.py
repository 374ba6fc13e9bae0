"""Prepared statements: Athena's API for them and the SQL that uses them (PREPARE, EXECUTE, DEALLOCATE).

A prepared statement belongs to a workgroup (Athena keys them by workgroup
and name). CreatePreparedStatement and `PREPARE name FROM …` write the same
store; `EXECUTE name [USING v, …]` runs the stored text with its `?`
placeholders bound to the USING values (or to the ExecutionParameters);
`DEALLOCATE PREPARE name` and DeletePreparedStatement remove it. (moto keeps
prepared statements by name alone, across workgroups, so this store is ours.)
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from localcloud.athena.exceptions import AthenaError, InvalidRequestException, QueryFailed
from localcloud.athena.parameters import bind, split_values
from localcloud.routing import AwsServiceError

_NAME = r"([A-Za-z_][\w]*)"
PREPARE = re.compile(rf"^\s*PREPARE\s+{_NAME}\s+FROM\s+(.+)$", re.I | re.S)
EXECUTE = re.compile(rf"^\s*EXECUTE\s+{_NAME}(?:\s+USING\s+(.+))?\s*$", re.I | re.S)
DEALLOCATE = re.compile(rf"^\s*DEALLOCATE\s+PREPARE\s+{_NAME}\s*$", re.I)


class ResourceNotFoundException(AthenaError, AwsServiceError):
    code = "ResourceNotFoundException"

    def __init__(self, message: str):
        AwsServiceError.__init__(self, self.code, message, 400)


@dataclass
class PreparedStatement:
    name: str
    workgroup: str
    query: str
    description: str = ""
    modified: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {"StatementName": self.name, "QueryStatement": self.query, "WorkGroupName": self.workgroup,
                "Description": self.description, "LastModifiedTime": self.modified}


class PreparedStatements:
    """Every prepared statement, keyed by (account, region, workgroup, name)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statements: dict[tuple[str, str, str, str], PreparedStatement] = {}

    def put(self, account_id: str, region: str, workgroup: str, name: str, query: str,
            description: str | None = None, must_exist: bool | None = None) -> None:
        """Create or replace; `must_exist` True (Update) or False (Create) checks first, as the API does."""
        key = (account_id, region, workgroup, name)
        with self._lock:
            exists = key in self._statements
            if must_exist is False and exists:
                raise InvalidRequestException(f"Prepared statement {name} already exists in workgroup {workgroup}")
            if must_exist and not exists:
                raise ResourceNotFoundException(f"Prepared statement {name} was not found in workgroup {workgroup}")
            self._statements[key] = PreparedStatement(name, workgroup, query, description or "")

    def get(self, account_id: str, region: str, workgroup: str, name: str) -> PreparedStatement:
        with self._lock:
            found = self._statements.get((account_id, region, workgroup, name))
        if found is None:
            raise ResourceNotFoundException(f"Prepared statement {name} was not found in workgroup {workgroup}")
        return found

    def list(self, account_id: str, region: str, workgroup: str) -> list[PreparedStatement]:
        with self._lock:
            return sorted((s for (a, r, w, _), s in self._statements.items()
                           if (a, r, w) == (account_id, region, workgroup)), key=lambda s: s.name)

    def delete(self, account_id: str, region: str, workgroup: str, name: str) -> None:
        with self._lock:
            if self._statements.pop((account_id, region, workgroup, name), None) is None:
                raise ResourceNotFoundException(f"Prepared statement {name} was not found in workgroup {workgroup}")

    # -- the SQL side ------------------------------------------------------------------------
    def resolve(self, account_id: str, region: str, workgroup: str, text: str,
                parameters: list[str] | None) -> tuple[str, str | None]:
        """A statement's text with prepared statements applied: (SQL to run, or "" when done; substatement)."""
        m = PREPARE.match(text)
        if m:
            body = m.group(2).strip().rstrip(";")
            from localcloud.athena.sql import parse

            parse(body)  # Athena checks the statement's syntax when it is prepared
            self.put(account_id, region, workgroup, m.group(1).lower(), body)
            return "", "PREPARE"
        m = DEALLOCATE.match(text)
        if m:
            try:
                self.delete(account_id, region, workgroup, m.group(1).lower())
            except ResourceNotFoundException:
                raise QueryFailed("NOT_FOUND", f"Prepared statement not found: {m.group(1).lower()}") from None
            return "", "DEALLOCATE"
        m = EXECUTE.match(text)
        if m:
            try:
                stored = self.get(account_id, region, workgroup, m.group(1).lower())
            except ResourceNotFoundException:
                raise QueryFailed("NOT_FOUND", f"Prepared statement not found: {m.group(1).lower()}") from None
            values = split_values(m.group(2)) if m.group(2) else list(parameters or [])
            return bind(stored.query, values), "EXECUTE"
        return bind(text, parameters), None
