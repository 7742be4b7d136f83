import pytest

from registry_auth import (
    ConfigurationError,
    CredentialProvider,
    ImageReference,
    Secret,
    StaticPasswordProvider,
)
from registry_auth.matching import RegistryPattern

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
TOKEN = "canary-ecr-token-41d0"


def ref(text):
    return ImageReference.parse(text)


def test_is_a_provider():
    provider = StaticPasswordProvider(registry="localhost:5000", username="a", password="b")
    assert isinstance(provider, CredentialProvider)
    assert provider.name == "static"


def test_answers_only_for_its_registry():
    provider = StaticPasswordProvider(registry="localhost:5000", username="alice", password="pw")
    creds = provider.get_credentials(ref("localhost:5000/team/app:1"))
    assert creds is not None
    assert (creds.username, creds.password, creds.registry) == (
        "alice",
        Secret("pw"),
        "localhost:5000",
    )
    assert creds.provider == "static"
    assert provider.get_credentials(ref("localhost:5001/team/app")) is None
    assert provider.get_credentials(ref("ubuntu")) is None
    assert provider.get_credentials(ref("localhost.evil.example:5000/app")) is None


def test_blank_registry_means_docker_hub():
    for blank in ("", None, "  "):
        provider = StaticPasswordProvider(registry=blank, username="hubuser", password="pw")
        creds = provider.get_credentials(ref("hubuser/hello:v1"))
        assert creds is not None
        assert creds.server_address == "https://index.docker.io/v1/"
        assert provider.get_credentials(ref("quay.io/hubuser/hello")) is None


def test_the_manual_ecr_flow_with_a_pasted_token():
    provider = StaticPasswordProvider(
        registry=f"https://{ECR}/team/", username="AWS", password=TOKEN
    )
    creds = provider.get_credentials(ref(f"{ECR}/team/app:1.0"))
    assert creds is not None
    assert creds.username == "AWS"
    assert creds.password.reveal() == TOKEN
    assert creds.to_docker_auth_config()["serveraddress"] == ECR
    assert provider.get_credentials(ref(f"{ECR}/other/app")) is None
    assert provider.get_credentials(ref(f"{ECR}/teamx/app")) is None
    assert provider.get_credentials(ref(f"{ECR}.evil.example/team/app")) is None
    assert TOKEN not in repr(provider)


def test_empty_username_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="username is empty"):
        StaticPasswordProvider(registry="r.example", username="", password="x")


@pytest.mark.parametrize(
    ("registry", "pattern", "expected"),
    [
        ("localhost:5000", "localhost:5000", True),
        ("localhost:5000", "localhost:5000/team", True),
        ("localhost:5000", "localhost", False),
        ("localhost:5000", "localhost:5001", False),
        ("", "docker.io", True),
        ("", "quay.io", False),
        (ECR, "*.dkr.ecr.*.amazonaws.com", True),
        ("*.example.com", "registry.example.com", True),
        ("*.example.com", "*.example.org", None),
    ],
)
def test_serves_what_its_registry_shares_with_the_pattern(registry, pattern, expected):
    provider = StaticPasswordProvider(registry=registry, username="a", password="b")
    assert provider.serves(RegistryPattern.parse(pattern)) is expected
