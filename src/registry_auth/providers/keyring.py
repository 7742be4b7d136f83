"""Registry credentials kept in the system keyring, through the ``keyring`` package.

The ``keyring`` package comes with the ``registry-auth[keyring]`` extra and is imported only
when a :class:`KeyringProvider` is built. It uses whatever backend ``keyring`` picks (Secret
Service on a desktop or in a D-Bus session, macOS Keychain, Windows Credential Locker, or one
set with ``PYTHON_KEYRING_BACKEND`` or ``keyring.set_keyring()``).

What is stored, as keyring (service, username) -> secret:

- ``("<prefix>:<registry>", "<username>")`` -> the password. ``<registry>`` is the host
  (``host[:port]``) in lowercase, ``docker.io`` for Docker Hub. The configuration file reads the
  same entry with ``{ keyring = "registry-auth:<registry>", username = "<username>" }``.
- ``("<prefix>", "registries")`` -> an index, ``{"version": 1, "registries": {"<registry>":
  "<username>"}, "addresses": {"<registry>": "<server address>"}}`` in JSON. It holds no
  secret. ``addresses`` (optional) keeps the server address a client stored an entry under
  (``https://index.docker.io/v1/`` from ``docker login``), which the credential helper's
  ``list`` answers with. It tells the provider which username to ask for
  (the keyring API needs one) and lets :meth:`KeyringProvider.list` say what is stored, which
  the keyring API cannot enumerate.

An entry written by another tool and missing from the index is still found on backends that can
look a service up without a username (``get_credential(service, None)``): Secret Service and
macOS Keychain can, keyrings.alt's file backends cannot.

Changes are serialized, between threads and between processes of the same user: stores and
erases hold an exclusive lock on a file in registry-auth's cache directory (``keyring-*.lock``,
in a 0700 directory), lookups a shared one, so that no index update is lost and no reader sees
a file backend half-written. Writers that are not registry-auth (``keyring set``) are not
serialized with them. Without a usable cache directory, only threads are serialized.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

import attrs

from registry_auth._credentials import Credentials, Secret, _to_secret
from registry_auth._errors import ConfigurationError, InvalidReferenceError, ProviderError
from registry_auth._files import PRIVATE_FILE_MODE, private_directory_problem
from registry_auth._locations import cache_dir
from registry_auth._reference import DOCKER_HUB, ImageReference, without_userinfo
from registry_auth.matching import RegistryPattern

if TYPE_CHECKING:
    from types import ModuleType

    from registry_auth._options import OptionTypes

__all__ = ["KeyringProvider", "registry_name"]

_logger: Final = logging.getLogger("registry_auth.providers.keyring")

_INDEX_USERNAME: Final = "registries"
_INDEX_VERSION: Final = 1
_HUB_HOSTS: Final = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
_SCHEMES: Final = ("https://", "http://")
_EXTRA_HINT: Final = "pip install 'registry-auth[keyring]'"


def _import_keyring(provider: str) -> ModuleType:
    try:
        import keyring  # noqa: PLC0415 - optional dependency, loaded only when used
    except ImportError:
        raise ConfigurationError(
            f"the keyring provider needs the keyring package: {_EXTRA_HINT}",
            provider=provider,
        ) from None
    return keyring


def _registry_key(host: str) -> str:
    """How a registry host of a parsed reference is filed: lowercase, Docker Hub as docker.io."""
    host = host.lower()
    return DOCKER_HUB if host in _HUB_HOSTS else host


def registry_name(text: str) -> str:
    """The name ``text`` is filed under: ``docker.io`` or a lowercase ``host[:port]``.

    ``text`` is a registry host with an optional ``:port``, optionally after ``https://``;
    blank means Docker Hub, as does ``https://index.docker.io/v1/``.

    Raises:
        ConfigurationError: ``text`` is not a registry host (a path, or a name Docker would
            read as a Docker Hub namespace).
    """
    raw = text.strip()
    lowered = raw.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            raw = raw[len(scheme) :]
            break
    host, _, path = raw.partition("/")
    path = path.strip("/")
    if not host or (host.lower() in _HUB_HOSTS and path in {"", "v1"}):
        return DOCKER_HUB
    problem = "keyring entries are per registry, without a path" if path else None
    if problem is None:
        try:
            parsed = ImageReference.parse(f"{host}/probe").registry
        except InvalidReferenceError:
            parsed = None
        if parsed is None or parsed.lower() != host.lower():
            problem = "expected host[:port]; a host needs a '.' or a ':port', or is localhost"
    if problem is not None:
        shown = without_userinfo(text)
        raise ConfigurationError(f"{shown!r} is not a registry: {problem}", registry=shown)
    return host.lower()


def _to_patterns(value: Iterable[str] | str | None) -> tuple[RegistryPattern, ...] | None:
    if value is None:
        return None
    texts = [value] if isinstance(value, str) else list(value)
    if not texts:
        raise ConfigurationError(
            "keyring provider: 'registries' is empty; leave it out to answer for every registry",
            provider="keyring",
        )
    return tuple(RegistryPattern.parse(text) for text in texts)


def _check_prefix(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"keyring provider: service_prefix must be a non-empty string, not {value!r}",
            provider="keyring",
        )


def _show_patterns(value: tuple[RegistryPattern, ...] | None) -> str:
    return "None" if value is None else repr([pattern.text for pattern in value])


@attrs.frozen(kw_only=True)
class KeyringProvider:
    """Registry usernames and passwords stored in the system keyring.

    Store credentials with :meth:`store` (or ``registry-auth``'s tooling), and the provider
    answers with them for references to that registry. See the module documentation for what
    is stored where.

    Args:
        service_prefix: the start of the keyring service names (``<prefix>:<registry>``).
        registries: if given, registry patterns (as in the configuration file:
            ``*.example.com``, ``localhost:5000/team``); the provider answers only for
            references under one of them.
        name: the provider's name in logs and errors.

    Raises:
        ConfigurationError: the ``keyring`` package is not installed, or an option is invalid.
    """

    service_prefix: str = attrs.field(default="registry-auth", validator=_check_prefix)
    registries: tuple[RegistryPattern, ...] | None = attrs.field(
        default=None, converter=_to_patterns, repr=_show_patterns
    )
    name: str = "keyring"

    config_options: ClassVar[OptionTypes] = {
        "service_prefix": "string",
        "registries": "strings",
        "name": "string",
    }
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        _import_keyring(self.name)  # fail when configured, not at the first pull

    def service(self, registry: str) -> str:
        """The keyring service name the password for ``registry`` is stored under."""
        return f"{self.service_prefix}:{registry_name(registry)}"

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """The stored credentials for ``ref``'s registry, or None.

        Raises:
            ProviderError: the keyring backend failed (locked, unavailable, broken index).
        """
        if self.registries is not None and not any(p.matches(ref) for p in self.registries):
            return None
        registry = _registry_key(ref.registry)
        service = f"{self.service_prefix}:{registry}"
        keyring = _import_keyring(self.name)
        with self._locked(exclusive=False), self._backend_errors("lookup", registry):
            username = self._read_index(keyring).get(registry)
            if username is not None:
                password = keyring.get_password(service, username)
            else:
                found = keyring.get_credential(service, None)
                username, password = (found.username, found.password) if found else (None, None)
        if not username or password is None:
            _logger.debug("no keyring entry for %s", registry)
            return None
        _logger.debug("keyring entry %r for %s", service, ref.registry)
        return Credentials(
            username=username, password=password, registry=ref.registry, provider=self.name
        )

    def store(
        self,
        registry: str,
        username: str,
        password: str | Secret,
        *,
        server_address: str | None = None,
    ) -> None:
        """Store ``username`` and ``password`` for ``registry``, replacing what was there.

        ``server_address`` is the address a client gave for the registry, as it wants to see
        it again in :meth:`list_addresses` (Docker's credential helpers list entries that way).

        Raises:
            ConfigurationError: ``registry`` is not a registry host, or ``username`` is empty.
            ProviderError: the keyring backend failed.
        """
        name = registry_name(registry)
        if not username:
            raise ConfigurationError(
                f"keyring provider: the username for {name} is empty",
                registry=name,
                provider=self.name,
            )
        secret = _to_secret(password)
        service = f"{self.service_prefix}:{name}"
        keyring = _import_keyring(self.name)
        with self._locked(exclusive=True), self._backend_errors("store", name):
            index, addresses = self._read_document(keyring)
            previous = index.get(name)
            keyring.set_password(service, username, secret.reveal())
            if previous is not None and previous != username:
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    keyring.delete_password(service, previous)
            index[name] = username
            if server_address and server_address != name:
                addresses[name] = server_address
            else:
                addresses.pop(name, None)
            self._write_index(keyring, index, addresses)
        _logger.debug("stored keyring entry %r", service)

    def erase(self, registry: str) -> bool:
        """Remove the credentials stored for ``registry``; whether there were any.

        Raises:
            ConfigurationError: ``registry`` is not a registry host.
            ProviderError: the keyring backend failed.
        """
        name = registry_name(registry)
        service = f"{self.service_prefix}:{name}"
        keyring = _import_keyring(self.name)
        with self._locked(exclusive=True), self._backend_errors("erase", name):
            index, addresses = self._read_document(keyring)
            username = index.pop(name, None)
            addresses.pop(name, None)
            erased = username is not None
            if erased:
                self._write_index(keyring, index, addresses)
            else:
                found = keyring.get_credential(service, None)
                username = found.username if found else None
            if username:
                try:
                    keyring.delete_password(service, username)
                except keyring.errors.PasswordDeleteError:
                    pass
                else:
                    erased = True
        _logger.debug("erased keyring entry %r: %s", service, erased)
        return erased

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the thread lock (writers only) and the lock file shared by this user's processes."""
        with self._lock if exclusive else contextlib.nullcontext():
            fd = self._open_lock_file()
            try:
                if fd is not None:
                    import fcntl  # noqa: PLC0415 - POSIX only; checked by _open_lock_file

                    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                if fd is not None:
                    os.close(fd)  # releases the lock

    def _open_lock_file(self) -> int | None:
        if sys.platform == "win32":  # pragma: no cover - POSIX locks only
            return None
        directory = Path(cache_dir(os.environ))
        digest = hashlib.sha256(self.service_prefix.encode()).hexdigest()[:16]
        try:
            problem = private_directory_problem(directory)
            if problem is None:
                return os.open(
                    directory / f"keyring-{digest}.lock",
                    os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                    PRIVATE_FILE_MODE,
                )
        except OSError as exc:
            problem = exc.strerror or type(exc).__name__
        _logger.debug(
            "not locking the keyring between processes: cache directory %s: %s", directory, problem
        )
        return None

    @contextlib.contextmanager
    def _backend_errors(self, action: str, registry: str) -> Iterator[None]:
        try:
            yield
        except ProviderError:
            raise
        except Exception as exc:  # backends raise anything: D-Bus errors, OSError, their own
            errors = _import_keyring(self.name).errors
            hint = ""
            if isinstance(exc, errors.NoKeyringError):
                hint = ": no keyring backend is available (install keyrings.alt, or run one)"
            elif isinstance(exc, errors.KeyringLocked):
                hint = ": the keyring is locked"
            # Only the type is shown: a backend's message could quote what it was given.
            raise ProviderError(
                f"keyring {action} for {registry} failed ({type(exc).__name__}){hint}",
                registry=registry,
                provider=self.name,
            ) from exc

    def _read_index(self, keyring: ModuleType) -> dict[str, str]:
        return self._read_document(keyring)[0]

    def _read_document(self, keyring: ModuleType) -> tuple[dict[str, str], dict[str, str]]:
        """The index: registry -> username, and registry -> server address as stored."""
        raw = keyring.get_password(self.service_prefix, _INDEX_USERNAME)
        if raw is None:
            return {}, {}
        try:
            data = json.loads(raw)
            registries = data["registries"]
            addresses = data.get("addresses", {})
            valid = all(
                isinstance(table, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in table.items())
                for table in (registries, addresses)
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            valid = False
        if not valid:
            raise ProviderError(
                f"the keyring index (service {self.service_prefix!r}, username "
                f"{_INDEX_USERNAME!r}) is not what registry-auth writes; delete it and store "
                "the credentials again",
                provider=self.name,
            )
        return dict(registries), {k: v for k, v in addresses.items() if k in registries}

    def _write_index(
        self, keyring: ModuleType, index: dict[str, str], addresses: dict[str, str]
    ) -> None:
        if not index:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(self.service_prefix, _INDEX_USERNAME)
            return
        document: dict[str, object] = {
            "version": _INDEX_VERSION,
            "registries": dict(sorted(index.items())),
        }
        if addresses:
            document["addresses"] = dict(sorted(addresses.items()))
        keyring.set_password(self.service_prefix, _INDEX_USERNAME, json.dumps(document))

    def list_addresses(self) -> dict[str, str]:
        """The stored entries as server address -> username, sorted by address.

        An entry's address is the ``server_address`` it was stored with, else its registry name.

        Raises:
            ProviderError: the keyring backend failed.
        """
        keyring = _import_keyring(self.name)
        with self._locked(exclusive=False), self._backend_errors("listing", self.service_prefix):
            index, addresses = self._read_document(keyring)
        return dict(sorted((addresses.get(name, name), user) for name, user in index.items()))

    # Last in the class: below this line, "list" would name the method.
    def list(self) -> dict[str, str]:
        """The registries with stored credentials, and their usernames, sorted by registry.

        Only entries made through the index (by :meth:`store`) are listed.

        Raises:
            ProviderError: the keyring backend failed.
        """
        keyring = _import_keyring(self.name)
        with self._locked(exclusive=False), self._backend_errors("listing", self.service_prefix):
            return dict(sorted(self._read_index(keyring).items()))
