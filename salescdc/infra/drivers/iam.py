"""IAM role driver: trust policy, inline policies (exactly those declared), tags."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on, tag_list
from salescdc.infra.model import Observed, Resource


def _document(value: Any) -> Any:
    """IAM returns policy documents URL-encoded strings on AWS, dicts through some SDK paths."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


class RoleDriver(Driver):
    kind = "iam.role"

    def read(self, res: Resource) -> Observed | None:
        iam = self.client("iam")
        got = missing_on({"NoSuchEntity"}, lambda: iam.get_role(RoleName=res.name))
        if got is None:
            return None
        role = got["Role"]
        names = iam.list_role_policies(RoleName=res.name).get("PolicyNames", [])
        inline = {n: _document(iam.get_role_policy(RoleName=res.name, PolicyName=n)["PolicyDocument"]) for n in names}
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=res.name).get("Tags", [])}
        return Observed(
            state="ACTIVE",
            tags=tags,
            actual={
                "RoleName": role["RoleName"],
                "Description": role.get("Description"),
                "AssumeRolePolicyDocument": _document(role["AssumeRolePolicyDocument"]),
                "Policies": inline,
            },
            outputs={"Arn": role["Arn"]},
        )

    def drift(self, res: Resource, observed: Observed) -> list[str]:
        out = super().drift(res, observed)
        extra = sorted(set(observed.actual["Policies"]) - set(res.spec["Policies"]))
        if extra:
            out.append(f"Policies (undeclared: {', '.join(extra)})")
        return out

    def create(self, res: Resource) -> None:
        iam = self.client("iam")
        iam.create_role(
            RoleName=res.name,
            Description=res.spec["Description"],
            AssumeRolePolicyDocument=json.dumps(res.spec["AssumeRolePolicyDocument"]),
            Tags=tag_list(dict(res.tags)),
        )
        for name, doc in res.spec["Policies"].items():
            iam.put_role_policy(RoleName=res.name, PolicyName=name, PolicyDocument=json.dumps(doc))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        iam = self.client("iam")
        if any(d.startswith("tags") for d in drift):
            iam.tag_role(RoleName=res.name, Tags=tag_list(dict(res.tags)))
        if any(d.startswith("Description") for d in drift):
            iam.update_role(RoleName=res.name, Description=res.spec["Description"])
        if any(d.startswith("AssumeRolePolicyDocument") for d in drift):
            iam.update_assume_role_policy(
                RoleName=res.name, PolicyDocument=json.dumps(res.spec["AssumeRolePolicyDocument"])
            )
        if any(d.startswith("Policies") for d in drift):
            wanted = res.spec["Policies"]
            for name, doc in wanted.items():
                if observed.actual["Policies"].get(name) != doc:
                    iam.put_role_policy(RoleName=res.name, PolicyName=name, PolicyDocument=json.dumps(doc))
            # Least privilege: an inline policy we did not declare is removed.
            for name in set(observed.actual["Policies"]) - set(wanted):
                iam.delete_role_policy(RoleName=res.name, PolicyName=name)

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        iam = self.client("iam")
        for name in observed.actual["Policies"]:
            iam.delete_role_policy(RoleName=res.name, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=res.name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=res.name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=res.name)
