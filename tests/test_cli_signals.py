"""The command line as a Unix process: a closed output pipe, SIGTERM and SIGINT.

Run as users run it: the installed script in a subprocess, with real signals, real pipes and a
real credential helper script.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SECRET = "signals-canary-secret-41"


def registry_auth_exe() -> str:
    exe = Path(sys.executable).parent / "registry-auth"
    assert exe.exists(), "the registry-auth script is not installed"
    return str(exe)


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "DOCKER_CONFIG": str(home / ".docker"),
        "SIGNALS_TEST_PASSWORD": SECRET,
    }


@pytest.fixture
def static_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "SIGNALS_TEST_PASSWORD" }\n'
    )
    path.chmod(0o600)
    return path


def run_into_a_closed_pipe(args, env):
    """Run the command with stdout a pipe whose reader has gone, as ``| head`` leaves it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [registry_auth_exe(), *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["diagnose", "--no-engine"],
        ["diagnose", "--no-engine", "--json"],
        ["resolve", "--json", "registry.example.com/team/app"],
        ["parse", "--json", "ubuntu"],
        ["providers"],
    ],
)
def test_a_closed_output_pipe_ends_quietly_with_status_1(args, env, static_config):
    result = run_into_a_closed_pipe(["--config", str(static_config), *args], env)
    assert result.stderr == ""
    assert result.returncode == 1


def test_a_pipe_read_to_its_end_is_not_affected(env, static_config):
    result = subprocess.run(
        [
            *(registry_auth_exe(), "--config", str(static_config)),
            *("resolve", "--json", "registry.example.com/team/app"),
        ],
        capture_output=True,
        env=env,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["username"] == "alice"


# --- signals while a credential helper hangs ---------------------------------------------------


def gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(errors="replace")
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def wait_until(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


@pytest.fixture
def hanging_helper(tmp_path, env):
    """A ``docker-credential-hang`` that starts a child and never answers; config using it.

    Yields (config path, helper pid file, child pid file); kills whatever is left at the end.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper_pid = tmp_path / "helper.pid"
    child_pid = tmp_path / "child.pid"
    script = bin_dir / "docker-credential-hang"
    script.write_text(
        "#!/bin/sh\n"
        f"sleep 300 &\necho $! > {child_pid}.tmp && mv {child_pid}.tmp {child_pid}\n"
        f"echo $$ > {helper_pid}.tmp && mv {helper_pid}.tmp {helper_pid}\n"
        "wait\n"
    )
    script.chmod(0o755)
    docker_config = tmp_path / "docker-config.json"
    docker_config.write_text(json.dumps({"credsStore": "hang"}))
    config = tmp_path / "hang.toml"
    config.write_text(
        f'[[providers]]\nprovider = "docker-config"\nconfig = "{docker_config}"\n'
        "helper_timeout = 600\n"
    )
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    try:
        yield config, helper_pid, child_pid
    finally:
        for path in (helper_pid, child_pid):
            if path.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(path.read_text()), signal.SIGKILL)


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_kills_the_hanging_helper_and_its_children_first(
    hanging_helper, env, signum, code, word
):
    config, helper_pid, child_pid = hanging_helper
    with subprocess.Popen(
        [registry_auth_exe(), "--config", str(config), "resolve", "registry.example.com/app"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as process:
        try:
            wait_until(lambda: helper_pid.exists() and child_pid.exists(), "the helper to start")
            helper, child = int(helper_pid.read_text()), int(child_pid.read_text())
            assert not gone(helper)
            assert not gone(child)
            process.send_signal(signum)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == code, stderr
    assert stderr == f"registry-auth: {word}\n"
    # Killed before registry-auth exited: nothing it started outlives it.
    assert gone(helper)
    wait_until(lambda: gone(child), "the helper's child to go")


def _helper_exe() -> str:
    return str(Path(sys.executable).with_name("docker-credential-registry-auth"))


@pytest.mark.parametrize(
    ("argv", "stdin", "code"),
    [
        # Keeps SIGTERM's default action: dies of it, as it would without the handler.
        ([_helper_exe(), "get"], "registry.example.com\n", -signal.SIGTERM),
        (
            [registry_auth_exe(), "kubelet-plugin"],
            json.dumps(
                {
                    "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                    "kind": "CredentialProviderRequest",
                    "image": "registry.example.com/app:1",
                }
            ),
            143,  # the command line's own handler: exit status 128 + SIGTERM
        ),
    ],
    ids=["credential-helper", "kubelet-plugin"],
)
def test_sigterm_to_a_helper_process_kills_the_helper_it_started_then_itself(
    hanging_helper, env, argv, stdin, code
):
    """Processes that keep SIGTERM's default action still die of it, after their helpers."""
    config, helper_pid, child_pid = hanging_helper
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "REGISTRY_AUTH_CONFIG": str(config)},
        text=True,
    ) as process:
        try:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
            wait_until(lambda: helper_pid.exists() and child_pid.exists(), "the helper to start")
            helper, child = int(helper_pid.read_text()), int(child_pid.read_text())
            assert not gone(helper)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == code
    assert gone(helper)
    wait_until(lambda: gone(child), "the helper's child to go")
