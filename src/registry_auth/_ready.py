"""Ready answers: the credential helper's last answer for an address, kept for its next runs.

Docker starts ``docker-credential-registry-auth get`` once per pull (and once per configured
registry for a build), so most of the helper's time used to go to starting Python and
importing what builds the answer: attrs, the configuration, the providers, the token cache.
After answering, the helper writes the answer down with everything it was computed from; the
next run for the same address reads it back with nothing but ``os`` and a hash, and answers
if nothing it depended on has changed:

- the environment, byte for byte (but ``LC_CTYPE``, which Python may set as it starts), the
  working directory and the user;
- every file it read or looked for: each place in the configuration search order (a file
  created higher in the order is seen), the secret files the configuration named, the token
  cache file (a token refreshed or invalidated by another process is seen);
- the time: an answer holds until the token it carries stops being fresh (an ECR token at half
  its life, as the token cache decides), and never longer than :data:`MAX_AGE`.

Answers that depend on anything else are never written: a keyring lookup, another credential
helper, a plug-in provider. Nor is an answer written while a file it depends on changed in the
seconds before the run began (a file changed twice in one timestamp tick could otherwise go
unnoticed). Anything unexpected on the fast path (a missing, unreadable, foreign or malformed
record) makes the helper compute the answer in full, as if there were no record.

Records live in ``<cache dir>/answers``, a directory of mode 0700, one file of mode 0600 per
address (``<digest of the address>.answer``): they hold a secret, like the token cache beside
them.

This module imports only what Python has loaded at start-up anyway (and a SHA-256).
"""

from __future__ import annotations

import os
import stat
import sys
import time

from registry_auth._locations import cache_dir, config_candidates

# The hash alone, without hashlib (which loads OpenSSL): a few milliseconds per run.
if sys.version_info >= (3, 12):
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
else:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["MAX_AGE", "RACY_WINDOW", "answers_dir", "dependencies", "lookup", "record"]

MAX_AGE = 15 * 60.0
"""The longest a ready answer is served, in seconds, whatever the token's lifetime."""

RACY_WINDOW = 2.0
"""Seconds: a file changed this close to a run may change again unseen (timestamps are coarse)."""

_HEADER = b"registry-auth ready answer 1\n"
_POSIX = sys.platform != "win32"  # private files and directories need POSIX permissions
_CLOCK_SKEW = 5.0  # seconds: a record written "later" than now means the clock went back
_MAX_RECORD = 64 * 1024
_NAME_LENGTH = 40
_SUFFIX = ".answer"


def answers_dir(environ: Mapping[str, str]) -> str:
    """The directory the ready answers live in."""
    return os.path.join(cache_dir(environ), "answers")


def _record_path(directory: str, address: str) -> str:
    name = sha256(address.encode("utf-8", "surrogateescape")).hexdigest()[:_NAME_LENGTH]
    return os.path.join(directory, name + _SUFFIX)


def _stamp(path: bytes) -> bytes:
    """What identifies ``path``'s current content (``-`` when it does not exist)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return b"-"
    return b"%d:%d:%d:%d:%d:%d" % (
        info.st_dev,
        info.st_ino,
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
        info.st_mode,
    )


# Python may set LC_CTYPE itself as it starts (PEP 538, in the C locale), so the helper's
# native client, which reads the environment before any Python runs, would never see the same
# value; no answer depends on the locale.
_NOT_DIGESTED = b"LC_CTYPE"


def _environment_bytes(environ: Mapping[str, str]) -> Iterable[tuple[bytes, bytes]]:
    items: Iterable[tuple[bytes, bytes]]
    if environ is os.environ:
        items = os.environb.items()
    else:
        items = ((os.fsencode(key), os.fsencode(value)) for key, value in environ.items())
    return sorted(item for item in items if item[0] != _NOT_DIGESTED)


def _digest(address: str, environ: Mapping[str, str], files: Iterable[bytes]) -> str:
    """A digest of everything an answer for ``address`` was computed from."""
    digest = sha256()
    update = digest.update
    for key, value in _environment_bytes(environ):
        update(b"%s=%s\0" % (key, value))
    update(
        b"\1%s\0%d\0%s\0" % (os.getcwdb(), os.geteuid(), address.encode("utf-8", "surrogateescape"))
    )
    for path in files:
        update(b"%s\0%s\0" % (path, _stamp(path)))
    text: str = digest.hexdigest()
    return text


def _private(info: os.stat_result, *, directory: bool) -> bool:
    kind = stat.S_ISDIR if directory else stat.S_ISREG
    return (
        kind(info.st_mode)
        and info.st_uid == os.geteuid()
        and not stat.S_IMODE(info.st_mode) & 0o077
    )


def _read_record(path: str) -> bytes | None:
    if not _POSIX:  # pragma: no cover - records are written on POSIX systems only
        return None
    try:
        directory = os.lstat(os.path.dirname(path))
        if not _private(directory, directory=True):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not _private(os.fstat(fd), directory=False):
            return None
        return os.read(fd, _MAX_RECORD + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def lookup(address: str, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The ready answer for ``address`` (what ``get`` prints), or None to compute it in full.

    Never raises: whatever goes wrong here, the full path will meet again and report.
    """
    env = os.environ if environ is None else environ
    try:
        data = _read_record(_record_path(answers_dir(env), address))
        if data is None or len(data) > _MAX_RECORD or not data.startswith(_HEADER):
            return None
        header, blank, answer = data[len(_HEADER) :].partition(b"\n\n")
        if not blank:
            return None
        written, until, expected, *files = header.split(b"\n")
        now = time.time()
        if not float(written) - _CLOCK_SKEW <= now < float(until):
            return None
        paths = [bytes.fromhex(file.decode("ascii")) for file in files]
        if _digest(address, env, paths) != expected.decode("ascii"):
            return None
    except (OSError, ValueError):  # UnicodeError is a ValueError
        return None
    return answer


def _changed_lately(paths: Iterable[bytes], since: float) -> bool:
    for path in paths:
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if max(info.st_mtime, info.st_ctime) >= since - RACY_WINDOW:
            return True
    return False


def dependencies(environ: Mapping[str, str], files: Iterable[str]) -> list[bytes]:
    """The files an answer depends on: the configuration search order, then ``files``."""
    paths = [*config_candidates(environ), *files]
    return list(dict.fromkeys(os.fsencode(path) for path in paths))


def record(
    address: str,
    answer: bytes,
    *,
    files: Iterable[str],
    until: float,
    started: float,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Keep ``answer`` for ``address`` until ``until`` (seconds since the epoch).

    ``files`` are the files the answer was computed from besides the configuration search
    order; ``started`` is when computing it began. Returns whether the answer was written: not
    when a file it depends on changed since shortly before ``started``, nor when the directory
    is not private to this user or cannot be written.
    """
    from pathlib import Path  # noqa: PLC0415 - the slow path only

    from registry_auth._files import private_directory_problem, write_private_file  # noqa: PLC0415

    env = os.environ if environ is None else environ
    paths = dependencies(env, files)
    now = time.time()
    until = min(until, now + MAX_AGE)
    if until <= now or _changed_lately(paths, started):
        return False
    if any(b"\n" in path for path in paths):  # pragma: no cover - hex-encoded below anyway
        return False
    directory = answers_dir(env)
    try:
        if private_directory_problem(Path(directory)) is not None:
            return False
        lines = [b"%r" % now, b"%r" % until, _digest(address, env, paths).encode("ascii")]
        lines += [path.hex().encode("ascii") for path in paths]
        data = _HEADER + b"\n".join(lines) + b"\n\n" + answer
        if len(data) > _MAX_RECORD:
            return False
        write_private_file(Path(_record_path(directory, address)), data)
    except OSError:
        return False
    _prune(directory, now)
    return True


def _prune(directory: str, now: float) -> None:
    """Delete the records that can no longer be served."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if len(name) != _NAME_LENGTH + len(_SUFFIX) or not name.endswith(_SUFFIX):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(_HEADER) + 64)
            if not head.startswith(_HEADER) or float(head.split(b"\n")[2]) <= now:
                os.unlink(path)
        except (OSError, ValueError, IndexError):
            continue
