"""Ready answers: the credential helper's answer kept for its next run, and when it is not used."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry_auth import _ready
from registry_auth._credential_helper import run

SECRET = "ready-canary-7131"
ADDRESS = "registry.example.com"
ANSWER = json.dumps({"ServerURL": ADDRESS, "Username": "alice", "Secret": SECRET}).encode()
HELPER = Path(sys.executable).with_name("docker-credential-registry-auth")


class Clock:
    """time.time() for the module, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(time.time() + 3600)  # an hour after anything the test writes
    monkeypatch.setattr("registry_auth._ready.time.time", fake)
    return fake


@pytest.fixture
def env(tmp_path):
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }


def keep(env, *, files=(), until=None, started=None, clock=None, answer=ANSWER, address=ADDRESS):
    now = clock.now if clock is not None else time.time()
    return _ready.record(
        address,
        answer,
        files=[str(f) for f in files],
        until=now + 600 if until is None else until,
        started=now if started is None else started,
        environ=env,
    )


def record_file(env, address=ADDRESS) -> Path:
    return Path(_ready._record_path(_ready.answers_dir(env), address))


def test_an_answer_kept_is_read_back(env, clock):
    assert keep(env, clock=clock)
    assert _ready.lookup(ADDRESS, env) == ANSWER


def test_the_record_is_private(env, clock):
    assert keep(env, clock=clock)
    path = record_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_another_address_has_no_answer(env, clock):
    assert keep(env, clock=clock)
    assert _ready.lookup("other.example.com", env) is None
    assert _ready.lookup("https://registry.example.com", env) is None


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_PROFILE": "prod"},
        {"PATH": "/usr/local/bin:/usr/bin:/bin"},
        {"REGISTRY_AUTH_CONFIG": "/elsewhere.toml"},
    ],
)
def test_any_change_to_the_environment_is_a_miss(env, clock, change):
    assert keep(env, clock=clock)
    assert _ready.lookup(ADDRESS, {**env, **change}) is None


def test_a_removed_variable_is_a_miss(env, clock):
    assert keep(env, clock=clock)
    assert _ready.lookup(ADDRESS, {k: v for k, v in env.items() if k != "PATH"}) is None


def test_lc_ctype_alone_is_not_digested(env, clock):
    # Python sets it as it starts in the C locale; the native client never sees that value.
    assert keep({**env, "LC_CTYPE": "C.UTF-8"}, clock=clock)
    assert _ready.lookup(ADDRESS, env) == ANSWER
    assert _ready.lookup(ADDRESS, {**env, "LC_CTYPE": "POSIX"}) == ANSWER
    assert _ready.lookup(ADDRESS, {**env, "LC_ALL": "C.UTF-8"}) is None


def test_another_working_directory_is_a_miss(env, clock, tmp_path, monkeypatch):
    assert keep(env, clock=clock)
    monkeypatch.chdir(tmp_path)
    assert _ready.lookup(ADDRESS, env) is None


def test_a_changed_dependency_is_a_miss(env, clock, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    assert keep(env, files=[secret_file], clock=clock)
    assert _ready.lookup(ADDRESS, env) == ANSWER
    replacement = tmp_path / "secret.new"
    replacement.write_text("two")
    os.replace(replacement, secret_file)
    assert _ready.lookup(ADDRESS, env) is None


def test_a_dependency_rewritten_in_place_is_a_miss(env, clock, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    assert keep(env, files=[secret_file], clock=clock)
    before = secret_file.stat()
    with secret_file.open("r+") as handle:  # same inode, same size
        handle.write("two")
    os.utime(secret_file, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    assert _ready.lookup(ADDRESS, env) is None


def test_a_removed_dependency_is_a_miss(env, clock, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    assert keep(env, files=[secret_file], clock=clock)
    secret_file.unlink()
    assert _ready.lookup(ADDRESS, env) is None


def test_a_configuration_file_created_in_the_search_order_is_a_miss(env, clock):
    assert keep(env, clock=clock)
    created = Path(env["XDG_CONFIG_HOME"]) / "registry-auth" / "config.toml"
    created.parent.mkdir(parents=True)
    created.write_text("")
    assert _ready.lookup(ADDRESS, env) is None


def test_the_configuration_search_order_is_a_dependency(env):
    paths = _ready.dependencies({**env, "REGISTRY_AUTH_CONFIG": "/srv/ra.toml"}, ["/run/s"])
    assert paths == [
        b"/srv/ra.toml",
        os.fsencode(Path(env["XDG_CONFIG_HOME"]) / "registry-auth" / "config.toml"),
        b"/etc/registry-auth/config.toml",
        b"/run/s",
    ]


def test_an_answer_past_its_time_is_a_miss(env, clock):
    assert keep(env, clock=clock, until=clock.now + 60)
    clock.now += 59
    assert _ready.lookup(ADDRESS, env) == ANSWER
    clock.now += 1
    assert _ready.lookup(ADDRESS, env) is None


def test_no_answer_outlives_the_maximum_age(env, clock):
    assert keep(env, clock=clock, until=float("inf"))
    clock.now += _ready.MAX_AGE - 1
    assert _ready.lookup(ADDRESS, env) == ANSWER
    clock.now += 1
    assert _ready.lookup(ADDRESS, env) is None


def test_an_answer_already_stale_is_not_kept(env, clock):
    assert not keep(env, clock=clock, until=clock.now)
    assert not record_file(env).exists()


def test_a_clock_set_back_is_a_miss(env, clock):
    assert keep(env, clock=clock)
    clock.now -= 3600
    assert _ready.lookup(ADDRESS, env) is None


def test_a_dependency_changed_just_before_the_run_is_not_trusted(env, clock, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    changed = secret_file.stat().st_ctime
    assert not keep(env, files=[secret_file], clock=clock, started=changed + 1)
    assert not record_file(env).exists()
    assert keep(env, files=[secret_file], clock=clock, started=changed + _ready.RACY_WINDOW + 1)


def test_a_directory_others_can_read_is_neither_used_nor_written(env, clock):
    assert keep(env, clock=clock)
    directory = record_file(env).parent
    directory.chmod(0o755)
    assert _ready.lookup(ADDRESS, env) is None
    assert not keep(env, clock=clock)


def test_a_record_others_can_read_is_not_used(env, clock):
    assert keep(env, clock=clock)
    path = record_file(env)
    path.chmod(0o644)
    assert _ready.lookup(ADDRESS, env) is None
    path.unlink()  # nothing of ours would leave it so


def test_a_symlinked_record_is_not_followed(env, clock, tmp_path):
    assert keep(env, clock=clock)
    path = record_file(env)
    target = tmp_path / "moved.answer"
    os.replace(path, target)
    path.symlink_to(target)
    assert _ready.lookup(ADDRESS, env) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda data: b"",
        lambda data: b"garbage\n\n" + data,
        lambda data: data.replace(b"\n\n", b"\n"),
        lambda data: data[: data.index(b"\n\n")],
        lambda data: data.replace(_ready._HEADER, b"registry-auth ready answer 2\n"),
        lambda data: data.replace(b"\n", b"\nnot-a-number\n", 1),
        lambda data: data + b"x" * (_ready._MAX_RECORD + 1),
    ],
)
def test_a_damaged_record_is_a_miss(env, clock, mangle):
    assert keep(env, clock=clock)
    path = record_file(env)
    path.write_bytes(mangle(path.read_bytes()))
    assert _ready.lookup(ADDRESS, env) is None


def test_records_that_can_no_longer_serve_are_pruned(env, clock):
    assert keep(env, clock=clock, address="old.example.com", until=clock.now + 10)
    old = record_file(env, "old.example.com")
    assert old.exists()
    clock.now += 20
    assert keep(env, clock=clock)
    assert not old.exists()
    assert record_file(env).exists()


# -- the helper keeping its answers -------------------------------------------------------------


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """This process's environment as a helper's: a configuration with a file-held secret."""
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[registries."{ADDRESS}"]\nprovider = "static"\nusername = "alice"\n'
        f'password = {{ file = "{secret_file}" }}\n'
    )
    for name in list(os.environ):
        if name.startswith(("REGISTRY_AUTH_", "XDG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REGISTRY_AUTH_CONFIG", str(config))
    monkeypatch.setenv("REGISTRY_AUTH_CACHE_DIR", str(tmp_path / "cache"))
    # The files were written a moment ago: trust them as if they had been left alone for a while.
    monkeypatch.setattr(_ready, "RACY_WINDOW", -1.0)
    return {"config": config, "secret": secret_file}


def helper_get(keep_answers=True, address=ADDRESS):
    out = io.StringIO()
    code = run(["get"], stdin=io.BytesIO(address.encode()), stdout=out, keep_answers=keep_answers)
    return code, out.getvalue()


def executable_get(address=ADDRESS):
    """The installed executable, in this process's environment (the one ``get`` was kept in)."""
    return subprocess.run(
        [str(HELPER), "get"],
        input=address.encode() + b"\n",
        capture_output=True,
        check=False,
        timeout=60,
        env=dict(os.environ),
    )


def test_get_keeps_its_answer_and_the_executable_serves_it(configured):
    code, printed = helper_get()
    assert code == 0
    path = record_file(os.environ)
    kept = path.stat()
    result = executable_get()
    assert result.returncode == 0
    assert result.stdout == printed.encode()
    assert result.stderr == b""
    # Served from the record: a run computing the answer would have replaced the file.
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)


def test_the_fast_answer_imports_nothing_heavy(configured):
    assert helper_get()[0] == 0
    probe = (
        "import sys, atexit\n"
        "atexit.register(lambda: sys.stderr.write(repr(sorted("
        "{m.split('.')[0] for m in sys.modules} & {'attr', 'attrs', 'json', 're', 'typing',"
        " 'hashlib', 'pathlib', 'tomllib', 'logging'}))))\n"
        "sys.argv = ['docker-credential-registry-auth', 'get']\n"
        "from registry_auth._helper_main import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        input=ADDRESS.encode(),
        capture_output=True,
        check=False,
        timeout=60,
        env=dict(os.environ),  # as it is now: pytest changes PYTEST_CURRENT_TEST
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["Secret"] == SECRET
    assert result.stderr == b"[]"


def test_a_changed_secret_file_is_read_again(configured):
    assert helper_get()[0] == 0
    configured["secret"].write_text("another-password\n")
    result = executable_get()
    assert result.returncode == 0
    assert json.loads(result.stdout)["Secret"] == "another-password"


def test_a_changed_configuration_is_read_again(configured):
    assert helper_get()[0] == 0
    configured["config"].write_text("")
    result = executable_get()
    assert result.returncode == 1
    assert b"credentials not found" in result.stdout


def test_without_keep_answers_nothing_is_written(configured):
    assert helper_get(keep_answers=False)[0] == 0
    assert not record_file(os.environ).exists()


def test_an_explicit_configuration_is_never_kept(configured):
    out = io.StringIO()
    code = run(
        ["get"],
        stdin=io.BytesIO(ADDRESS.encode()),
        stdout=out,
        config=str(configured["config"]),
        keep_answers=True,
    )
    assert code == 0
    assert not record_file(os.environ).exists()


def test_answers_from_a_keyring_reference_are_never_kept(configured, plaintext_keyring):
    plaintext_keyring.set_password("svc", "alice", SECRET)
    configured["config"].write_text(
        f'[registries."{ADDRESS}"]\nprovider = "static"\nusername = "alice"\n'
        'password = { keyring = "svc" }\n'
    )
    code, printed = helper_get()
    assert code == 0
    assert json.loads(printed)["Secret"] == SECRET
    assert not record_file(os.environ).exists()


def test_answers_from_other_providers_are_never_kept(configured, tmp_path):
    docker_config = tmp_path / "docker.json"
    docker_config.write_text(json.dumps({"auths": {ADDRESS: {"auth": "YWxpY2U6cHc="}}}))
    configured["config"].write_text(
        f'[[providers]]\nprovider = "docker-config"\nconfig = "{docker_config}"\n'
    )
    code, printed = helper_get()
    assert code == 0
    assert json.loads(printed)["Username"] == "alice"
    assert not record_file(os.environ).exists()


def test_not_found_is_never_kept(configured):
    code, _ = helper_get(address="quay.io")
    assert code == 1
    assert not Path(_ready.answers_dir(os.environ)).exists()
