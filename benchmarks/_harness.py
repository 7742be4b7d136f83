"""Timing, the results table and the machine description, shared by every benchmark.

Side-by-side timings are *interleaved*: each run times every contender once, in a rotating
order, so that a burst of load on the machine hurts all of them alike. Reported values are
medians over the runs, and ratios are ours divided by the peer's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Command",
    "Row",
    "check_real_interpreter",
    "format_table",
    "interleaved",
    "machine",
    "median",
    "time_commands",
]


_EMPTY = "<an empty program>"
EMPTY_PROGRAM = "true"
"""Where :func:`time_commands` puts the times of the empty program it subtracted (spawn loop)."""


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (at least one)."""
    if not values:
        raise ValueError("no values")
    return statistics.median(values)


def interleaved(
    contenders: Mapping[str, Callable[[], object]],
    runs: int,
    *,
    before: Callable[[], object] | None = None,
) -> dict[str, list[float]]:
    """Time each contender ``runs`` times, taking turns; seconds per call, by name.

    ``before``, if given, runs untimed before every call (to empty a cache, say).
    """
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for run in range(runs):
        shift = run % len(names)
        for name in names[shift:] + names[:shift]:
            if before is not None:
                before()
            started = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - started)
    return times


@dataclasses.dataclass(frozen=True)
class Command:
    """A program to time: its arguments and, optionally, its stdin and environment variables.

    ``env`` is added to (and wins over) the environment every command of a run shares.
    """

    argv: tuple[str, ...]
    stdin: bytes | None = None
    env: Mapping[str, str] | None = None


def _hyperfine(
    commands: Mapping[str, Command], runs: int, warmup: int, env: Mapping[str, str], tool: str
) -> dict[str, list[float]]:
    """Time with hyperfine, without a shell (``-N``), in a few rounds of rotating order."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    rounds = 3 if runs >= 6 else 1  # noqa: PLR2004 - a few rounds, in rotating order
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for round_index in range(rounds):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            report = Path(scratch) / f"round-{round_index}.json"
            argv = [
                tool,
                "--shell=none",
                "--style=none",
                f"--runs={max(2, runs // rounds)}",
                f"--warmup={warmup}",
                f"--export-json={report}",
                *(shlex.join(commands[name].argv) for name in order),
            ]
            subprocess.run(  # noqa: S603 - our own command lines
                argv,
                env=dict(env),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=600,
            )
            results = json.loads(report.read_text())["results"]
            for name, result in zip(order, results, strict=True):
                times[name].extend(float(t) for t in result["times"])
    return times


def _spawn_and_wait(command: Command, env: Mapping[str, str], stdin_file: Path | None) -> float:
    """Seconds from starting ``command`` to its exit (posix_spawn, stdin from a file)."""
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    if stdin_file is not None:
        actions.append((os.POSIX_SPAWN_OPEN, 0, str(stdin_file), os.O_RDONLY, 0))
    program = shutil.which(command.argv[0], path=env.get("PATH")) or command.argv[0]
    environment = {**env, **(command.env or {})}
    started = time.perf_counter()
    pid = os.posix_spawn(program, list(command.argv), environment, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{shlex.join(command.argv)} failed while being timed")
    return elapsed


def _spawn_loop(
    commands: Mapping[str, Command], runs: int, warmup: int, env: Mapping[str, str]
) -> dict[str, list[float]]:
    """Time from Python with posix_spawn, taking turns; each time minus an empty program's."""
    empty = shutil.which("true") or "/bin/true"
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        inputs: dict[str, Path | None] = {}
        for index, (name, command) in enumerate(commands.items()):
            if command.stdin is None:
                inputs[name] = None
            else:
                path = Path(scratch) / f"stdin-{index}"
                path.write_bytes(command.stdin)
                inputs[name] = path
        contenders = {**commands, _EMPTY: Command((empty,))}
        inputs[_EMPTY] = None
        for name, command in contenders.items():
            for _ in range(warmup):
                _spawn_and_wait(command, env, inputs[name])
        names = list(contenders)
        raw: dict[str, list[float]] = {name: [] for name in names}
        for run in range(runs):
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                raw[name].append(_spawn_and_wait(contenders[name], env, inputs[name]))
    empty_times = raw.pop(_EMPTY)
    overhead = median(empty_times)
    times = {name: [max(0.0, t - overhead) for t in values] for name, values in raw.items()}
    times[EMPTY_PROGRAM] = empty_times  # as measured: what any process costs to start here
    return times


def time_commands(
    commands: Mapping[str, Command],
    *,
    runs: int,
    warmup: int = 3,
    env: Mapping[str, str] | None = None,
    use_hyperfine: bool = False,
) -> tuple[dict[str, list[float]], str]:
    """Time whole processes, without a shell: seconds per run by name, and the method used.

    By default the commands are started from Python with ``posix_spawn``, taking turns run by
    run (so that a burst of load on a shared machine hits them all), stdin read from a file;
    the time an empty program (``true``) takes the same way is subtracted from each run, and
    its own times are returned under :data:`EMPTY_PROGRAM`. With
    ``use_hyperfine``, hyperfine installed (Debian package ``hyperfine``) and no command reading
    stdin or needing its own environment, hyperfine times them instead (``--shell=none``), one
    command after the other.
    """
    environment = dict(os.environ if env is None else env)
    tool = shutil.which("hyperfine") if use_hyperfine else None
    if tool is not None and all(
        command.stdin is None and not command.env for command in commands.values()
    ):
        return _hyperfine(commands, runs, warmup, environment, tool), "hyperfine --shell=none"
    return _spawn_loop(commands, runs, warmup, environment), "posix_spawn loop, minus `true`"


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the results table.

    ``ours`` and ``peer`` are medians in ``unit`` (or counts); ``ratio`` is ours / peer. ``met``
    says whether the target holds (None: no target).
    """

    suite: str
    name: str
    ours: float
    unit: str
    target: str = ""
    met: bool | None = None
    peer: float | None = None
    peer_name: str = ""
    note: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Ours divided by the peer's, when there is a peer."""
        if self.peer is None or self.peer == 0:
            return None
        return self.ours / self.peer

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["ratio"] = self.ratio
        return data


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit in {"calls", "requests", "references"}:
        return f"{value:g} {unit}"
    if value >= 100:  # noqa: PLR2004 - no decimals for big numbers
        return f"{value:.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    header = "| benchmark | ours | peer | ratio | target | met |"
    lines = [header, "|---|---|---|---|---|---|"]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        peer = _number(row.peer, row.unit)
        if row.peer_name:
            peer = f"{peer} ({row.peer_name})"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(
            f"| {row.name} | {_number(row.ours, row.unit)} | {peer} | {ratio} | {row.target} "
            f"| {met} |"
        )
    return "\n".join(lines)


def check_real_interpreter(executable: str = sys.executable) -> str:
    """The real binary behind ``executable``; refuses a script (a pyenv shim) in its place.

    A shim is a shell script that starts another program: timing through it would add its own
    start-up to every Python process measured.
    """
    real = os.path.realpath(executable)
    with open(real, "rb") as file:
        magic = file.read(4)
    if magic != b"\x7fELF":
        raise RuntimeError(
            f"{executable} resolves to {real}, which is not an executable binary (a pyenv shim?): "
            "run the benchmarks with the virtualenv's own python"
        )
    return real


def _first_line(argv: Sequence[str]) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed version queries
            list(argv), capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "python_real_executable": os.path.realpath(sys.executable),
        "dockerd": _first_line(["dockerd", "--version"]),
        "docker_credential_ecr_login": _first_line(["docker-credential-ecr-login", "version"]),
        "hyperfine": _first_line(["hyperfine", "--version"]),
        "packages": {
            name: _distribution_version(name)
            for name in ("registry-auth", "docker", "attrs", "boto3", "moto")
        },
    }
