import pytest

from registry_auth import ConfigurationError, DockerHubProvider, ImageReference
from registry_auth.matching import RegistryPattern

TOKEN = "dckr_pat_canary_51aa"


def ref(text):
    return ImageReference.parse(text)


@pytest.mark.parametrize(
    "image",
    ["hubuser/hello:v1", "ubuntu", "docker.io/hubuser/hello", "index.docker.io/hubuser/hello"],
)
def test_answers_for_docker_hub(image):
    creds = DockerHubProvider(username="hubuser", password=TOKEN).get_credentials(ref(image))
    assert creds is not None
    assert creds.registry == "docker.io"
    assert creds.to_docker_auth_config() == {
        "username": "hubuser",
        "password": TOKEN,
        "serveraddress": "https://index.docker.io/v1/",
    }


@pytest.mark.parametrize(
    "image",
    [
        "quay.io/hubuser/hello",
        "docker.io.evil.example/hubuser/hello",
        "localhost:5000/hubuser/hello",
        "registry-1.docker.io.evil.example/x",
        "evil.example/docker.io/hubuser/hello",
    ],
)
def test_never_answers_elsewhere(image):
    assert DockerHubProvider(username="hubuser", password=TOKEN).get_credentials(ref(image)) is None


def test_namespaces_restrict_which_images_get_the_token():
    provider = DockerHubProvider(
        username="hubuser", password=TOKEN, namespaces=["hubuser", "MyOrg/"]
    )
    assert provider.get_credentials(ref("hubuser/hello")) is not None
    assert provider.get_credentials(ref("myorg/tool")) is not None
    assert provider.get_credentials(ref("otheruser/hello")) is None
    assert provider.get_credentials(ref("ubuntu")) is None


def test_repr_masks_the_token():
    assert TOKEN not in repr(DockerHubProvider(username="hubuser", password=TOKEN))


def test_empty_username_rejected():
    with pytest.raises(ConfigurationError):
        DockerHubProvider(username="", password="x")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("docker.io", True),
        ("index.docker.io", True),
        ("https://index.docker.io/v1/", True),
        ("docker.io/team", True),
        ("*.io", True),
        ("quay.io", False),
        ("docker.io:443", False),
        ("registry.example.com", False),
    ],
)
def test_serves_docker_hub_only(pattern, expected):
    provider = DockerHubProvider(username="hubuser", password=TOKEN)
    assert provider.serves(RegistryPattern.parse(pattern)) is expected
