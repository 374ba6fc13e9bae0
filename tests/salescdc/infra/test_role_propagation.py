"""IAM is eventually consistent: a fresh role is retried while services say they cannot assume it, and only then."""

from __future__ import annotations

import botocore.exceptions
import pytest

from salescdc.clients import ClientFactory
from salescdc.infra import ApplyOptions
from salescdc.infra.drivers.base import Driver
from salescdc.settings import Settings


def _error(code: str, message: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "CreateFunction")


NOT_ASSUMABLE = _error("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")


class _AnyDriver(Driver):
    """The shared retry lives in the base class; this subclass only makes it constructible."""

    def read(self, res: object) -> None:
        return None

    def create(self, res: object) -> None:
        return None

    def delete(self, res: object, observed: object, delete_data: bool) -> None:
        return None


def _driver(propagation_s: float) -> Driver:
    options = ApplyOptions(poll_interval_s=0.01, timeout_s=5, role_propagation_s=propagation_s)
    return _AnyDriver(ClientFactory(Settings()), options)


def test_a_role_that_is_not_yet_assumable_is_retried_until_it_is() -> None:
    calls = []

    def create() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise NOT_ASSUMABLE
        return "created"

    assert _driver(propagation_s=5).while_role_propagates(create) == "created"
    assert len(calls) == 3


def test_other_errors_are_not_retried() -> None:
    calls = []

    def create() -> None:
        calls.append(1)
        raise _error("InvalidParameterValueException", "Unsupported runtime python2.7")

    with pytest.raises(botocore.exceptions.ClientError, match="Unsupported runtime"):
        _driver(propagation_s=5).while_role_propagates(create)
    assert len(calls) == 1


def test_a_role_that_never_becomes_assumable_fails_after_the_propagation_window() -> None:
    calls = []

    def create() -> None:
        calls.append(1)
        raise NOT_ASSUMABLE

    with pytest.raises(botocore.exceptions.ClientError, match="cannot be assumed"):
        _driver(propagation_s=0.05).while_role_propagates(create)
    assert len(calls) >= 2
