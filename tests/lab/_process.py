"""Child processes that the stack starts, watches and stops by their PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import attrs

from tests.lab._errors import StackError

__all__ = ["ManagedProcess", "log_tail", "spawn", "wait_until"]

_TAIL_LINES = 20


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """Return the last *lines* lines of the log file at *path* ("" when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@attrs.define(kw_only=True)
class ManagedProcess:
    """A child process with its log file, stopped by its PID and nothing else."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The PID of the process."""
        return self.popen.pid

    def running(self) -> bool:
        """Tell whether the process has not exited yet."""
        return self.popen.poll() is None

    def terminate(self) -> None:
        """Send SIGTERM, if the process still runs; do not wait."""
        if self.running():
            self._signal(signal.SIGTERM)

    def wait_stopped(self, grace: float) -> None:
        """Wait *grace* seconds for the process to exit, then SIGKILL it and reap it."""
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process, SIGKILL it after *grace* seconds, and wait for it to exit."""
        self.terminate()
        self.wait_stopped(grace)

    def describe(self) -> str:
        """Say how the process is doing, with the end of its log, for error messages."""
        code = self.popen.poll()
        state = "still running" if code is None else f"exited with status {code}"
        tail = log_tail(self.log_path)
        return f"{self.name} (pid {self.pid}) {state}; log {self.log_path}:\n{tail}"

    def _signal(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signum)


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    stdout_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """Start *argv* in its own session, its output appended to files.

    stderr goes to *log_path*; stdout goes to *stdout_path* when given (a registry writes its
    access log there), else to *log_path* too. The process gets a session of its own so that a
    Ctrl-C in the terminal reaches the test run, which then stops it in order.
    """
    with log_path.open("ab") as log:
        if stdout_path is None:
            return ManagedProcess(
                name=name, popen=_popen(argv, stdout=log, stderr=log, env=env), log_path=log_path
            )
        with stdout_path.open("ab") as out:
            return ManagedProcess(
                name=name, popen=_popen(argv, stdout=out, stderr=log, env=env), log_path=log_path
            )


def _popen(
    argv: Sequence[str], *, stdout: BinaryIO, stderr: BinaryIO, env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=None if env is None else dict(env),
        start_new_session=True,
        close_fds=True,
    )


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: ManagedProcess | None = None,
    interval: float = 0.02,
) -> None:
    """Poll *check* until it returns true, for at most *timeout* seconds.

    Raises:
        StackError: when the time is up, or as soon as *process* exits; the message says what
            was awaited and ends with the process's log.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if process is not None and not process.running():
            raise StackError(f"{what}: the process stopped\n{process.describe()}")
        if time.monotonic() >= deadline:
            detail = f"\n{process.describe()}" if process is not None else ""
            raise StackError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)
