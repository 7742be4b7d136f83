"""Credentials typed in by a person: the gateway's username and password fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from registry_auth._credentials import Credentials, Secret, _to_secret
from registry_auth._errors import ConfigurationError
from registry_auth._reference import DOCKER_HUB, ImageReference
from registry_auth.matching import RegistryPattern

if TYPE_CHECKING:
    from registry_auth._options import OptionTypes

__all__ = ["StaticPasswordProvider"]


def _to_pattern(value: str | None) -> RegistryPattern:
    text = (value or "").strip()
    return RegistryPattern.parse(text or DOCKER_HUB)


@attrs.frozen(kw_only=True)
class StaticPasswordProvider:
    """A fixed username and password for one registry, or one directory of a registry.

    This is the gateway's "authentication registry URL", "username" and "password" fields as
    they are. ``registry`` may be blank (Docker Hub), a host, ``host:port``, or a URI prefix with
    a directory (``123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/``), with or without
    ``https://``. The provider answers only for references under it.

    For ECR this works with username ``AWS`` and a token pasted from
    ``aws ecr get-login-password``, until the token expires 12 hours later; prefer
    :class:`~registry_auth.providers.ecr.EcrProvider`, which fetches and refreshes tokens.

    >>> provider = StaticPasswordProvider(registry="localhost:5000", username="alice",
    ...                                   password="s3cret")
    >>> provider
    StaticPasswordProvider(registry='localhost:5000', username='alice', password=Secret('********'), name='static')
    """  # noqa: E501 - a doctest line cannot wrap

    registry: RegistryPattern = attrs.field(converter=_to_pattern)
    username: str
    password: Secret = attrs.field(converter=_to_secret)
    name: str = "static"

    config_options: ClassVar[OptionTypes] = {
        "registry": "string",
        "username": "string",
        "password": "secret",
        "name": "string",
    }

    def __attrs_post_init__(self) -> None:
        if not self.username:
            raise ConfigurationError(
                f"static provider for {self.registry.text!r}: the username is empty",
                registry=self.registry.text,
                provider=self.name,
            )

    def serves(self, pattern: RegistryPattern) -> bool | None:
        """Whether ``pattern`` shares a registry with the configured one (None: cannot tell)."""
        return self.registry.overlaps(pattern)

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """The configured credentials, if ``ref`` is under the configured registry."""
        if not self.registry.matches(ref):
            return None
        return Credentials(
            username=self.username,
            password=self.password,
            registry=ref.registry,
            provider=self.name,
        )

    def __repr__(self) -> str:
        return (
            f"StaticPasswordProvider(registry={self.registry.text!r}, "
            f"username={self.username!r}, password={self.password!r}, name={self.name!r})"
        )
