"""The global options --config, --json and --debug, before or after every command."""

import json

import pytest

from registry_auth import _cli
from tests.test_cli import SECRET, run

# Each command with the arguments it needs, so that only the global options vary.
COMMANDS = {
    "parse": ["parse", "ubuntu"],
    "resolve": ["resolve", "ubuntu"],
    "pull": ["pull", "ubuntu"],
    "login": ["login", "registry.example.com", "-u", "alice"],
    "logout": ["logout", "registry.example.com"],
    "providers": ["providers"],
    "diagnose": ["diagnose"],
    "kubelet-plugin": ["kubelet-plugin"],
}
GLOBAL = ["--config", "given.toml", "--json", "--debug"]


def test_every_command_is_covered():
    parser = _cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_command(command, where):
    args = COMMANDS[command]
    argv = [*GLOBAL, *args] if where == "before" else [*args, *GLOBAL]
    parsed = _cli.build_parser().parse_args(argv)
    assert parsed.command == command
    assert (parsed.config, parsed.json, parsed.debug) == ("given.toml", True, True)


@pytest.mark.parametrize("command", COMMANDS)
def test_defaults_when_no_global_option_is_given(command):
    parsed = _cli.build_parser().parse_args(COMMANDS[command])
    assert (parsed.config, parsed.json, parsed.debug) == (None, False, False)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_option_after_the_command_does_not_reset_one_before_it(command):
    argv = ["--config", "before.toml", "--debug", *COMMANDS[command], "--json"]
    parsed = _cli.build_parser().parse_args(argv)
    assert (parsed.config, parsed.json, parsed.debug) == ("before.toml", True, True)


def test_the_later_config_wins():
    argv = ["--config", "first.toml", "parse", "ubuntu", "--config", "second.toml"]
    assert _cli.build_parser().parse_args(argv).config == "second.toml"


def test_command_help_lists_the_global_options():
    out = run("resolve", "--help").stdout
    for option in ("--config PATH", "--json", "--debug"):
        assert option in out


def test_resolve_with_the_global_options_after_the_image(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[registries."localhost:5443"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    config.chmod(0o600)
    env = {"CLI_TEST_PASSWORD": SECRET}
    after = run("resolve", "localhost:5443/x", "--config", str(config), "--json", env=env)
    before = run("--json", "--config", str(config), "resolve", "localhost:5443/x", env=env)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(after.stdout)["username"] == "alice"
    assert SECRET not in after.stdout


def test_debug_after_the_command_shows_the_traceback():
    result = run("parse", "Ubuntu", "--debug", check=False)
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_json_after_the_command_gives_the_error_object(tmp_path):
    missing = tmp_path / "missing.toml"
    result = run("resolve", "ubuntu", "--config", str(missing), "--json", check=False)
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"]["type"] == "ConfigurationError"
