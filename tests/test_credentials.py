import copy
import datetime as dt
import logging
import pickle
from typing import Any

import attrs
import pytest

from registry_auth import Credentials, Secret

PASSWORD = "canary-pass-7c1e"


def test_secret_is_masked_everywhere():
    secret = Secret(PASSWORD)
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>20}",
        f"{secret}",
    ):
        assert PASSWORD not in text
    assert secret.reveal() == PASSWORD


def test_secret_compares_by_value_without_revealing():
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert hash(Secret("a")) == hash(Secret("a"))
    assert Secret("a").fingerprint() == Secret("a").fingerprint() != Secret("b").fingerprint()
    assert PASSWORD not in Secret(PASSWORD).fingerprint()


def test_secret_refuses_non_strings_and_pickling():
    with pytest.raises(TypeError, match="str"):
        Secret(b"bytes")  # type: ignore[arg-type, unused-ignore]
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(Secret(PASSWORD))


def test_secret_value_is_out_of_reach_of_generic_introspection():
    secret = Secret(PASSWORD)
    views: list[object] = [
        attrs.asdict(make(identity_token=PASSWORD)),
        attrs.astuple(make(identity_token=PASSWORD)),
        dir(secret),
        getattr(secret, "__dict__", None),
    ]
    for view in views:
        assert PASSWORD not in repr(view)
    assert not attrs.has(Secret)
    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(TypeError, match="pickled"):
        secret.__getstate__()
    with pytest.raises(TypeError, match="pickled"):
        secret.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    # Immutable: a copy is the same secret, and nothing is set on it afterwards.
    assert copy.copy(secret) is secret
    assert copy.deepcopy(make()).password == Secret(PASSWORD)
    with pytest.raises(AttributeError):
        secret.value = "other"
    assert attrs.asdict(make())["password"] == Secret(PASSWORD)
    assert Secret(value=PASSWORD) == secret
    assert secret != PASSWORD


def test_secret_truthiness():
    assert not Secret("")
    assert Secret("x")


def make(**overrides: object) -> Credentials:
    fields: dict[str, Any] = {
        "username": "alice",
        "password": PASSWORD,
        "registry": "localhost:5000",
    }
    fields.update(overrides)
    return Credentials(**fields)


def test_credentials_never_show_the_password():
    creds = make(identity_token="canary-token-99")
    assert isinstance(creds.password, Secret)
    for text in (repr(creds), str(creds), repr(attrs.asdict(creds, recurse=False))):
        assert PASSWORD not in text
        assert "canary-token-99" not in text


def test_credentials_in_log_records_are_masked(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").debug("got %s and %r", make(), make())
    assert PASSWORD not in caplog.text


def test_docker_auth_config_reveals_for_the_engine():
    assert make().to_docker_auth_config() == {
        "username": "alice",
        "password": PASSWORD,
        "serveraddress": "localhost:5000",
    }
    hub = make(registry="docker.io", identity_token="tok")
    config = hub.to_docker_auth_config()
    assert config["serveraddress"] == "https://index.docker.io/v1/"
    assert config["identitytoken"] == "tok"


def test_basic_auth():
    import base64

    assert base64.b64decode(make().to_basic_auth()).decode() == f"alice:{PASSWORD}"


def test_expiry_must_be_aware_and_is_compared():
    with pytest.raises(ValueError, match="timezone-aware"):
        make(expires_at=dt.datetime(2030, 1, 1))
    at = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    creds = make(expires_at=at)
    assert not creds.is_expired(at - dt.timedelta(seconds=1))
    assert creds.is_expired(at)
    assert not make().is_expired(at)


def test_credentials_are_frozen_and_keyword_only():
    creds = make()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creds.username = "bob"  # type: ignore[misc, call-arg, unused-ignore]
    with pytest.raises(TypeError):
        Credentials("alice", PASSWORD, "x")  # type: ignore[misc, call-arg, unused-ignore]


def test_provider_name_does_not_affect_equality():
    assert make(provider="a") == make(provider="b")
