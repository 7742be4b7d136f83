"""registry-auth's own providers keep the contract it asks of plugins."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from registry_auth import (
    DockerConfigProvider,
    DockerHubProvider,
    EcrProvider,
    KeyringProvider,
    StaticPasswordProvider,
)
from registry_auth.testing import FrozenClock, ProviderContractTests

# moto's tokens expire at 2015-01-01T00:00Z; a clock twelve hours before keeps them fresh.
BEFORE_MOTO_EXPIRY = dt.datetime(2014, 12, 31, 12, 0, tzinfo=dt.timezone.utc)
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


class TestStaticPasswordProviderContract(ProviderContractTests):
    matching_reference = "registry.example.com/team/app:1.0"
    foreign_references = ("registry.example.org/team/app", "example.com/team/app")
    expected_username = "alice"
    entry_point = "static"
    entry_point_options = {"registry": "registry.example.com", "username": "a", "password": "b"}  # noqa: RUF012 - read-only options

    def make_provider(self):
        return StaticPasswordProvider(
            registry="registry.example.com", username="alice", password="static-contract-pw-31"
        )


class TestStaticPasswordProviderWithPortContract(ProviderContractTests):
    matching_reference = "localhost:5000/team/app"
    expected_username = "alice"
    entry_point = "static"
    entry_point_options = {"registry": "localhost:5000", "username": "a", "password": "b"}  # noqa: RUF012 - read-only options

    def make_provider(self):
        return StaticPasswordProvider(
            registry="localhost:5000", username="alice", password="static-contract-pw-32"
        )


class TestDockerHubProviderContract(ProviderContractTests):
    matching_reference = "hubuser/hello:v1"
    foreign_references = ("registry-1.docker.io/hubuser/hello:v1", "docker.com/hubuser/hello")
    expected_username = "hubuser"
    entry_point = "dockerhub"
    entry_point_options = {"username": "a", "password": "b"}  # noqa: RUF012 - read-only options

    def make_provider(self):
        return DockerHubProvider(username="hubuser", password="dckr_pat_contract_0123")


class TestEcrProviderContract(ProviderContractTests):
    matching_reference = f"{ECR_HOST}/team/app:1.0"
    foreign_references = (f"x{ECR_HOST}/team/app", "public.ecr.aws.evil.example/app")
    expected_username = "AWS"
    entry_point = "ecr"

    @pytest.fixture(autouse=True)
    def _moto(self, aws_env):
        import moto

        with moto.mock_aws():
            yield

    def make_provider(self):
        return EcrProvider(clock=FrozenClock(BEFORE_MOTO_EXPIRY))

    def test_invalidate_fetches_a_new_token(self, provider):
        # Beyond the contract: count the AWS calls the cache makes around an invalidate.
        import boto3

        calls = []
        session = boto3.Session()
        session.events.register(
            "before-send.ecr.GetAuthorizationToken", lambda **_: calls.append(1)
        )
        counted = EcrProvider(session=session, clock=FrozenClock(BEFORE_MOTO_EXPIRY))
        ref = self._matching
        counted.get_credentials(ref)
        counted.get_credentials(ref)
        assert len(calls) == 1
        counted.invalidate(ref)
        counted.get_credentials(ref)
        assert len(calls) == 2


def _auth(username, password):
    return base64.b64encode(f"{username}:{password}".encode()).decode()


class TestDockerConfigProviderContract(ProviderContractTests):
    matching_reference = "registry.example.com:5000/team/app:1.0"
    expected_username = "carol"
    entry_point = "docker-config"
    entry_point_options = {"config": {"auths": {}}}  # noqa: RUF012 - read-only options

    def make_provider(self):
        return DockerConfigProvider(
            {
                "auths": {
                    "registry.example.com:5000": {"auth": _auth("carol", "docker-config-pw-77")},
                    "other.example.com": {"auth": _auth("erin", "other-registry-pw-12")},
                }
            }
        )


class TestKeyringProviderContract(ProviderContractTests):
    matching_reference = "registry.example.com/team/app:1.0"
    expected_username = "dave"
    entry_point = "keyring"

    @pytest.fixture(autouse=True)
    def _plaintext_keyring(self, tmp_path, monkeypatch):
        import keyring
        from keyrings.alt.file import PlaintextKeyring

        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        previous = keyring.get_keyring()
        keyring.set_keyring(PlaintextKeyring())
        KeyringProvider().store("registry.example.com", "dave", "keyring-contract-pw-55")
        yield
        keyring.set_keyring(previous)

    def make_provider(self):
        return KeyringProvider()
