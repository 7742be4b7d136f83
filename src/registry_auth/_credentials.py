"""Secrets and the credentials a registry accepts."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn, SupportsIndex, final

import attrs

__all__ = ["Credentials", "Secret"]

_MASK = "********"

_DOCKER_HUB_SERVER = "https://index.docker.io/v1/"


@final
class Secret:
    """A password or token whose value never shows in a repr, str, log line or traceback.

    The value comes out only through :meth:`reveal`. Two secrets compare equal when their values
    are equal, so credentials can be compared in tests without revealing anything.

    ``Secret`` is deliberately not an attrs class and has no ``__dict__``: ``attrs.asdict``,
    ``attrs.astuple``, ``vars()``, ``__getstate__`` and pickling cannot reach the value (the last
    two refuse), and copying returns the same immutable object.

    >>> s = Secret("hunter2")
    >>> s
    Secret('********')
    >>> f"{s}"
    '********'
    >>> s.reveal()
    'hunter2'
    """

    __slots__ = ("__value",)
    __value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret takes a str, not {type(value).__name__}")
        object.__setattr__(self, "_Secret__value", value)

    def reveal(self) -> str:
        """Return the secret value. Call this only where the value must leave the process."""
        return self.__value

    def fingerprint(self) -> str:
        """A short, stable, one-way digest of the value, safe to log to tell secrets apart."""
        import hashlib  # noqa: PLC0415 - loads OpenSSL: only for those who ask

        return hashlib.sha256(self.__value.encode()).hexdigest()[:12]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # noqa: PLC0415 - loads OpenSSL: the helper's get never compares secrets

        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self.__value))

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return format(_MASK, format_spec)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __getstate__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled")

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        # Pickling is how secrets slip into caches and queues unnoticed: refuse it.
        raise TypeError("Secret values cannot be pickled")

    def __reduce__(self) -> NoReturn:
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
