"""The process groups registry-auth starts, so that none of them outlives it.

Credential helpers (``docker-credential-*``) run in a session and process group of their own,
so that a helper and every process it starts can be killed together. Each group is recorded
here while it runs; :func:`kill_all` kills those still running, and the command line calls it
when SIGTERM or SIGINT ends it, whichever thread was waiting on a helper then.

A process that leaves SIGTERM to its default action (the credential helper, the kubelet plugin,
most programs using the library) would die at once and leave the group behind. While a group
runs, such a process gets a handler that kills the groups first and then dies of the same
signal, as it would have: its exit status does not change. A handler someone else installed is
left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence

__all__ = ["kill_all", "running", "start_group"]

_lock = threading.Lock()
_groups: set[int] = set()


def _kill(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _die_after_killing_groups(signum: int, _frame: object) -> None:
    kill_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _groups_die_first() -> Iterator[None]:
    """While the block runs, a default SIGTERM kills the recorded groups before this process."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _die_after_killing_groups)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is _die_after_killing_groups:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def start_group(args: Sequence[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``args`` with pipes for stdin, stdout and stderr, in a new session; yield it.

    The group is recorded until the block ends. If the block ends by an exception (a timeout,
    an interrupt, SIGTERM), the whole group is killed before the exception goes on; a SIGTERM
    this process would die of kills it first too.
    """
    with (
        _groups_die_first(),
        subprocess.Popen(  # noqa: S603 - callers pass a validated program
            list(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as process,
    ):
        # The group id is the leader's pid, which is not reused before it is waited for.
        with _lock:
            _groups.add(process.pid)
        try:
            yield process
        except BaseException:
            _kill(process.pid)
            raise
        finally:
            with _lock:
                _groups.discard(process.pid)


def running() -> frozenset[int]:
    """The ids of the process groups started and not yet finished."""
    with _lock:
        return frozenset(_groups)


def kill_all() -> None:
    """Kill every process group started here that is still running (SIGKILL)."""
    with _lock:
        groups = list(_groups)
    for group in groups:
        _kill(group)
