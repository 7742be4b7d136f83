"""The command line, run as users run it: as a subprocess of the installed script."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "cli-canary-secret-19"


def registry_auth_exe() -> list[str]:
    exe = Path(sys.executable).parent / "registry-auth"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("registry-auth")
    assert found, "the registry-auth script is not installed"
    return [found]


def run(*args, env=None, check=True):
    result = subprocess.run(
        [*registry_auth_exe(), *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."localhost:5443"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    path.chmod(0o600)
    return path


def test_parse_text_and_json():
    out = run("parse", "ubuntu:22.04").stdout
    assert "docker.io/library/ubuntu:22.04" in out
    data = json.loads(run("parse", "--json", "eclipse/kura:5.4").stdout)
    assert data == {
        "reference": "docker.io/eclipse/kura:5.4",
        "familiar": "eclipse/kura:5.4",
        "registry": "docker.io",
        "repository": "eclipse/kura",
        "tag": "5.4",
        "digest": None,
    }


def test_parse_gateway_fields():
    data = json.loads(
        run(
            "parse",
            "--json",
            "app",
            "--tag",
            "1.0",
            "--registry-url",
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/",
        ).stdout
    )
    assert data["reference"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.0"


def test_invalid_reference_is_one_line_and_exit_2():
    result = run("parse", "Ubuntu", check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "must be lowercase" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_traceback():
    result = run("--debug", "parse", "Ubuntu", check=False)
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_resolve_masks_unless_asked(config):
    env = {"CLI_TEST_PASSWORD": SECRET}
    out = run("--config", str(config), "resolve", "localhost:5443/team/app", env=env).stdout
    assert "alice" in out
    assert "static" in out
    assert SECRET not in out
    data = json.loads(
        run("--config", str(config), "resolve", "--json", "localhost:5443/x", env=env).stdout
    )
    assert data["password"] == "********"
    assert data["provider"] == "static"
    shown = run(
        "--config", str(config), "resolve", "--show-secret", "--json", "localhost:5443/x", env=env
    ).stdout
    assert json.loads(shown)["password"] == SECRET


def test_resolve_nothing_found_exit_1(config):
    result = run(
        "--config",
        str(config),
        "resolve",
        "quay.io/x/y",
        env={"CLI_TEST_PASSWORD": "x"},
        check=False,
    )
    assert result.returncode == 1
    assert "no credentials for quay.io" in result.stdout


def test_configuration_error_exit_3(config, monkeypatch):
    monkeypatch.delenv("CLI_TEST_PASSWORD", raising=False)
    result = run("--config", str(config), "resolve", "localhost:5443/x", check=False)
    assert result.returncode == 3
    assert "CLI_TEST_PASSWORD is not set" in result.stderr
    assert str(config) in result.stderr


def test_providers_lists_builtins():
    out = run("providers").stdout
    assert "static" in out
    assert "dockerhub" in out
    rows = json.loads(run("providers", "--json").stdout)
    names = {row["name"]: row for row in rows}
    assert names["static"]["distribution"] == "registry-auth"
    assert names["static"]["error"] is None


def test_providers_reports_broken_plugins(installed_plugins):
    env = {"PYTHONPATH": str(installed_plugins)}
    rows = json.loads(run("providers", "--json", env=env).stdout)
    broken = {row["name"]: row for row in rows}["broken-import"]
    assert broken["distribution"] == "registry-auth-broken-plugin"
    assert "ModuleNotFoundError" in broken["error"]
    text = run("providers", env=env).stdout
    assert "FAILED" in text
