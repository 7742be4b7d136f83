"""Fixtures for the provider tests: a clean fake AWS environment and moto servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.stack import MotoServer

# Variables that would send boto3 elsewhere than the test wants, or change how it signs.
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ENDPOINT_URL_STS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


@pytest.fixture
def no_aws_env(monkeypatch, tmp_path):
    """No AWS setting from the machine: no keys, no profile, no config files, no IMDS."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_env(no_aws_env, monkeypatch):
    """Fake AWS keys in the environment, as moto expects."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _started(directory: Path) -> MotoServer:
    server = MotoServer(directory=directory)
    server.launch()
    server.wait_ready(30)
    return server


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """A moto server shared by the tests of a module."""
    server = _started(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def start_moto_server(tmp_path):
    """Start private moto servers (a test may stop one itself); all stop at teardown."""
    servers: list[MotoServer] = []

    def start() -> MotoServer:
        server = _started(tmp_path / f"moto-{len(servers)}")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
