"""Writing files that may hold secrets: all or nothing, and readable by their owner only."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "private_directory_problem",
    "write_private_file",
]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_directory_problem(path: Path) -> str | None:
    """Create ``path`` (mode 0700) if missing; say why it is not private to this user, if not.

    Raises:
        OSError: the directory cannot be created or examined.
    """
    if sys.platform == "win32":  # pragma: no cover - POSIX permissions only
        return "private directories need a POSIX system"
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True)
    except FileExistsError:
        pass
    else:
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    info = os.stat(path, follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if info.st_uid != os.geteuid():
        return "it belongs to another user"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"its mode is {stat.S_IMODE(info.st_mode):04o}; it must be 0700"
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
