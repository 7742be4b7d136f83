import pytest

import registry_auth
from registry_auth import (
    ConfigurationError,
    InvalidReferenceError,
    PlatformMismatchError,
    RegistryAuthError,
)


def test_every_public_error_derives_from_the_base():
    errors = [
        getattr(registry_auth, name) for name in registry_auth.__all__ if name.endswith("Error")
    ]
    assert len(errors) >= 10
    for error in errors:
        assert issubclass(error, RegistryAuthError), error


def test_value_errors_for_bad_input():
    assert issubclass(InvalidReferenceError, ValueError)
    assert issubclass(ConfigurationError, ValueError)


def test_no_error_inherits_from_third_party_exceptions():
    for name in registry_auth.__all__:
        obj = getattr(registry_auth, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            for base in obj.__mro__:
                assert base.__module__ in {"builtins", "registry_auth._errors"}, (obj, base)


def test_context_attributes_and_repr():
    err = RegistryAuthError("boom", registry="r.example", provider="ecr", reference="r.example/a")
    assert (err.registry, err.provider, err.reference) == ("r.example", "ecr", "r.example/a")
    assert str(err) == "boom"
    assert (
        repr(err)
        == "RegistryAuthError('boom', registry='r.example', provider='ecr', reference='r.example/a')"
    )
    plat = PlatformMismatchError("no", wanted="linux/amd64", available=("linux/s390x",))
    assert plat.available == ("linux/s390x",)


def test_catchable_as_base():
    with pytest.raises(RegistryAuthError):
        raise InvalidReferenceError("bad", text="X")
