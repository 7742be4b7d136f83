"""A cache for short-lived registry tokens, shared by every provider whose tokens expire.

The cache has three layers, kept apart so each can be tested on its own:

- **policy** (:class:`RefreshPolicy`, :class:`CacheEntry`): pure functions of timestamps that say
  when a token stops being fresh (by default at half of the lifetime it had when it was fetched)
  and whether it can still be used;
- **memory** (:class:`TokenCache`): entries by :class:`CacheKey`, one fetch in flight per key
  (the other callers wait for its result, nobody holds a lock while a fetch runs), and the cached
  token served, with a warning, when a refresh fails before the token expires;
- **disk** (optional): one JSON file in a private directory so that short-lived processes share
  tokens. It is the one place a token is written down, so the directory is ``0700`` and the file
  ``0600``; writes are atomic (temporary file, ``fsync``, ``os.replace``) and serialized between
  processes with ``flock``. A damaged or foreign file is ignored (and later rewritten), and a
  directory that cannot be used leaves the cache working in memory: the disk never takes the
  caller down. Fetches are serialized between processes too: a process about to fetch a token
  takes a lock file for its key (held only while fetching), then reads the file again, so that
  ten processes started together make one fetch. The kernel drops the lock of a process that
  dies; a holder that hangs is waited for only so long, then the waiter fetches on its own.

>>> import datetime as dt
>>> now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
>>> cache = TokenCache(clock=lambda: now)
>>> key = CacheKey(provider="ecr", registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com")
>>> creds = Credentials(username="AWS", password="t0ken", registry=key.registry,
...                     expires_at=now + dt.timedelta(hours=12))
>>> cache.get_or_fetch(key, lambda: creds) is creds
True
>>> cache.get_or_fetch(key, lambda: 1 / 0) is creds  # fresh: no second fetch
True
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from registry_auth._credentials import Credentials
from registry_auth._errors import ConfigurationError, RegistryAuthError, TokenFetchError
from registry_auth._files import PRIVATE_FILE_MODE, private_directory_problem, write_private_file

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    import logging

__all__ = ["CacheEntry", "CacheKey", "Clock", "RefreshPolicy", "TokenCache", "identity_digest"]

Clock = Callable[[], dt.datetime]
"""A callable returning the current time as a timezone-aware datetime."""


def _logger() -> logging.Logger:
    # Created when a warning is due: a credential helper answering from a warm cache never
    # imports logging.
    import logging  # noqa: PLC0415

    return logging.getLogger("registry_auth.cache")


_FILE_NAME: Final = "tokens.json"
_LOCK_NAME: Final = "tokens.lock"
_FETCH_LOCK_PREFIX: Final = "fetch-"
DEFAULT_FETCH_LOCK_TIMEOUT: Final = 30.0
"""How many seconds a process waits for another one's fetch of the same token."""
_FORMAT: Final = "registry-auth/token-cache"
_VERSION: Final = 1


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def identity_digest(*parts: str | None) -> str:
    """A one-way digest of the parts that identify a caller, for :attr:`CacheKey.identity`.

    Pass what tells callers apart (an access key id, a profile name, a role ARN): the digest can
    be stored and logged, the parts cannot be read back from it. ``None`` and ``""`` are equal.

    >>> identity_digest("AKIAEXAMPLE", None) == identity_digest("AKIAEXAMPLE", "")
    True
    >>> len(identity_digest("AKIAEXAMPLE"))
    32
    """
    return _digest("\x00".join(part or "" for part in parts))


@functools.lru_cache(maxsize=256)
def _digest(material: str) -> str:
    # Remembered: a provider asks for the same identity on every lookup.
    digest: str = _sha256(material.encode()).hexdigest()
    return digest[:32]


def _load_sha256() -> Callable[[bytes], Any]:
    """SHA-256 without loading OpenSSL where CPython ships its own implementation.

    ``hashlib`` loads OpenSSL's library as it is imported, which costs a short-lived process
    (a credential helper's ``get``) more than the rest of its answer. CPython's own SHA-256
    module (``_sha2`` from 3.12, ``_sha256`` before) gives the same digests.
    """
    for name in ("_sha2", "_sha256"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module.sha256  # type: ignore[no-any-return]
    from hashlib import sha256  # noqa: PLC0415 # pragma: no cover - a Python without them

    return sha256  # pragma: no cover


_sha256: Final = _load_sha256()


@attrs.frozen(kw_only=True)
class CacheKey:
    """What a cached token is filed under.

    Attributes:
        provider: the name of the provider that fetches the token (``ecr``).
        registry: the registry host the token is for, normalized by the provider.
        identity: a digest of the caller's identity (see :func:`identity_digest`), so that two
            identities never share a token; never a key or a password itself.
    """

    provider: str
    registry: str
    identity: str = ""

    def as_text(self) -> str:
        """A stable one-line form of the key, as stored on disk."""
        return f"{self.provider}|{self.registry}|{self.identity}"


def _check_fraction(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ConfigurationError(f"fresh_fraction must be in (0, 1], not {value!r}")


def _check_max_age(_instance: object, _attribute: object, value: dt.timedelta | None) -> None:
    if value is not None and value <= dt.timedelta(0):
        raise ConfigurationError(f"max_age must be positive, not {value!r}")


@attrs.frozen(kw_only=True)
class RefreshPolicy:
    """When a cached token is refreshed: pure arithmetic on timestamps, no I/O.

    Attributes:
        fresh_fraction: the share of a token's lifetime (as it was when fetched) during which the
            cached token is served without asking for a new one. ``0.5`` (the default) refreshes
            a 12-hour ECR token after 6 hours, leaving the other half as a safety margin during
            which the old token is still served if the refresh fails.
        max_age: refresh at the latest this long after a fetch, whatever the expiry says; tokens
            without an expiry stay fresh until invalidated when it is None.
    """

    fresh_fraction: float = attrs.field(default=0.5, validator=_check_fraction)
    max_age: dt.timedelta | None = attrs.field(default=None, validator=_check_max_age)

    def refresh_at(
        self, fetched_at: dt.datetime, expires_at: dt.datetime | None
    ) -> dt.datetime | None:
        """When a token fetched at ``fetched_at`` stops being fresh; None for never.

        >>> t0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        >>> RefreshPolicy().refresh_at(t0, t0 + dt.timedelta(hours=12)) - t0
        datetime.timedelta(seconds=21600)
        """
        candidates: list[dt.datetime] = []
        if expires_at is not None:
            lifetime = expires_at - fetched_at
            if lifetime <= dt.timedelta(0):
                candidates.append(fetched_at)
            else:
                candidates.append(fetched_at + lifetime * self.fresh_fraction)
        if self.max_age is not None:
            candidates.append(fetched_at + self.max_age)
        return min(candidates) if candidates else None

    def entry(self, credentials: Credentials, fetched_at: dt.datetime) -> CacheEntry:
        """The cache entry for ``credentials`` fetched at ``fetched_at``."""
        return CacheEntry(
            credentials=credentials,
            fetched_at=fetched_at,
            refresh_at=self.refresh_at(fetched_at, credentials.expires_at),
        )


@attrs.frozen(kw_only=True)
class CacheEntry:
    """A cached token and the times that decide its fate.

    Attributes:
        credentials: the cached credentials.
        fetched_at: when they were fetched.
        refresh_at: when they stop being fresh (None: never, until invalidated).
    """

    credentials: Credentials
    fetched_at: dt.datetime
    refresh_at: dt.datetime | None

    def is_fresh(self, now: dt.datetime) -> bool:
        """Whether the entry can be served without asking for a new token."""
        return (self.refresh_at is None or now < self.refresh_at) and self.is_usable(now)

    def is_usable(self, now: dt.datetime) -> bool:
        """Whether the registry still accepts the token (it has not expired)."""
        return not self.credentials.is_expired(now)


# --- the on-disk format: pure encoding and decoding -----------------------------------------


class _CorruptCacheError(Exception):
    """The cache file cannot be read as a cache of this version."""


def _encode_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _decode_time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _CorruptCacheError("a timestamp is not a string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _CorruptCacheError("a timestamp is malformed") from None
    if parsed.utcoffset() is None:
        raise _CorruptCacheError("a timestamp has no time zone")
    return parsed


def _encode_secret(value: str) -> str:
    # Not protection (the file mode is): it keeps tokens out of a casual `grep` or `cat`.
    return base64.b64encode(value.encode()).decode("ascii")


def _decode_secret(value: object) -> str:
    if not isinstance(value, str):
        raise _CorruptCacheError("a secret is not a string")
    try:
        return base64.b64decode(value, validate=True).decode()
    except ValueError:
        raise _CorruptCacheError("a secret is not base64") from None


def _encode_entry(key: CacheKey, entry: CacheEntry) -> dict[str, Any]:
    creds = entry.credentials
    return {
        "provider": key.provider,
        "registry": key.registry,
        "identity": key.identity,
        "username": creds.username,
        "password": _encode_secret(creds.password.reveal()),
        "identity_token": (
            None if creds.identity_token is None else _encode_secret(creds.identity_token.reveal())
        ),
        "credentials_registry": creds.registry,
        "credentials_provider": creds.provider,
        "expires_at": _encode_time(creds.expires_at),
        "fetched_at": _encode_time(entry.fetched_at),
        "refresh_at": _encode_time(entry.refresh_at),
    }


def _text(record: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = record.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _CorruptCacheError(f"field {name!r} is missing or not a string")
    return value


def _decode_entry(record: object) -> tuple[CacheKey, CacheEntry]:
    if not isinstance(record, dict):
        raise _CorruptCacheError("an entry is not an object")
    key = CacheKey(
        provider=_text(record, "provider"),
        registry=_text(record, "registry"),
        identity=_text(record, "identity"),
    )
    identity_token = record.get("identity_token")
    fetched_at = _decode_time(_text(record, "fetched_at"))
    if fetched_at is None:  # pragma: no cover - _text() already refused None
        raise _CorruptCacheError("an entry has no fetch time")
    try:
        credentials = Credentials(
            username=_text(record, "username"),
            password=_decode_secret(record.get("password")),
            registry=_text(record, "credentials_registry"),
            expires_at=_decode_time(record.get("expires_at")),
            identity_token=None if identity_token is None else _decode_secret(identity_token),
            provider=_text(record, "credentials_provider", optional=True),
        )
    except (TypeError, ValueError) as exc:
        raise _CorruptCacheError(f"an entry is invalid ({type(exc).__name__})") from None
    entry = CacheEntry(
        credentials=credentials,
        fetched_at=fetched_at,
        refresh_at=_decode_time(record.get("refresh_at")),
    )
    return key, entry


def _encode_file(entries: dict[CacheKey, CacheEntry]) -> bytes:
    document = {
        "format": _FORMAT,
        "version": _VERSION,
        "entries": [
            _encode_entry(key, entry)
            for key, entry in sorted(entries.items(), key=lambda item: item[0].as_text())
        ],
    }
    return json.dumps(document, indent=1).encode()


def _decode_file(data: bytes) -> dict[CacheKey, CacheEntry]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _CorruptCacheError("the file is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise _CorruptCacheError("the file is not a registry-auth token cache")
    if document.get("version") != _VERSION:
        raise _CorruptCacheError(
            f"the file has version {document.get('version')!r}, this version reads {_VERSION}"
        )
    records = document.get("entries")
    if not isinstance(records, list):
        raise _CorruptCacheError("the file has no entry list")
    return dict(_decode_entry(record) for record in records)


# --- the on-disk store: thin I/O around the format ------------------------------------------


class _DiskStore:
    """One cache file in a private directory, shared between processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / _FILE_NAME
        self.lock_file = directory / _LOCK_NAME
        self.usable = True
        self._prepared = False
        self._guard = threading.Lock()

    def load(self, key: CacheKey) -> CacheEntry | None:
        """The entry stored for ``key``, or None (missing, unreadable, or the store is off)."""
        entries = self._read_all()
        return None if entries is None else entries.get(key)

    def store(self, key: CacheKey, entry: CacheEntry | None, now: dt.datetime) -> None:
        """Write ``entry`` under ``key`` (None removes it), dropping expired entries."""
        if not self._prepare():
            return
        try:
            with self._locked(exclusive=True):
                entries = self._read_unlocked() or {}
                if entry is None:
                    entries.pop(key, None)
                else:
                    entries[key] = entry
                entries = {k: e for k, e in entries.items() if e.is_usable(now)}
                self._write_unlocked(_encode_file(entries))
        except OSError as exc:
            self._give_up("cannot write the token cache file", exc)

    def remove_registry(self, registry: str, now: dt.datetime) -> int:
        """Remove every entry for ``registry`` (and expired ones); how many were for it."""
        if not self.file.exists() or not self._prepare():
            return 0  # nothing to remove, and no directory to create for it
        try:
            with self._locked(exclusive=True):
                entries = self._read_unlocked() or {}
                kept = {k: e for k, e in entries.items() if k.registry != registry}
                removed = len(entries) - len(kept)
                kept = {k: e for k, e in kept.items() if e.is_usable(now)}
                if len(kept) != len(entries):
                    self._write_unlocked(_encode_file(kept))
        except OSError as exc:
            self._give_up("cannot write the token cache file", exc)
            return 0
        return removed

    def fetch_lock_file(self, key: CacheKey) -> Path:
        """The lock file a process holds while it fetches the token for ``key``."""
        return self.directory / f"{_FETCH_LOCK_PREFIX}{_digest(key.as_text())[:16]}.lock"

    @contextlib.contextmanager
    def fetching(self, key: CacheKey, timeout: float) -> Iterator[bool]:
        """Hold the fetch lock for ``key`` while the body runs; yields whether it is held.

        Waits at most ``timeout`` seconds for another process's fetch (a holder that died
        has no lock: the kernel released it); past that, or when the lock file cannot be
        used, the body runs without the lock: a hung process must not stop this one.
        """
        if sys.platform == "win32" or not self._prepare():  # pragma: no cover - POSIX only
            yield False
            return
        lock_file = self.fetch_lock_file(key)
        try:
            fd = os.open(
                lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE_MODE
            )
        except OSError as exc:
            _logger().debug("fetching without the lock %s: %s", lock_file, exc.strerror)
            yield False
            return
        try:
            held = _flock_within(fd, timeout)
            if not held:
                _logger().warning(
                    "another process has been fetching the token for %s for over %g s; "
                    "fetching it here too",
                    key.registry,
                    timeout,
                )
            yield held
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read_all(self) -> dict[CacheKey, CacheEntry] | None:
        if not self._prepare():
            return None
        try:
            with self._locked(exclusive=False):
                return self._read_unlocked()
        except OSError as exc:
            self._give_up("cannot read the token cache file", exc)
            return None

    def _read_unlocked(self) -> dict[CacheKey, CacheEntry] | None:
        try:
            data = self.file.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _decode_file(data)
        except _CorruptCacheError as exc:
            _logger().warning(
                "ignoring the token cache file %s: %s; it will be rewritten", self.file, exc
            )
            return None

    def _write_unlocked(self, data: bytes) -> None:
        write_private_file(self.file, data)

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _prepare(self) -> bool:
        with self._guard:
            if not self.usable:
                return False
            if self._prepared:
                return True
            try:
                self._make_private_directory()
            except OSError as exc:
                self._give_up_locked("cannot use the token cache directory", exc)
                return False
            except _UnsafeDirectoryError as exc:
                self.usable = False
                _logger().warning(
                    "not persisting tokens in %s: %s; keeping them in memory only",
                    self.directory,
                    exc,
                )
                return False
            self._prepared = True
            return True

    def _make_private_directory(self) -> None:
        problem = private_directory_problem(self.directory)
        if problem is not None:
            raise _UnsafeDirectoryError(problem)

    def _give_up(self, what: str, exc: OSError) -> None:
        with self._guard:
            self._give_up_locked(what, exc)

    def _give_up_locked(self, what: str, exc: OSError) -> None:
        if self.usable:
            self.usable = False
            _logger().warning(
                "%s in %s (%s: %s); keeping tokens in memory only",
                what,
                self.directory,
                type(exc).__name__,
                exc.strerror or "error",
            )


def _flock_within(fd: int, timeout: float) -> bool:
    """Take an exclusive ``flock`` on ``fd``, trying until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while (held := _try_flock(fd)) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.1)
    return held


def _try_flock(fd: int) -> bool | None:
    """True: locked; None: another process holds the lock; False: locks do not work here."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    except OSError:
        return False  # a file system without locks: fetch without one
    return True


class _UnsafeDirectoryError(Exception):
    """The cache directory exists but is not private to this user."""


# --- the cache ------------------------------------------------------------------------------


class _Flight:
    """One fetch in progress: the callers waiting on it get its credentials, or its error.

    What ``concurrent.futures.Future`` would do here, without importing that package (and
    logging with it) into every process that reads the cache.
    """

    __slots__ = ("_done", "_error", "_result")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._result: Credentials | None = None
        self._error: BaseException | None = None

    def finish(self, result: Credentials | None, error: BaseException | None = None) -> None:
        """Hand the outcome to every waiter."""
        self._result, self._error = result, error
        self._done.set()

    def wait(self) -> Credentials:
        """The fetch's credentials, once it is over; its error raised again, if it failed."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        if self._result is None:  # pragma: no cover - finish() gives one or the other
            raise RuntimeError("a token fetch ended with neither credentials nor an error")
        return self._result


class TokenCache:
    """Caches expiring credentials per :class:`CacheKey`; thread-safe.

    Args:
        path: a directory to persist tokens in, for short-lived processes that should share
            them; created ``0700`` if missing, and refused (with a warning, the cache then
            works in memory) if it is open to other users. None (the default) keeps tokens in
            memory only.
        policy: when tokens are refreshed; the default refreshes at half their lifetime.
        clock: returns the current time (timezone-aware); the system clock by default.
        fetch_lock_timeout: with ``path``, how many seconds to wait for another process that
            is fetching the same token before fetching it here too.

    A provider calls :meth:`get_or_fetch` with a fetch function. Concurrent calls for one key
    make one fetch; calls for other keys are not held up by it. When a refresh fails while the
    cached token is still valid, that token is served and a warning is logged on the
    ``registry_auth.cache`` logger; when no valid token is cached, the failure is raised as a
    :class:`~registry_auth.TokenFetchError`.

    Calls block while a fetch runs; asyncio code calls them in worker threads
    (``asyncio.to_thread``), and concurrent tasks still make one fetch.
    """

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        policy: RefreshPolicy | None = None,
        clock: Clock | None = None,
        fetch_lock_timeout: float = DEFAULT_FETCH_LOCK_TIMEOUT,
    ) -> None:
        if not fetch_lock_timeout >= 0:
            raise ConfigurationError(
                f"fetch_lock_timeout must be zero or more seconds, not {fetch_lock_timeout!r}"
            )
        self._fetch_lock_timeout = fetch_lock_timeout
        self._policy = policy if policy is not None else RefreshPolicy()
        self._clock: Clock = clock if clock is not None else _utc_now
        self._disk = None if path is None else _DiskStore(Path(path))
        self._lock = threading.Lock()  # guards the two dicts; never held during a fetch or I/O
        self._entries: dict[CacheKey, CacheEntry] = {}
        self._in_flight: dict[CacheKey, _Flight] = {}

    @property
    def policy(self) -> RefreshPolicy:
        """The refresh policy in force."""
        return self._policy

    @property
    def path(self) -> Path | None:
        """The directory tokens are persisted in, or None for a memory-only cache."""
        return None if self._disk is None else self._disk.directory

    @property
    def file(self) -> Path | None:
        """The file tokens are persisted in, or None for a memory-only cache."""
        return None if self._disk is None else self._disk.file

    @property
    def persistent(self) -> bool:
        """Whether tokens are currently written to disk (False after a disk failure)."""
        return self._disk is not None and self._disk.usable

    def now(self) -> dt.datetime:
        """The current time by this cache's clock."""
        now = self._clock()
        if now.utcoffset() is None:
            raise ConfigurationError("the token cache clock returned a naive datetime")
        return now

    def keys(self) -> list[CacheKey]:
        """The keys of the entries held in memory (keys hold no secret)."""
        with self._lock:
            return list(self._entries)

    def peek(self, key: CacheKey) -> CacheEntry | None:
        """The entry held in memory for ``key``, fresh or not, without fetching anything."""
        with self._lock:
            return self._entries.get(key)

    def get_or_fetch(self, key: CacheKey, fetch: Callable[[], Credentials]) -> Credentials:
        """Return fresh credentials for ``key``, calling ``fetch`` only when needed.

        Raises:
            TokenFetchError: ``fetch`` failed and no unexpired token is cached. Errors that
                ``fetch`` raises as :class:`~registry_auth.RegistryAuthError` pass unchanged;
                others are wrapped (naming the registry and the error class) and chained.
        """
        now = self.now()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.is_fresh(now):
                return entry.credentials
            flight = self._in_flight.get(key)
            leader = flight is None
            if flight is None:
                flight = _Flight()
                self._in_flight[key] = flight
        if not leader:
            return flight.wait()
        try:
            result = self._refresh(key, fetch, entry)
        except BaseException as exc:
            flight.finish(None, exc)
            raise
        else:
            flight.finish(result)
            return result
        finally:
            with self._lock:
                del self._in_flight[key]

    def invalidate(self, key: CacheKey) -> None:
        """Forget the token cached for ``key`` (in memory and on disk)."""
        with self._lock:
            self._entries.pop(key, None)
        if self._disk is not None:
            self._disk.store(key, None, self.now())

    def forget_registry(self, registry: str) -> int:
        """Forget every token cached for ``registry`` (a normalized host), in memory and on disk.

        Whatever the provider or identity it was fetched for: logging out of a registry leaves
        no token for it behind. Returns how many entries were removed.
        """
        with self._lock:
            keys = [key for key in self._entries if key.registry == registry]
            for key in keys:
                del self._entries[key]
        on_disk = 0 if self._disk is None else self._disk.remove_registry(registry, self.now())
        return max(len(keys), on_disk)

    def clear(self) -> None:
        """Forget every token held in memory (the disk file is left to expire)."""
        with self._lock:
            self._entries.clear()

    def _refresh(
        self, key: CacheKey, fetch: Callable[[], Credentials], entry: CacheEntry | None
    ) -> Credentials:
        """Fetch a token for ``key`` (the caller is the only one doing so for this key)."""
        if self._disk is None:
            return self._fetch(key, fetch, entry)
        found = self._from_disk(self._disk, key, entry)
        if isinstance(found, Credentials):
            return found
        with self._disk.fetching(key, self._fetch_lock_timeout):
            # Another process may have fetched while this one waited for the lock.
            found = self._from_disk(self._disk, key, found)
            if isinstance(found, Credentials):
                return found
            return self._fetch(key, fetch, found)

    def _from_disk(
        self, disk: _DiskStore, key: CacheKey, entry: CacheEntry | None
    ) -> Credentials | CacheEntry | None:
        """Fresh credentials from the disk, else the best entry to fall back on."""
        stored = disk.load(key)
        if stored is None:
            return entry
        if stored.is_fresh(self.now()):
            with self._lock:
                self._entries[key] = stored
            return stored.credentials
        if entry is None or _expires_later(stored, entry):
            return stored
        return entry

    def _fetch(
        self, key: CacheKey, fetch: Callable[[], Credentials], entry: CacheEntry | None
    ) -> Credentials:
        try:
            credentials = fetch()
        except Exception as exc:  # noqa: BLE001 - any failure of a fetch is a failed refresh
            return self._fall_back(key, entry, exc)
        if not isinstance(credentials, Credentials):
            raise TypeError(
                f"the fetch function for {key.registry} returned {type(credentials).__name__}, "
                "not Credentials"
            )
        fetched_at = self.now()
        new_entry = self._policy.entry(credentials, fetched_at)
        if not new_entry.is_usable(fetched_at):
            _logger().warning(
                "the token just fetched for %s expired at %s, before this machine's time %s "
                "(is the clock right?); it is returned but not cached",
                key.registry,
                _encode_time(credentials.expires_at),
                _encode_time(fetched_at),
            )
            return credentials
        with self._lock:
            self._entries[key] = new_entry
        if self._disk is not None:
            self._disk.store(key, new_entry, fetched_at)
        return credentials

    def _fall_back(self, key: CacheKey, entry: CacheEntry | None, exc: Exception) -> Credentials:
        now = self.now()
        cause = _describe(exc)
        if entry is not None and entry.is_usable(now):
            _logger().warning(
                "refreshing the token for %s failed (%s); serving the cached token, which "
                "expires at %s",
                key.registry,
                cause,
                _encode_time(entry.credentials.expires_at) or "no set time",
            )
            with self._lock:
                self._entries.setdefault(key, entry)
            return entry.credentials
        if isinstance(exc, RegistryAuthError):
            raise exc
        raise TokenFetchError(
            f"could not fetch a token for {key.registry}: {cause}",
            registry=key.registry,
            provider=key.provider,
        ) from exc

    def __repr__(self) -> str:
        with self._lock:
            count = len(self._entries)
        where = None if self._disk is None else str(self._disk.directory)
        return f"TokenCache(path={where!r}, policy={self._policy!r}, entries={count})"


def _expires_later(first: CacheEntry, second: CacheEntry) -> bool:
    a, b = first.credentials.expires_at, second.credentials.expires_at
    if a is None or b is None:
        return a is None and b is not None
    return a > b


def _describe(exc: BaseException) -> str:
    """Name an exception without its message (which may quote a request or a secret)."""
    if isinstance(exc, RegistryAuthError):
        return f"{type(exc).__name__}: {exc.message}"
    return type(exc).__name__
