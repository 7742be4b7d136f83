"""Network namespaces: a private loopback for the stack, named uniquely per run."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

import attrs

from tests.lab._components import require_executable
from tests.lab._errors import StackError

__all__ = ["NetworkNamespace", "reap_orphaned_namespaces"]

NAMESPACE_DIRECTORY = Path("/run/netns")
DEFAULT_PREFIX = "ra-lab"

_sequence = itertools.count()


def _ip(*arguments: str, check: bool = True) -> str:
    result = subprocess.run(
        [require_executable("ip"), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if check and result.returncode != 0:
        raise StackError(f"ip {' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout


@attrs.frozen(kw_only=True)
class NetworkNamespace:
    """A named network namespace (``ip netns``) whose name holds the PID of the run that made it.

    Its loopback interface is up, so every address of 127.0.0.0/8 can be listened on inside;
    :meth:`add_address` adds others.
    """

    name: str

    @property
    def path(self) -> Path:
        """The file that pins the namespace, for ``nsenter --net=PATH``."""
        return NAMESPACE_DIRECTORY / self.name

    @classmethod
    def create(cls, prefix: str = DEFAULT_PREFIX) -> NetworkNamespace:
        """Create a new namespace named ``PREFIX-PID-N`` with its loopback up."""
        while True:
            name = f"{prefix}-{os.getpid()}-{next(_sequence)}"
            if not (NAMESPACE_DIRECTORY / name).exists():
                break
        _ip("netns", "add", name)
        namespace = cls(name=name)
        try:
            _ip("-n", name, "link", "set", "lo", "up")
        except BaseException:
            namespace.delete()
            raise
        return namespace

    def add_address(self, address: str) -> None:
        """Put *address* (IPv4) on the namespace's loopback, where only the namespace sees it."""
        _ip("-n", self.name, "address", "add", f"{address}/32", "dev", "lo")

    def exists(self) -> bool:
        """Tell whether the namespace is still there."""
        return self.path.exists()

    def pids(self) -> list[int]:
        """PIDs of the processes that live in the namespace now."""
        if not self.exists():
            return []
        return [int(word) for word in _ip("netns", "pids", self.name, check=False).split()]

    def delete(self, grace: float = 5.0) -> None:
        """Stop what still runs inside (SIGTERM, then SIGKILL after *grace*), then delete it.

        Everything inside was started by the stack, so nothing else is touched.
        """
        if not self.exists():
            return
        _signal_all(self.pids(), signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_all(self.pids(), signal.SIGKILL)
        deadline = time.monotonic() + grace
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            _ip("netns", "delete", self.name)
        except StackError:
            if self.exists():
                raise  # else another run reaping orphans deleted it first


def _signal_all(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphaned_namespaces(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Delete namespaces left by runs that died before cleaning up, with what runs inside.

    A namespace is an orphan when the PID in its name is no longer alive; namespaces of runs
    still going on are left alone. Returns the names deleted.
    """
    if not NAMESPACE_DIRECTORY.is_dir():
        return []
    reaped = []
    for entry in sorted(NAMESPACE_DIRECTORY.iterdir()):
        parts = entry.name.rsplit("-", 2)
        if len(parts) != 3 or parts[0] != prefix or not parts[1].isdigit():
            continue
        if int(parts[1]) == os.getpid() or _alive(int(parts[1])):
            continue
        NetworkNamespace(name=entry.name).delete()
        reaped.append(entry.name)
    return reaped
