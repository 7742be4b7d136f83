"""Secrets and the credentials a registry accepts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

__all__ = ["Credentials", "Secret"]

_MASK = "********"

_DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


@attrs.frozen(repr=False)
class Secret:
    """A password or token whose value never shows in a repr, str, log line or traceback.

    The value comes out only through :meth:`reveal`. Two secrets compare equal when their values
    are equal, so credentials can be compared in tests without revealing anything.

    >>> s = Secret("hunter2")
    >>> s
    Secret('********')
    >>> f"{s}"
    '********'
    >>> s.reveal()
    'hunter2'
    """

    _value: str = attrs.field(alias="value")

    @_value.validator
    def _check(self, _attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret takes a str, not {type(value).__name__}")

    def reveal(self) -> str:
        """Return the secret value. Call this only where the value must leave the process."""
        return self._value

    def fingerprint(self) -> str:
        """A short, stable, one-way digest of the value, safe to log to tell secrets apart."""
        import hashlib  # noqa: PLC0415 - loads OpenSSL: only for those who ask

        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return format(_MASK, format_spec)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling is how secrets slip into caches and queues unnoticed: refuse it.
        raise TypeError("Secret values cannot be pickled")


def _to_secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def _to_optional_secret(value: str | Secret | None) -> Secret | None:
    return None if value is None else _to_secret(value)


def _check_aware(_instance: object, _attribute: object, value: dt.datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("Credentials.expires_at must be timezone-aware")


@attrs.frozen(kw_only=True)
class Credentials:
    """What a registry accepts: a username and password, or an identity token.

    Attributes:
        username: the account name (``AWS`` for ECR, a user or ``<token>`` elsewhere).
        password: the password or access token, masked everywhere.
        registry: the registry host these credentials are for (``docker.io``,
            ``123456789012.dkr.ecr.eu-west-1.amazonaws.com``, ``localhost:5000``).
        expires_at: when the registry stops accepting them (timezone-aware), if they expire.
        identity_token: an OAuth refresh token used instead of the password, if any.
        provider: the name of the provider that produced them, for diagnostics.
    """

    username: str
    password: Secret = attrs.field(converter=_to_secret)
    registry: str
    expires_at: dt.datetime | None = attrs.field(default=None, validator=_check_aware)
    identity_token: Secret | None = attrs.field(default=None, converter=_to_optional_secret)
    provider: str | None = attrs.field(default=None, eq=False)

    @property
    def server_address(self) -> str:
        """The address the docker engine files these credentials under."""
        if self.registry == "docker.io":
            return _DOCKER_HUB_SERVER
        return self.registry

    def to_docker_auth_config(self) -> dict[str, str]:
        """The ``auth_config`` dict docker-py's ``images.pull()`` and ``login()`` expect.

        This reveals the secret: hand the result to the engine and drop it.
        """
        config = {
            "username": self.username,
            "password": self.password.reveal(),
            "serveraddress": self.server_address,
        }
        if self.identity_token is not None:
            config["identitytoken"] = self.identity_token.reveal()
        return config

    def to_basic_auth(self) -> str:
        """The base64 ``user:password`` form used in ``config.json`` and HTTP Basic auth."""
        import base64  # noqa: PLC0415 - a credential helper's get never needs it

        raw = f"{self.username}:{self.password.reveal()}".encode()
        return base64.b64encode(raw).decode("ascii")

    def is_expired(self, now: dt.datetime) -> bool:
        """Whether the registry would reject these credentials at ``now`` for their age."""
        return self.expires_at is not None and now >= self.expires_at
