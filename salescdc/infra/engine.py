"""The one apply engine: check -> create/update -> wait until usable, for each resource in order.

`provision` converges, `inspect` only reads, `teardown` deletes in reverse
order and only what carries the project's tag.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from salescdc.clients import ClientFactory
from salescdc.errors import SalesCdcError, explain
from salescdc.infra.drivers import drivers_for
from salescdc.infra.drivers.base import Driver
from salescdc.infra.model import (
    ApplyOptions,
    Observed,
    Presence,
    Progress,
    ProgressEvent,
    Ref,
    Resource,
    ResourceError,
    ResourceResult,
    ResourceStatus,
    ResourceTimeout,
    no_progress,
)
from salescdc.infra.resources import declare
from salescdc.settings import Settings


def declared(settings: Settings, factory: ClientFactory, options: ApplyOptions) -> list[Resource]:
    _check_region(settings, factory)
    return declare(settings, factory.account_id(), options.lambda_source)


def _check_region(settings: Settings, factory: ClientFactory) -> None:
    """On AWS an unknown region only shows up as a DNS failure; say it plainly instead."""
    if settings.endpoint_url:
        return  # a custom endpoint (the local cloud) accepts any region name
    session = factory.session
    known = set()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        known.update(session.get_available_regions("dynamodb", partition_name=partition))
    if settings.region not in known:
        raise ResourceError(
            f"{settings.region!r} is not an AWS region this SDK knows (for example ap-south-1); check AWS_REGION."
        )


# -- helpers -------------------------------------------------------------
def _resolve(value: Any, outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, Ref):
        found = outputs.get(value.key, {}).get(value.output)
        if not found:
            raise ResourceError(f"{value.kind} {value.name} is missing, so its {value.output} is unknown.")
        return found
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    return value


def _resolved(res: Resource, outputs: Mapping[str, Mapping[str, Any]]) -> Resource:
    return dataclasses.replace(res, spec=_resolve(dict(res.spec), outputs))


def _has_tag(observed: Observed | None, settings: Settings) -> bool:
    return bool(observed and observed.tags is not None and observed.tags.get(settings.tag_key) == settings.tag_value)


def _managed(res: Resource, observed: Observed, seen: Mapping[str, Observed | None], settings: Settings) -> bool:
    """Ours if tagged; for kinds that cannot be tagged, if their owner is tagged."""
    if observed.tags is None:
        return res.owner is not None and _has_tag(seen.get(res.owner), settings)
    return _has_tag(observed, settings)


def _tag_drift(res: Resource, observed: Observed) -> list[str]:
    if observed.tags is None:
        return []
    missing = [k for k, v in res.tags.items() if observed.tags.get(k) != v]
    return [f"tags.{k}" for k in missing]


def _is_immutable(path: str, driver: Driver) -> bool:
    return any(path == k or path.startswith((f"{k}.", f"{k}[")) for k in driver.immutable)


def _not_ours(res: Resource, settings: Settings) -> str:
    return (
        f"{res.kind} {res.name} exists but is not tagged {settings.tag_key}={settings.tag_value}, "
        "so this project does not manage it; remove it or pick another name in the settings"
    )


def _wait_usable(driver: Driver, res: Resource, options: ApplyOptions) -> Observed:
    deadline = time.monotonic() + options.timeout_s
    while True:
        observed = driver.read(res)
        if observed is not None:
            reason = driver.failure(observed)
            if reason:
                raise ResourceError(f"{res.kind} {res.name} failed: {reason}.")
            if driver.usable(observed):
                return observed
        if time.monotonic() >= deadline:
            state = observed.state if observed else "not visible yet"
            raise ResourceTimeout(
                f"{res.kind} {res.name} was not usable within {options.timeout_s:g} s (state: {state})."
            )
        time.sleep(options.poll_interval_s)


def _wait_gone(driver: Driver, res: Resource, options: ApplyOptions) -> None:
    deadline = time.monotonic() + options.timeout_s
    while driver.read(res) is not None:
        if time.monotonic() >= deadline:
            raise ResourceTimeout(f"{res.kind} {res.name} was still there {options.timeout_s:g} s after deletion.")
        time.sleep(options.poll_interval_s)


def _fail(
    res: Resource, exc: BaseException, progress: Progress, results: list[ResourceResult], verb: str
) -> ResourceError:
    reason = explain(exc)
    progress(ProgressEvent(res.kind, res.name, "failed", reason))
    results.append(ResourceResult(res.kind, res.name, "failed", reason))
    return ResourceError(f"Could not {verb} {res.kind} {res.name}: {reason}", results)


# -- provision -------------------------------------------------------------
def provision(
    settings: Settings,
    factory: ClientFactory,
    progress: Progress | None = None,
    *,
    options: ApplyOptions | None = None,
) -> list[ResourceResult]:
    """Create or converge every resource, in dependency order; idempotent.

    Stops at the first resource that fails (those after it depend on it) and
    raises ResourceError carrying the results so far; running it again picks up
    from there.
    """
    progress = progress or no_progress
    options = options or ApplyOptions()
    drivers = drivers_for(factory, options)
    outputs: dict[str, dict[str, Any]] = {}
    seen: dict[str, Observed | None] = {}
    results: list[ResourceResult] = []
    for res in declared(settings, factory, options):
        driver = drivers[res.kind]
        progress(ProgressEvent(res.kind, res.name, "checking"))
        try:
            resolved = _resolved(res, outputs)
            observed = driver.read(resolved)
            if observed is not None and not _managed(res, observed, seen, settings):
                raise ResourceError(_not_ours(res, settings) + ".")
            if observed is None:
                progress(ProgressEvent(res.kind, res.name, "creating"))
                driver.create(resolved)
                action, detail = "created", ""
            else:
                drift = _tag_drift(res, observed) + driver.drift(resolved, observed)
                fixed = [d for d in drift if _is_immutable(d, driver)]
                if fixed and driver.replace_on_immutable:
                    detail = "replacing: " + ", ".join(fixed)
                    progress(ProgressEvent(res.kind, res.name, "updating", detail))
                    driver.delete(resolved, observed, delete_data=False)
                    _wait_gone(driver, resolved, options)
                    driver.create(resolved)
                    action = "replaced"
                elif fixed:
                    raise ResourceError(
                        f"{res.kind} {res.name} differs in {', '.join(fixed)}, which cannot change in place; "
                        "run `down` and `up` to recreate it"
                    )
                elif drift:
                    detail = ", ".join(drift)
                    progress(ProgressEvent(res.kind, res.name, "updating", detail))
                    driver.update(resolved, observed, drift)
                    action = "updated"
                else:
                    action, detail = "unchanged", ""
            observed = _wait_usable(driver, resolved, options)
        except SalesCdcError as exc:
            raise _fail(res, exc, progress, results, "provision") from None
        except Exception as exc:  # any AWS/botocore error becomes one sentence for the caller
            raise _fail(res, exc, progress, results, "provision") from exc
        outputs[res.key] = observed.outputs
        seen[res.key] = observed
        results.append(ResourceResult(res.kind, res.name, action, detail, observed.state))
        progress(ProgressEvent(res.kind, res.name, "ready", action if not detail else f"{action}: {detail}"))
    return results


# -- inspect -------------------------------------------------------------
def inspect(
    settings: Settings, factory: ClientFactory, *, options: ApplyOptions | None = None
) -> list[ResourceStatus]:
    """Every declared resource: present / missing / drifted / failed, with its state; changes nothing.

    "failed" is the driver's judgement (`Driver.failure`): a state the resource will not leave by itself.
    """
    options = options or ApplyOptions()
    drivers = drivers_for(factory, options)
    outputs: dict[str, dict[str, Any]] = {}
    seen: dict[str, Observed | None] = {}
    statuses: list[ResourceStatus] = []
    for res in declared(settings, factory, options):
        driver = drivers[res.kind]
        try:
            resolved = _resolved(res, outputs)
        except ResourceError:
            # A Ref target is missing (e.g. no table, so no stream ARN): compare what we can.
            resolved = _resolved(res, _placeholder_outputs(res))
        observed = driver.read(resolved)
        seen[res.key] = observed
        if observed is None:
            statuses.append(ResourceStatus(res.kind, res.name, Presence.MISSING))
            continue
        outputs[res.key] = observed.outputs
        managed = _managed(res, observed, seen, settings)
        drift = _tag_drift(res, observed) + driver.drift(resolved, observed)
        problem = driver.failure(observed)
        detail = "; ".join(
            x for x in (problem, ", ".join(drift), "" if managed else _not_ours(res, settings)) if x
        )
        if problem:
            status = Presence.FAILED
        elif drift or not managed:
            status = Presence.DRIFTED
        else:
            status = Presence.PRESENT
        statuses.append(ResourceStatus(res.kind, res.name, status, observed.state, detail, managed))
    return statuses


def _placeholder_outputs(res: Resource) -> dict[str, dict[str, Any]]:
    refs: dict[str, dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Ref):
            refs.setdefault(value.key, {})[value.output] = f"<{value.key} missing>"
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(dict(res.spec))
    return refs


# -- teardown ------------------------------------------------------------
def teardown(
    settings: Settings,
    factory: ClientFactory,
    delete_data: bool = False,
    progress: Progress | None = None,
    *,
    options: ApplyOptions | None = None,
) -> list[ResourceResult]:
    """Delete, in reverse dependency order, every declared resource that carries the project tag.

    Untagged look-alikes are left alone (skipped). A bucket holding data is kept
    unless `delete_data`; everything else still goes.
    """
    progress = progress or no_progress
    options = options or ApplyOptions()
    drivers = drivers_for(factory, options)
    resources = declared(settings, factory, options)
    # Read everything first: ownership of untaggable kinds follows their owner,
    # which may be deleted before them.
    seen: dict[str, Observed | None] = {}
    plain: dict[str, Resource] = {}
    for res in resources:
        plain[res.key] = _resolved(res, _placeholder_outputs(res))
        seen[res.key] = drivers[res.kind].read(plain[res.key])
    results: list[ResourceResult] = []
    for res in reversed(resources):
        driver = drivers[res.kind]
        resolved = plain[res.key]
        progress(ProgressEvent(res.kind, res.name, "checking"))
        observed = seen[res.key]
        if observed is None:
            # Deleting a parent (the Glue database) may already have removed it.
            progress(ProgressEvent(res.kind, res.name, "skipped", "not found"))
            results.append(ResourceResult(res.kind, res.name, "skipped", "not found"))
            continue
        if not _managed(res, observed, seen, settings):
            reason = f"not tagged {settings.tag_key}={settings.tag_value}; left alone"
            progress(ProgressEvent(res.kind, res.name, "skipped", reason))
            results.append(ResourceResult(res.kind, res.name, "skipped", reason, observed.state))
            continue
        try:
            guard = None if delete_data else driver.data_guard(resolved, observed)
            if guard:
                progress(ProgressEvent(res.kind, res.name, "skipped", guard))
                results.append(ResourceResult(res.kind, res.name, "skipped", guard, observed.state))
                continue
            if driver.read(resolved) is None:  # went with its parent
                progress(ProgressEvent(res.kind, res.name, "deleted", "removed with its parent"))
                results.append(ResourceResult(res.kind, res.name, "deleted", "removed with its parent"))
                continue
            progress(ProgressEvent(res.kind, res.name, "deleting"))
            driver.delete(resolved, observed, delete_data)
            _wait_gone(driver, resolved, options)
        except SalesCdcError as exc:
            raise _fail(res, exc, progress, results, "delete") from None
        except Exception as exc:
            raise _fail(res, exc, progress, results, "delete") from exc
        progress(ProgressEvent(res.kind, res.name, "deleted"))
        results.append(ResourceResult(res.kind, res.name, "deleted"))
    return results


def start_crawler(settings: Settings, factory: ClientFactory) -> str:
    """Start the crawler; returns its state afterwards ("RUNNING", or the state it was already in)."""
    glue = factory.client("glue")
    try:
        glue.start_crawler(Name=settings.crawler_name)
    except Exception as exc:
        from salescdc.infra.drivers.base import error_code

        code = error_code(exc)
        if code == "CrawlerRunningException":
            return "RUNNING"
        if code == "EntityNotFoundException":
            raise ResourceError(
                f"The crawler {settings.crawler_name} does not exist: provision the pipeline first."
            ) from None
        raise ResourceError(f"Could not start the crawler {settings.crawler_name}: {explain(exc)}") from exc
    return str(glue.get_crawler(Name=settings.crawler_name)["Crawler"].get("State", "RUNNING"))
