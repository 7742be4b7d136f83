"""GitHub Container Registry credentials: a token from the environment, a file, or the caller."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from registry_auth import ConfigurationError, Credentials, ProviderError, Secret

if TYPE_CHECKING:
    from registry_auth import ImageReference

__all__ = [
    "DEFAULT_TOKEN_VARIABLES",
    "FALLBACK_USERNAME",
    "GHCR_HOST",
    "USERNAME_VARIABLE",
    "GhcrProvider",
]

GHCR_HOST: Final = "ghcr.io"
"""The one registry this provider answers for."""

DEFAULT_TOKEN_VARIABLES: Final = ("GHCR_TOKEN", "GITHUB_TOKEN")
"""Where the token is looked for when no source is named, first set wins."""

USERNAME_VARIABLE: Final = "GITHUB_ACTOR"
"""The username used when none is given (GitHub Actions sets it to the workflow's user)."""

FALLBACK_USERNAME: Final = "token"
"""The username used when none is given and ``GITHUB_ACTOR`` is unset. ghcr.io identifies the
caller by the token; it only needs the username to be non-empty."""

_logger: Final = logging.getLogger("registry_auth_ghcr")
_VARIABLE_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_OWNER_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.ASCII)


def _variables(env: str | Sequence[str], name: str) -> tuple[str, ...]:
    # A configuration file may hand over anything TOML holds: check the types too.
    names: tuple[object, ...] = (env,) if isinstance(env, str) else tuple(env)
    good = tuple(item for item in names if isinstance(item, str) and _VARIABLE_RE.fullmatch(item))
    if not names or len(good) != len(names):
        raise ConfigurationError(
            f"{name}: env must name environment variables, not {list(names)!r}", provider=name
        )
    return good


def _owners(owners: Iterable[str], name: str) -> frozenset[str]:
    if isinstance(owners, str):
        owners = [owners]
    cleaned = [owner.strip("/").lower() for owner in owners]
    bad = [owner for owner in cleaned if not _OWNER_RE.fullmatch(owner)]
    if bad:
        raise ConfigurationError(
            f"{name}: owners must be GitHub user or organisation names, not {bad!r}",
            provider=name,
        )
    return frozenset(cleaned)


class GhcrProvider:
    """Credentials for GitHub Container Registry, ``ghcr.io``, and for nothing else.

    The token (a personal access token with ``read:packages``, or the ``GITHUB_TOKEN`` of a
    GitHub Actions job) comes from one source:

    - ``password``: given here (a configuration file may give it as ``{ env = ... }``,
      ``{ file = ... }`` or ``{ keyring = ... }``, resolved once when the file is loaded);
    - ``file``: a file holding the token (a mounted secret), read at each lookup, so a rotated
      token is picked up; surrounding blanks and newlines are dropped;
    - ``env``: environment variables, read at each lookup, first non-empty wins;
    - none of these: ``GHCR_TOKEN``, then ``GITHUB_TOKEN``.

    All arguments are keyword-only.

    Args:
        password: the token itself.
        env: an environment variable name, or several, to read the token from.
        file: the path of a file holding the token.
        username: the username sent with the token. Default: ``$GITHUB_ACTOR``, else
            ``token``; ghcr.io takes any non-empty username with a token.
        owners: if given, answer only for images of these users or organisations
            (``ghcr.io/<owner>/...``), so a token for one organisation is not sent for
            another's images.
        name: the provider's name in logs and errors.

    Raises:
        ConfigurationError: more than one token source, or an invalid option.
    """

    def __init__(
        self,
        *,
        password: str | Secret | None = None,
        env: str | Sequence[str] | None = None,
        file: str | os.PathLike[str] | None = None,
        username: str | None = None,
        owners: Iterable[str] = (),
        name: str = "ghcr",
    ) -> None:
        if not name.strip():
            raise ConfigurationError("ghcr: the provider name is empty", provider="ghcr")
        given = [
            label
            for label, value in (("password", password), ("env", env), ("file", file))
            if value is not None
        ]
        if len(given) > 1:
            raise ConfigurationError(
                f"{name}: give one token source, not {' and '.join(given)}", provider=name
            )
        if username is not None and (not username or ":" in username):
            raise ConfigurationError(
                f"{name}: the username must be non-empty and hold no ':'", provider=name
            )
        self._name = name
        if password is not None and not isinstance(password, Secret):
            password = Secret(password)
        self._password = password
        self._variables = DEFAULT_TOKEN_VARIABLES if env is None else _variables(env, name)
        self._file = None if file is None else Path(file).expanduser()
        self._username = username
        self._owners = _owners(owners, name)

    @property
    def name(self) -> str:
        """The provider's name: ``ghcr`` unless configured otherwise."""
        return self._name

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """The token for ``ref`` if it is on ``ghcr.io`` (under an allowed owner), else None.

        Returns None too when the environment holds no token.

        Raises:
            ProviderError: the token file cannot be read, or is empty.
        """
        if ref.registry.lower() != GHCR_HOST:
            return None
        owner = ref.repository.split("/", 1)[0]
        if self._owners and owner not in self._owners:
            return None
        token = self._token(ref)
        if token is None:
            return None
        return Credentials(
            username=self._username or os.environ.get(USERNAME_VARIABLE) or FALLBACK_USERNAME,
            password=token,
            registry=ref.registry,
            provider=self._name,
        )

    def _token(self, ref: ImageReference) -> Secret | None:
        if self._password is not None:
            return self._password
        if self._file is not None:
            return self._read_file(ref)
        for variable in self._variables:
            value = os.environ.get(variable, "").strip()
            if value:
                _logger.debug("ghcr token for %s from $%s", ref, variable)
                return Secret(value)
        _logger.debug("no ghcr token in %s", ", ".join(f"${v}" for v in self._variables))
        return None

    def _read_file(self, ref: ImageReference) -> Secret:
        assert self._file is not None  # noqa: S101 - checked by the caller
        try:
            value = self._file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ProviderError(
                f"{self._name}: cannot read the token file {self._file}: {reason}",
                registry=ref.registry,
                provider=self._name,
            ) from None
        if not value:
            raise ProviderError(
                f"{self._name}: the token file {self._file} is empty",
                registry=ref.registry,
                provider=self._name,
            )
        return Secret(value)

    def __repr__(self) -> str:
        if self._password is not None:
            source = f"password={self._password!r}"
        elif self._file is not None:
            source = f"file={str(self._file)!r}"
        else:
            source = f"env={self._variables!r}"
        return (
            f"GhcrProvider({source}, username={self._username!r}, "
            f"owners={sorted(self._owners)!r}, name={self._name!r})"
        )
