"""Lambda function driver: deterministic code package, updated only when its SHA-256 differs."""

from __future__ import annotations

from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on
from salescdc.infra.model import Observed, Resource

_CONFIG_KEYS = ("Runtime", "Handler", "Role", "Timeout", "MemorySize", "Description")


class FunctionDriver(Driver):
    kind = "lambda.function"

    def read(self, res: Resource) -> Observed | None:
        lam = self.client("lambda")
        got = missing_on({"ResourceNotFoundException"}, lambda: lam.get_function(FunctionName=res.name))
        if got is None:
            return None
        cfg = got["Configuration"]
        actual = {k: cfg.get(k) for k in _CONFIG_KEYS}
        actual["FunctionName"] = cfg["FunctionName"]
        actual["CodeSha256"] = cfg.get("CodeSha256")
        return Observed(
            state=cfg.get("State", "Active"),
            tags=got.get("Tags") or {},
            actual=actual,
            outputs={"Arn": cfg["FunctionArn"], "LastUpdateStatus": cfg.get("LastUpdateStatus")},
            raw=cfg,
        )

    def desired(self, res: Resource) -> dict[str, Any]:
        return {k: v for k, v in res.spec.items() if k != "ZipFile"}

    def create(self, res: Resource) -> None:
        lam = self.client("lambda")
        spec = res.spec
        self.while_role_propagates(
            lambda: lam.create_function(
                FunctionName=res.name,
                Runtime=spec["Runtime"],
                Handler=spec["Handler"],
                Role=spec["Role"],
                Timeout=spec["Timeout"],
                MemorySize=spec["MemorySize"],
                Description=spec["Description"],
                Code={"ZipFile": spec["ZipFile"]},
                Tags=dict(res.tags),
            )
        )

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        lam = self.client("lambda")
        if any(d.startswith("tags") for d in drift):
            lam.tag_resource(Resource=observed.outputs["Arn"], Tags=dict(res.tags))
        if any(d.startswith("CodeSha256") for d in drift):
            lam.update_function_code(FunctionName=res.name, ZipFile=res.spec["ZipFile"])
            self._wait_updated(res.name)
        changed = {k: res.spec[k] for k in _CONFIG_KEYS if any(d.startswith(k) for d in drift)}
        if changed:
            self.while_role_propagates(lambda: lam.update_function_configuration(FunctionName=res.name, **changed))
            self._wait_updated(res.name)

    def _wait_updated(self, name: str) -> None:
        """Lambda refuses a second update while the first is InProgress."""
        lam = self.client("lambda")

        def done() -> bool:
            cfg = lam.get_function_configuration(FunctionName=name)
            return cfg.get("LastUpdateStatus", "Successful") != "InProgress"

        self.wait(f"Lambda {name} finishing its update", done)

    def usable(self, observed: Observed) -> bool:
        return observed.state == "Active" and observed.outputs.get("LastUpdateStatus") != "InProgress"

    def failure(self, observed: Observed) -> str | None:
        if observed.state == "Failed" or observed.outputs.get("LastUpdateStatus") == "Failed":
            reason = observed.raw.get("StateReason") or observed.raw.get("LastUpdateStatusReason") or ""
            return f"function failed: {reason}".rstrip(": ")
        return None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("lambda").delete_function(FunctionName=res.name)
