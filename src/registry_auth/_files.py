"""Writing files that may hold secrets: all or nothing, and readable by their owner only."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

__all__ = [
    "MAX_SECRET_FILE_BYTES",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "UnreadableFileError",
    "creation_problem",
    "private_directory_problem",
    "read_small_regular_file",
    "write_private_file",
]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
MAX_SECRET_FILE_BYTES = 64 * 1024
"""The largest secret file read: far above any password, token or key file."""


class UnreadableFileError(Exception):
    """A file cannot be read as asked; ``reason`` says why, never what the file holds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_small_regular_file(path: Path, *, limit: int) -> bytes:
    """The bytes of ``path``, if it is a regular file of at most ``limit`` bytes.

    The file is opened without blocking (a FIFO with no writer, a device) and examined on the
    open descriptor before anything is read, so that ``/dev/zero``, a pipe or a terminal is
    refused at once instead of hanging the caller or filling its memory.

    Raises:
        UnreadableFileError: the file is missing, unreadable, not a regular file, or too big.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnreadableFileError(exc.strerror or type(exc).__name__) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFileError(f"it is not a regular file ({_file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise UnreadableFileError(f"it is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:  # the file may grow after fstat(): read at most one byte past the limit
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise UnreadableFileError(f"it is larger than {limit} bytes")
    except OSError as exc:
        raise UnreadableFileError(exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def private_directory_problem(path: Path) -> str | None:
    """Create ``path`` (mode 0700) if missing; say why it is not private to this user, if not.

    Directories missing above ``path`` (``~/.cache`` on a new account) are created 0700 too,
    but only inside a directory that belongs to this user: a process running as root with
    another user's ``HOME`` leaves no root-owned ``~/.config`` or ``~/.cache`` behind, and
    says why it did not create them.

    Raises:
        OSError: the directory cannot be created or examined.
    """
    if sys.platform == "win32":  # pragma: no cover - POSIX permissions only
        return "private directories need a POSIX system"
    if not os.path.lexists(path):
        problem = creation_problem(path)
        if problem is not None:
            return problem
        for directory in [*reversed(_missing_parents(path)), path]:
            try:
                directory.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue  # made meanwhile by another process: examined below like any other
            os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    info = os.stat(path, follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if info.st_uid != os.geteuid():
        return "it belongs to another user"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"its mode is {stat.S_IMODE(info.st_mode):04o}; it must be 0700"
    return None


def _missing_parents(path: Path) -> list[Path]:
    """The directories above ``path`` that do not exist, nearest first."""
    missing = []
    parent = path.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    return missing


def nearest_existing_parent(path: Path) -> Path:
    """The nearest directory above ``path`` that exists: where creating it starts."""
    missing = _missing_parents(path)
    return (missing[-1] if missing else path).parent


def creation_problem(path: Path) -> str | None:
    """Why ``path`` (and the directories missing above it) may not be created, if it may not.

    What exists nearest above it must be a directory that belongs to this user.
    """
    parent = nearest_existing_parent(path)
    try:
        info = os.stat(parent)
    except FileNotFoundError:  # pragma: no cover - removed while we looked
        return f"it would be created in {parent}, which does not exist"
    if not stat.S_ISDIR(info.st_mode):
        return f"it would be created in {parent}, which is not a directory"
    if info.st_uid != os.geteuid():
        return (
            f"it would be created in {parent}, which belongs to another user (uid {info.st_uid}, "
            f"this process runs as uid {os.geteuid()})"
        )
    return None


def write_private_file(path: Path, data: bytes, *, keep_owner: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600, and flush it to disk.

    The data goes to a temporary file in the same directory, which is then renamed over
    ``path``: readers see the old file or the new one, never a half-written one. With
    ``keep_owner``, a process running as root gives the new file the old one's owner, so that
    editing a user's file as root does not take it away from them.
    """
    # Imported here: tempfile pulls in shutil, random and the compression modules, which a
    # process that only reads (a credential helper with a warm cache) never needs.
    import tempfile  # noqa: PLC0415

    previous = None
    if keep_owner and os.geteuid() == 0:
        with contextlib.suppress(FileNotFoundError):
            previous = os.stat(path)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
            if previous is not None:
                os.fchown(handle.fileno(), previous.st_uid, previous.st_gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
