"""The command line, run as users run it: as a subprocess of the installed script."""

import datetime as dt
import io
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from registry_auth import (
    AuthenticationError,
    ConfigurationError,
    CredentialResolver,
    Credentials,
    CredentialsNotFoundError,
    DigestMismatchError,
    DockerUnavailableError,
    ImageNotFoundError,
    InvalidReferenceError,
    PlatformMismatchError,
    ProtocolError,
    ProviderError,
    ProviderLoadError,
    PullError,
    PullTimeoutError,
    RegistryAuthError,
    RegistryUnavailableError,
    TokenFetchError,
    _cli,
)
from registry_auth._compat import tomllib
from registry_auth._orchestrator import ContainerOrchestrator
from registry_auth.testing.fake_docker import FakeDocker, FakeFailure

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


# --- shared by the tests below -----------------------------------------------------------------

REGISTRY = "registry.example.com:5000"
IMAGE = f"{REGISTRY}/team/app:1.0"
NO_ENGINE = "unix:///nonexistent/registry-auth-test.sock"


def one_line(stderr):
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr


@pytest.fixture
def home(tmp_path):
    """A private HOME, XDG dirs and a file keyring: what login and diagnose touch."""
    root = tmp_path / "home"
    for made in (".config", ".cache"):  # registry-auth creates nothing above its own dirs
        (root / made).mkdir(parents=True)
    return {
        "HOME": str(root),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "XDG_DATA_HOME": str(root / ".local" / "share"),
        "XDG_CACHE_HOME": str(root / ".cache"),
        "REGISTRY_AUTH_CACHE_DIR": str(root / ".cache" / "registry-auth"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
    }


def user_config(home):
    return Path(home["XDG_CONFIG_HOME"]) / "registry-auth" / "config.toml"


@pytest.fixture
def no_engine(home):
    return {**home, "DOCKER_HOST": NO_ENGINE}


def login(home, *args, password=SECRET, check=True):
    return run_stdin(["login", *args], password + "\n", env=home, check=check)


def run_stdin(args, stdin, env=None, check=True):
    result = subprocess.run(
        [*registry_auth_exe(), *args],
        check=False,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


# --- version, help, exit codes -----------------------------------------------------------------


def test_version():
    result = run("--version")
    assert result.stdout.startswith("registry-auth ")
    assert result.stdout.split()[1][0].isdigit()


DOCUMENTED_CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 70, 130, 143]


@pytest.mark.parametrize("command", [[], ["pull"], ["login"], ["logout"]])
def test_help_and_docstring_document_the_same_exit_codes(command):
    out = run(*command, "--help").stdout
    listed = [int(m) for m in re.findall(r"^  (\d+) {2,}\S", out, re.MULTILINE)]
    assert listed == DOCUMENTED_CODES
    assert "4    authentication" in out
    documented = [int(m) for m in re.findall(r"^- (\d+): ", _cli.__doc__ or "", re.MULTILINE)]
    assert documented == DOCUMENTED_CODES


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidReferenceError("x", text="X"), 2),
        (ProtocolError("x"), 2),
        (ConfigurationError("x"), 3),
        (ProviderLoadError("x", provider="p"), 3),
        (ProviderError("x"), 3),
        (TokenFetchError("x"), 5),
        (AuthenticationError("x"), 4),
        (CredentialsNotFoundError("x"), 4),
        (ImageNotFoundError("x"), 1),
        (RegistryUnavailableError("x"), 5),
        (PullTimeoutError("x"), 5),
        (DockerUnavailableError("x"), 6),
        (PlatformMismatchError("x"), 7),
        (DigestMismatchError("x", expected="sha256:a", actual=None), 7),
        (PullError("x"), 8),
        (RegistryAuthError("x"), 8),
    ],
)
def test_exit_code_for_each_error(error, code):
    assert _cli.exit_code_for(error) == code


@pytest.mark.parametrize(
    "args",
    [
        ["pull", "x", "--username", "alice"],
        ["pull", "x", "--password-stdin"],
        ["pull", "x", "--retries", "0"],
        ["pull", "x", "--timeout", "nan"],
        ["pull", "x", "--policy", "sometimes"],
        ["pull", "x", "--password", "nope"],
        ["login", "r.example", "-u", "a", "--password-stdin", "--insecure-inline"],
        ["login", "r.example/team", "-u", "a", "--password-stdin"],
        ["login", "r.example", "-u", "a"],
        ["no-such-command"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, home):
    result = run_stdin(args, "pw\n", env=home, check=False)
    assert result.returncode == 2
    one_line(result.stderr)
    assert result.stdout == ""


def test_an_empty_password_on_stdin_is_a_usage_error(home):
    result = run_stdin(
        ["pull", "x", "--username", "a", "--password-stdin"], "\n", env=home, check=False
    )
    assert result.returncode == 2
    assert "empty" in one_line(result.stderr)


# --- pull: against no engine, as a user runs it ------------------------------------------------


def test_pull_without_an_engine_exits_6_without_the_secret(home):
    args = ["pull", IMAGE, "--username", "alice", "--password-stdin"]
    result = run_stdin(args, SECRET + "\n", env={**home, "DOCKER_HOST": NO_ENGINE}, check=False)
    assert result.returncode == 6
    assert "no container engine answered" in one_line(result.stderr)
    assert SECRET not in result.stdout + result.stderr
    result = run_stdin(
        [*args, "--json"], SECRET, env={**home, "DOCKER_HOST": NO_ENGINE}, check=False
    )
    assert result.returncode == 6
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DockerUnavailableError"
    assert error["exit_code"] == 6
    assert SECRET not in result.stdout + result.stderr


# --- pull: in process, against a fake engine ---------------------------------------------------


@pytest.fixture
def fake(monkeypatch):
    """A FakeDocker behind the CLI's orchestrator; retries do not sleep."""
    engine = FakeDocker()
    engine.add_image(IMAGE, layers=2)
    engine.require_credentials(REGISTRY, {"alice": SECRET})

    def make(resolver):
        return ContainerOrchestrator(engine, providers=resolver, sleep=lambda _s: None)

    monkeypatch.setattr(_cli, "_make_orchestrator", make)
    return engine


@pytest.fixture
def stdin(monkeypatch):
    def feed(text):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    return feed


def cli(*args):
    return _cli.main(["--config", os.devnull, *args])


def test_pull_sends_the_password_from_stdin_and_prints_the_result(fake, stdin, capsys):
    stdin(SECRET + "\n")
    code = cli("pull", IMAGE, "--username", "alice", "--password-stdin", "--progress", "plain")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert fake.pulls[0].username == "alice"
    assert fake.pulls[0].password.reveal() == SECRET  # the trailing newline is not part of it
    lines = out.splitlines()
    assert lines[0] == "1.0: Pulling from team/app"
    assert any(line.endswith(": Pull complete") for line in lines)
    assert any(line.startswith("Digest: sha256:") for line in lines)
    assert f"reference  {IMAGE}" in lines
    assert "provider   explicit" in lines
    assert "pulled     yes" in lines
    assert SECRET not in out + err


def test_pull_json_prints_the_result_only(fake, stdin, capsys):
    stdin(SECRET)
    code = cli("pull", "--json", IMAGE, "--username", "alice", "--password-stdin")
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data == {
        "reference": IMAGE,
        "image_id": data["image_id"],
        "digest": data["digest"],
        "pulled": True,
        "provider": "explicit",
        "attempts": 1,
    }
    assert data["image_id"].startswith("sha256:")
    assert data["digest"].startswith("sha256:")
    assert err == ""  # progress is quiet with --json unless asked for


def test_pull_json_with_progress_writes_it_to_stderr(fake, stdin, capsys):
    stdin(SECRET)
    cli("pull", "--json", "--progress", "plain", IMAGE, "--username", "alice", "--password-stdin")
    out, err = capsys.readouterr()
    assert json.loads(out)["pulled"] is True
    assert "Pull complete" in err


def test_pull_present_image_is_not_pulled_again(fake, stdin, capsys):
    stdin(SECRET)
    assert cli("pull", "-q", IMAGE, "--username", "alice", "--password-stdin") == 0
    capsys.readouterr()
    assert cli("pull", "--json", IMAGE) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pulled"] is False
    assert data["attempts"] == 0
    assert len(fake.pulls) == 1


class _UnreachableTokenService:
    name = "unreachable"

    def __init__(self):
        self.calls = 0

    def get_credentials(self, ref):
        self.calls += 1
        raise TokenFetchError(
            f"could not get a token for {ref.registry}: EndpointConnectionError",
            registry=ref.registry,
            provider=self.name,
        )


def test_pull_exits_5_when_the_token_service_stays_unreachable(fake, capsys, monkeypatch):
    provider = _UnreachableTokenService()
    monkeypatch.setattr(_cli, "load_resolver", lambda _config: CredentialResolver([provider]))
    code = cli("pull", "--json", "--retries", "3", "--retry-interval", "1", IMAGE)
    out, err = capsys.readouterr()
    assert provider.calls == 3  # retried as transient ...
    assert code == 5  # ... and reported as unreachable, as the retries implied
    assert json.loads(out)["error"]["type"] == "TokenFetchError"
    assert json.loads(out)["error"]["exit_code"] == 5
    assert "could not get a token" in err
    assert fake.pulls == []


def test_pull_uses_the_configured_providers(fake, tmp_path, capsys, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    monkeypatch.setenv("CLI_TEST_PASSWORD", SECRET)
    code = _cli.main(["--config", str(config), "pull", "--json", IMAGE])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["provider"] == "static"


def test_pull_wrong_password_exits_4_with_one_line(fake, stdin, capsys):
    wrong = "wrong-password-77"
    stdin(wrong)
    code = cli("pull", IMAGE, "--username", "alice", "--password-stdin")
    out, err = capsys.readouterr()
    assert code == 4
    assert one_line(err).startswith("registry-auth: error: ")
    assert wrong not in out + err
    assert len(fake.pulls) == 1  # an authentication failure is not retried


def test_pull_anonymous_against_a_private_registry_exits_4(fake, capsys):
    assert cli("pull", "-q", IMAGE) == 4
    assert "registry-auth: error:" in one_line(capsys.readouterr().err)


def test_pull_json_error_object(fake, stdin, capsys):
    stdin("nope")
    code = cli("pull", "--json", IMAGE, "--username", "alice", "--password-stdin")
    out, err = capsys.readouterr()
    assert code == 4
    error = json.loads(out)["error"]
    assert error["type"] == "AuthenticationError"
    assert error["registry"] == REGISTRY
    assert error["exit_code"] == 4
    assert error["message"] in err


@pytest.mark.parametrize(
    ("args", "failure", "code"),
    [
        ([f"{REGISTRY}/team/missing:1.0"], None, 1),
        ([IMAGE, "--policy", "never"], None, 1),
        ([IMAGE, "--retries", "1"], FakeFailure.CONNECTION_REFUSED, 5),
        ([IMAGE], FakeFailure.NO_MATCHING_PLATFORM, 7),
        ([IMAGE, "--expected-digest", "sha256:" + "e" * 64], FakeFailure.WRONG_DIGEST, 7),
        ([IMAGE, "--expected-digest", "sha256:nothex"], None, 2),
    ],
)
def test_pull_failures_map_to_their_exit_codes(fake, stdin, capsys, args, failure, code):
    if failure is not None:
        fake.fail_next(failure, times=5)
    stdin(SECRET)
    result = cli("pull", "-q", *args, "--username", "alice", "--password-stdin")
    assert result == code
    one_line(capsys.readouterr().err)


def test_pull_retries_transient_failures(fake, stdin, capsys):
    fake.fail_next(FakeFailure.SERVICE_UNAVAILABLE, times=2)
    stdin(SECRET)
    code = cli("pull", "--json", IMAGE, "--retries", "3", "--username", "alice", "--password-stdin")
    assert code == 0
    assert json.loads(capsys.readouterr().out)["attempts"] == 3


def test_an_unexpected_exception_is_one_line_and_exit_70(monkeypatch, capsys):
    def broken(resolver):
        raise RuntimeError("a bug with details")

    monkeypatch.setattr(_cli, "_make_orchestrator", broken)
    assert cli("pull", IMAGE) == 70
    err = capsys.readouterr().err
    assert "internal error (RuntimeError)" in one_line(err)
    assert "a bug with details" not in err
    assert cli("--debug", "pull", IMAGE) == 70
    assert "Traceback" in capsys.readouterr().err


# --- login and logout --------------------------------------------------------------------------


def test_login_to_the_keyring_then_resolve_then_logout(home):
    result = login(home, REGISTRY, "-u", "alice", "--password-stdin")
    assert "in the keyring" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert result.stderr == ""  # no config file: the default providers ask the keyring
    assert not user_config(home).exists()
    data = json.loads(run("resolve", "--json", "--show-secret", f"{REGISTRY}/x", env=home).stdout)
    assert data["provider"] == "keyring"
    assert data["username"] == "alice"
    assert data["password"] == SECRET
    result = run("logout", REGISTRY, env=home)
    assert "removed the credentials" in result.stdout
    assert run("resolve", f"{REGISTRY}/x", env=home, check=False).returncode == 1
    again = run("logout", REGISTRY, env=home, check=False)
    assert again.returncode == 1
    assert "no stored credentials" in again.stdout


def test_logout_removes_the_tokens_cached_for_the_registry(home):
    from registry_auth._cache import CacheKey, TokenCache

    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    TokenCache(path=home["REGISTRY_AUTH_CACHE_DIR"]).get_or_fetch(
        CacheKey(provider="ecr", registry=ecr),
        lambda: Credentials(
            username="AWS",
            password=SECRET,
            registry=ecr,
            expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12),
        ),
    )
    tokens = Path(home["REGISTRY_AUTH_CACHE_DIR"]) / "tokens.json"
    assert ecr in tokens.read_text()
    result = run("logout", ecr, env=home)
    assert "removed 1 cached token for" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert ecr not in tokens.read_text()
    assert run("logout", ecr, env=home, check=False).returncode == 1


def test_login_docker_hub_by_any_of_its_names(home):
    login(home, "https://index.docker.io/v1/", "-u", "hubuser", "--password-stdin")
    data = json.loads(run("resolve", "--json", "hubuser/app", env=home).stdout)
    assert data["provider"] == "keyring"
    assert data["username"] == "hubuser"
    assert run("logout", "docker.io", env=home).returncode == 0


def test_login_store_config_references_the_keyring(home):
    config = user_config(home)
    config.parent.mkdir(parents=True)
    config.write_text('# mine\n[registries."other.example"]\nprovider = "ecr"\n')
    config.chmod(0o644)
    result = login(home, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config")
    assert str(config) in result.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert text.startswith('# mine\n[registries."other.example"]\nprovider = "ecr"\n')
    assert SECRET not in text
    assert tomllib.loads(text)["registries"][REGISTRY] == {
        "provider": "static",
        "username": "alice",
        "password": {"keyring": f"registry-auth:{REGISTRY}"},
    }
    data = json.loads(run("resolve", "--json", "--show-secret", f"{REGISTRY}/x", env=home).stdout)
    assert (data["provider"], data["password"]) == ("static", SECRET)
    result = run("logout", REGISTRY, env=home)
    assert "from the keyring" in result.stdout
    assert f'removed [registries."{REGISTRY}"]' in result.stdout
    assert tomllib.loads(config.read_text()) == {
        "registries": {"other.example": {"provider": "ecr"}}
    }
    assert config.read_text().startswith("# mine\n")


def test_login_store_config_creates_the_file_with_the_default_providers(home):
    login(home, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config")
    config = user_config(home)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    data = tomllib.loads(config.read_text())
    assert {"provider": "keyring"} in data["providers"]  # as when there was no file
    assert data["registries"][REGISTRY]["provider"] == "static"


def test_login_insecure_inline_writes_the_password_privately(home):
    result = login(
        home, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config", "--insecure-inline"
    )
    assert "plain text" in one_line(result.stderr)
    assert SECRET not in result.stdout + result.stderr
    config = user_config(home)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert tomllib.loads(config.read_text())["registries"][REGISTRY]["password"] == SECRET
    # Nothing went to the keyring.
    assert (
        run("logout", REGISTRY, env=home).stdout
        == f'removed [registries."{REGISTRY}"] from {config}\n'
    )


def test_login_store_config_into_a_broken_file_stores_nothing(home):
    config = user_config(home)
    config.parent.mkdir(parents=True)
    config.write_text("[registries\n")
    result = login(
        home, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config", check=False
    )
    assert result.returncode == 3
    assert "not valid TOML" in one_line(result.stderr)
    assert config.read_text() == "[registries\n"
    config.write_text('[[providers]]\nprovider = "keyring"\n')
    assert run("resolve", f"{REGISTRY}/x", env=home, check=False).returncode == 1


def test_login_store_config_tightens_its_own_directory_to_0700(home):
    directory = user_config(home).parent
    directory.mkdir()
    directory.chmod(0o755)
    login(home, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(user_config(home).stat().st_mode) == 0o600


def test_login_store_config_refuses_a_shared_directory_that_is_not_its_own(home, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    config = shared / "config.toml"
    result = run_stdin(
        [
            *("--config", str(config), "login", REGISTRY, "-u", "alice", "--password-stdin"),
            *("--store", "config", "--insecure-inline"),
        ],
        SECRET + "\n",
        env=home,
        check=False,
    )
    assert result.returncode == 3
    assert one_line(result.stderr) == (
        f"registry-auth: error: {config}: not writing credentials in {shared}: it is open to "
        "other users (mode 0775) and is not a registry-auth directory; chmod 700 it, or "
        "choose another file\n"
    )
    assert not config.exists()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o775  # not someone else's to change


def _someone_elses(directory):
    """A directory this process did not make its own: another user's, or the root directory."""
    if os.geteuid() == 0:
        os.chown(directory, 4321, 4321)
        return directory
    return Path("/")


def test_login_as_root_creates_nothing_in_another_users_home(home):
    config_home = _someone_elses(Path(home["XDG_CONFIG_HOME"]))
    env = {**home, "XDG_CONFIG_HOME": str(config_home)}
    result = login(
        env, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config", check=False
    )
    assert result.returncode == 3
    message = one_line(result.stderr)
    assert f"cannot create its directory {config_home / 'registry-auth'}" in message
    assert f"it would be created in {config_home}, which belongs to another user" in message
    assert not (config_home / "registry-auth").exists()


def test_login_creates_the_missing_directories_above_its_own_privately(home, tmp_path):
    config_home = tmp_path / "new-account" / ".config"
    env = {**home, "XDG_CONFIG_HOME": str(config_home)}
    login(env, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config")
    for made in (tmp_path / "new-account", config_home, config_home / "registry-auth"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    assert stat.S_IMODE((config_home / "registry-auth" / "config.toml").stat().st_mode) == 0o600


def test_login_as_root_creates_nothing_above_its_directory_in_another_users_home(home, tmp_path):
    (tmp_path / "users-home").mkdir()
    users_home = _someone_elses(tmp_path / "users-home")
    env = {**home, "XDG_CONFIG_HOME": str(users_home / ".config-not-there")}
    result = login(
        env, REGISTRY, "-u", "alice", "--password-stdin", "--store", "config", check=False
    )
    assert result.returncode == 3
    assert f"it would be created in {users_home}, which belongs to another user" in one_line(
        result.stderr
    )
    assert not (users_home / ".config-not-there").exists()


def test_logout_keeps_an_entry_written_by_hand(home, monkeypatch):
    config = user_config(home)
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    before = config.read_text()
    result = run("logout", REGISTRY, env=home, check=False)
    assert result.returncode == 1
    assert "login did not write it" in one_line(result.stderr)
    assert config.read_text() == before


def test_login_to_the_keyring_warns_when_the_config_would_not_use_it(home):
    config = user_config(home)
    config.parent.mkdir(parents=True)
    config.write_text('[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\n')
    result = login(home, REGISTRY, "-u", "alice", "--password-stdin")
    assert "pulls will not use them" in one_line(result.stderr)
    assert "--store config" in result.stderr
    config.write_text('[[providers]]\nprovider = "keyring"\n')
    assert login(home, REGISTRY, "-u", "alice", "--password-stdin").stderr == ""


def test_login_verify_without_an_engine_stores_nothing(no_engine):
    result = login(
        no_engine,
        REGISTRY,
        "-u",
        "alice",
        "--password-stdin",
        "--verify",
        "--timeout",
        "2",
        check=False,
    )
    assert result.returncode == 6
    one_line(result.stderr)
    assert run("resolve", f"{REGISTRY}/x", env=no_engine, check=False).returncode == 1


# --- diagnose ----------------------------------------------------------------------------------


def test_diagnose_without_the_engine_is_ok_and_shows_no_secret(home):
    env = {
        **home,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLECANARY",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_PROFILE": "edge",
    }
    result = run("diagnose", "--no-engine", "--json", env=env)
    assert SECRET not in result.stdout
    assert "AKIAEXAMPLECANARY" not in result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["exit_code"] == 0
    assert report["config"]["used"] is None
    assert report["config"]["files"][0]["path"] == str(user_config(home))
    assert {"pattern": None, "provider": "keyring"} in report["routes"]
    assert report["keyring"]["backend"] == "keyrings.alt.file.PlaintextKeyring"
    assert "environment variables" in report["aws"]["credential_sources"]
    assert report["aws"]["profile"] == "edge"
    assert report["engine"]["checked"] is False
    assert report["cache"]["path"] == home["REGISTRY_AUTH_CACHE_DIR"]
    assert {f["section"] for f in report["findings"]} >= {"config", "providers", "engine"}
    text = run("diagnose", "--no-engine", env=env).stdout
    for section in (
        "config\n",
        "providers\n",
        "routes\n",
        "keyring\n",
        "aws\n",
        "engine\n",
        "cache\n",
    ):
        assert section in text
    assert text.splitlines()[-1].startswith("ok: 0 error(s)")


def test_resolve_and_diagnose_use_docker_logins_with_no_configuration_file(home):
    """`docker login` alone is enough, as for docker-py and the docker CLI."""
    docker = Path(home["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps({"auths": {"https://localhost:5443/v1/": {"auth": "YWxpY2U6czNjcmV0"}}})
    )
    data = json.loads(run("resolve", "--json", "localhost:5443/team/app", env=home).stdout)
    assert (data["provider"], data["username"]) == ("docker-config", "alice")
    report = json.loads(run("diagnose", "--no-engine", "--json", env=home).stdout)
    defaults = report["config"]["defaults"]
    assert defaults["order"] == ["keyring", "docker-config", "ecr"]
    assert {"path": str(docker / "config.json"), "exists": True} in defaults["docker_files"]
    assert [route["provider"] for route in report["routes"]] == defaults["order"]
    text = run("diagnose", "--no-engine", env=home).stdout
    assert "the default providers are asked: keyring, then docker-config, then ecr" in text
    assert f"{docker / 'config.json'}: found" in text


def test_diagnose_says_when_docker_config_is_left_out(home):
    report = json.loads(run("diagnose", "--no-engine", "--json", env=home).stdout)
    assert report["config"]["defaults"]["order"] == ["keyring", "ecr"]
    assert not any(facts["exists"] for facts in report["config"]["defaults"]["docker_files"])
    messages = [finding["message"] for finding in report["findings"]]
    assert any("docker-config is left out" in message for message in messages)


def test_diagnose_engine_unreachable_exits_6(no_engine):
    result = run("diagnose", "--json", "--timeout", "1", env=no_engine, check=False)
    assert result.returncode == 6
    report = json.loads(result.stdout)
    assert report["engine"]["reachable"] is False
    assert report["engine"]["docker_host"] == NO_ENGINE
    assert any(f["section"] == "engine" and f["level"] == "error" for f in report["findings"])


def test_diagnose_invalid_config_exits_3(home, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[registries."x.example"]\nprovider = "no-such-provider"\n')
    result = run(
        "--config", str(config), "diagnose", "--no-engine", "--json", env=home, check=False
    )
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert "no-such-provider" in report["config"]["error"]
    assert report["config"]["used"] == str(config)


def test_one_unreadable_secret_leaves_the_other_entries_working(home, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        '[registries."docker.io"]\nprovider = "dockerhub"\nusername = "hubuser"\n'
        'password = { env = "DOCKERHUB_TOKEN" }\n'
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    config.chmod(0o600)
    monkeypatch.delenv("DOCKERHUB_TOKEN", raising=False)
    env = {**home, "CLI_TEST_PASSWORD": SECRET}
    other = run("--config", str(config), "resolve", "--json", f"{REGISTRY}/team/app", env=env)
    assert json.loads(other.stdout)["username"] == "alice"
    hub = run("--config", str(config), "resolve", "hubuser/hello", env=env, check=False)
    assert hub.returncode == 3
    assert hub.stderr == (
        f"registry-auth: error: {config}: registries.'docker.io'.password: "
        "environment variable DOCKERHUB_TOKEN is not set\n"
    )
    result = run("--config", str(config), "diagnose", "--no-engine", "--json", env=env, check=False)
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["config"]["error"] is None
    assert {"pattern": REGISTRY, "provider": "static"} in report["routes"]
    (broken,) = [route for route in report["routes"] if route.get("error")]
    assert broken["pattern"] == "docker.io"
    assert "DOCKERHUB_TOKEN is not set" in broken["error"]
    errors = [f["message"] for f in report["findings"] if f["level"] == "error"]
    assert errors == [f"docker.io -> dockerhub: unusable: {broken['error']}"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[registries."r.example"]\nprovider = "static"\nusername = "\xff"\n', "not UTF-8"),
        (b"x = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
    ids=["not-utf8", "deep"],
)
@pytest.mark.parametrize("command", ["resolve", "kubelet-plugin"])
def test_a_config_file_that_cannot_be_parsed_exits_3_in_one_line(
    tmp_path, content, message, command
):
    config = tmp_path / "config.toml"
    config.write_bytes(content)
    request = json.dumps(
        {
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            "kind": "CredentialProviderRequest",
            "image": "r.example/x",
        }
    )
    args = ["resolve", "r.example/x"] if command == "resolve" else ["kubelet-plugin"]
    result = subprocess.run(
        [*registry_auth_exe(), "--config", str(config), *args],
        input=request,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert str(config) in result.stderr
    assert message in result.stderr
    assert "internal error" not in result.stderr


def test_diagnose_warns_about_a_readable_inline_secret_and_a_shared_cache(home, tmp_path):
    config = user_config(home)
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "alice"\npassword = "{SECRET}"\n'
    )
    config.chmod(0o666)
    cache = Path(home["REGISTRY_AUTH_CACHE_DIR"])
    cache.mkdir(parents=True, mode=0o755)
    cache.chmod(0o755)
    result = run("diagnose", "--no-engine", "--json", env=home)
    assert SECRET not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    warnings = [f["message"] for f in report["findings"] if f["level"] == "warning"]
    assert any("writable by other users" in w for w in warnings)
    assert any("inline secrets" in w for w in warnings)
    assert any("0755, not 0700" in w for w in warnings)
    assert report["routes"] == [{"pattern": REGISTRY, "provider": "static"}]
    assert result.stderr == ""  # warnings are findings, not log lines


def test_diagnose_reports_broken_plugins_without_failing(home, installed_plugins):
    env = {**home, "PYTHONPATH": str(installed_plugins)}
    report = json.loads(run("diagnose", "--no-engine", "--json", env=env).stdout)
    broken = {row["name"]: row for row in report["providers"]}["broken-import"]
    assert "ModuleNotFoundError" in broken["error"]
    assert any(
        f["section"] == "providers" and f["level"] == "warning" and "broken-import" in f["message"]
        for f in report["findings"]
    )
    assert report["exit_code"] == 0


def test_providers_shows_blocked_ones():
    env = {"REGISTRY_AUTH_BLOCK_PROVIDERS": "dockerhub"}
    rows = {row["name"]: row for row in json.loads(run("providers", "--json", env=env).stdout)}
    assert rows["dockerhub"]["blocked"] is True
    assert rows["static"]["blocked"] is False
    assert "blocked" in run("providers", env=env).stdout


@pytest.fixture
def package_log_level():
    """Restore the registry_auth logger's level (through setLevel, which clears caches)."""
    package = logging.getLogger("registry_auth")
    level = package.level
    yield
    package.setLevel(level)


def test_debug_logs_registry_auth_only(config, package_log_level):
    root = logging.getLogger()
    root_level, botocore_level = root.level, logging.getLogger("botocore").level
    assert _cli.main(["--debug", "--config", str(config), "parse", "ubuntu"]) == 0
    assert logging.getLogger("registry_auth.resolver").getEffectiveLevel() == logging.DEBUG
    # Other libraries' loggers (botocore logs whole AWS answers at DEBUG) are left alone.
    assert (root.level, logging.getLogger("botocore").level) == (root_level, botocore_level)
    result = run(
        "--debug",
        "--config",
        str(config),
        "resolve",
        "localhost:5443/x",
        env={"CLI_TEST_PASSWORD": SECRET},
    )
    assert "DEBUG registry_auth.resolver: credentials for localhost:5443" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_diagnose_lists_keys_that_can_never_match(home, tmp_path):
    config = tmp_path / "keys.toml"
    config.write_text(
        '[registries."*"]\nprovider = "static"\nusername = "alice"\n'
        f'password = "{SECRET}"\n'
        '[registries."docker.io"]\nprovider = "ecr"\n'
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "alice"\n'
        f'password = "{SECRET}"\n'
    )
    config.chmod(0o600)
    result = run(
        "diagnose", "--no-engine", "--json", "--config", str(config), env=home, check=False
    )
    assert result.returncode == 3  # an entry that can never match is a configuration error
    assert SECRET not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    routes = [(f["level"], f["message"]) for f in report["findings"] if f["section"] == "routes"]
    assert ("ok", f"{REGISTRY} -> static") in routes
    star = [m for level, m in routes if level == "warning"]
    assert len(star) == 1
    assert star[0].startswith("registries.'*': '*' matches only the registry localhost")
    impossible = [m for level, m in routes if level == "error"]
    assert len(impossible) == 1
    assert "provider 'ecr' serves no registry matching 'docker.io'" in impossible[0]
    # Each is listed once, beside its route, not again among the captured warnings.
    assert not any(f["section"] == "warnings" for f in report["findings"])
    assert {"pattern": "docker.io", "provider": "ecr"} in report["routes"]
    text = run("diagnose", "--no-engine", "--config", str(config), env=home, check=False)
    assert "  error    registries.'docker.io': provider 'ecr' serves no registry" in text.stdout


def test_resolve_warns_about_a_key_that_can_never_match(home, tmp_path):
    config = tmp_path / "keys.toml"
    config.write_text(
        '[registries."quay.io"]\nprovider = "dockerhub"\nusername = "u"\n'
        'password = { env = "CLI_TEST_PASSWORD" }\n'
    )
    config.chmod(0o600)
    env = {**home, "CLI_TEST_PASSWORD": SECRET}
    result = run("resolve", "quay.io/team/app", "--config", str(config), env=env, check=False)
    assert result.returncode == 1
    assert (
        "WARNING registry_auth.config: "
        f"{config}: registries.'quay.io': provider 'dockerhub' serves no registry matching "
        "'quay.io'"
    ) in result.stderr
    assert SECRET not in result.stderr
