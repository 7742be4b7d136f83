"""Docker Hub: a username with a password or a personal access token."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from registry_auth._credentials import Credentials, Secret, _to_secret
from registry_auth._errors import ConfigurationError
from registry_auth._reference import DOCKER_HUB, ImageReference

if TYPE_CHECKING:
    from registry_auth._options import OptionTypes
    from registry_auth.matching import RegistryPattern

__all__ = ["DockerHubProvider"]


def _namespaces(value: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    return tuple(n.strip("/").lower() for n in value or ())


@attrs.frozen(kw_only=True)
class DockerHubProvider:
    """Credentials for Docker Hub, and for nothing else.

    It answers only for references whose registry is Docker Hub (``docker.io``; the parser
    folds ``index.docker.io`` into it, and ``registry-1.docker.io`` is not a name users pull
    by). The engine files the credentials under ``https://index.docker.io/v1/``, as
    ``docker login`` does.

    Args:
        username: the Docker ID.
        password: the password, or better a personal access token.
        namespaces: if given, answer only for repositories in these namespaces
            (``["hubuser", "myorg"]``), so a token for one organisation is not sent for
            another's images.
        name: the provider's name in logs and errors.
    """

    username: str
    password: Secret = attrs.field(converter=_to_secret)
    namespaces: tuple[str, ...] = attrs.field(default=(), converter=_namespaces)
    name: str = "dockerhub"

    config_options: ClassVar[OptionTypes] = {
        "username": "string",
        "password": "secret",
        "namespaces": "strings",
        "name": "string",
    }

    def __attrs_post_init__(self) -> None:
        if not self.username:
            raise ConfigurationError(
                "dockerhub provider: the username is empty",
                registry=DOCKER_HUB,
                provider=self.name,
            )

    def serves(self, pattern: RegistryPattern) -> bool:
        """Whether ``pattern`` covers Docker Hub (``docker.io``), the one registry it serves."""
        return pattern.matches_registry(DOCKER_HUB)

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """The configured credentials, if ``ref`` lives on Docker Hub (in an allowed namespace)."""
        if ref.registry != DOCKER_HUB:
            return None
        if self.namespaces and ref.repository.split("/", 1)[0] not in self.namespaces:
            return None
        return Credentials(
            username=self.username, password=self.password, registry=DOCKER_HUB, provider=self.name
        )
