"""docker-credential-registry-auth's native client: it serves a ready answer exactly when Python would.

The client (native/credential_helper.c) is compiled here, warnings as errors, next to a stand-in
for the Python helper it hands over to; each case writes a record with ``_ready.record`` and
checks that the client answers if and only if ``_ready.lookup`` does.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import hatch_build
import pytest

from registry_auth import _ready

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "registry.example.com"
ANSWER = b'{"ServerURL":"registry.example.com","Username":"alice","Secret":"native-canary-5521"}'
ADDRESS_LINE = ADDRESS.encode() + b"\n"
HANDED_OVER = 3

# The stand-in for registry-auth-credential-helper: says what it was given, exits 3.
STAND_IN = f"""#!{sys.executable}
import json, os, sys
data = sys.stdin.buffer.read()
print(json.dumps({{"argv": sys.argv, "stdin": data.hex()}}))
sys.exit({HANDED_OVER})
"""


@pytest.fixture(scope="session")
def client(tmp_path_factory):
    """The client compiled with -Werror, beside a stand-in Python helper."""
    directory = tmp_path_factory.mktemp("native")
    output = directory / hatch_build.HELPER
    command = hatch_build.helper_command(ROOT / hatch_build.HELPER_SOURCE, output)
    result = subprocess.run([*command, "-Werror"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    stand_in = directory / "registry-auth-credential-helper"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    return output


@pytest.fixture
def env(tmp_path):
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def dependency(tmp_path):
    path = tmp_path / "password"
    path.write_text("s3cret\n")
    return path


def keep(env, *, files=(), until=None, address=ADDRESS, answer=ANSWER):
    now = time.time()
    kept = _ready.record(
        address,
        answer,
        files=[str(f) for f in files],
        until=now + 600 if until is None else until,
        started=now + 60,  # nothing counts as changed lately
        environ=env,
    )
    assert kept
    return Path(_ready._record_path(_ready.answers_dir(env), address))


def get(client, env, data=ADDRESS_LINE, *, cwd=None, args=("get",)):
    return subprocess.run(
        [str(client), *args],
        input=data,
        capture_output=True,
        check=False,
        timeout=60,
        env=env,
        cwd=cwd,
    )


def handed_over(result):
    assert result.returncode == HANDED_OVER, result
    return json.loads(result.stdout)


def served(result):
    return result.returncode == 0 and result.stdout == ANSWER and result.stderr == b""


def agrees(client, env, *, cwd=None, address=ADDRESS):
    """Whether the client serves, after checking that it decides as ``_ready.lookup`` does."""
    python = _ready.lookup(address, env)
    result = get(client, env, address.encode(), cwd=cwd)
    if python is None:
        handed_over(result)
        return False
    assert python == ANSWER
    assert served(result), result
    return True


# -- the installed helper ----------------------------------------------------------------------


def test_the_installed_helper_is_the_native_client_beside_the_python_one():
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / hatch_build.HELPER).read_bytes()[:4] == b"\x7fELF"
    assert (bin_dir / "registry-auth-credential-helper").exists()


def test_the_installed_helper_hands_over_and_then_serves(tmp_path, env, dependency):
    # The real chain: client -> Python helper (computes, keeps) -> client (serves).
    installed = Path(sys.executable).parent / hatch_build.HELPER
    config = tmp_path / "config.toml"
    config.write_text(
        f'[registries."{ADDRESS}"]\nprovider = "static"\nusername = "alice"\n'
        f'password = {{ file = "{dependency}" }}\n'
    )
    env = {**env, "REGISTRY_AUTH_CONFIG": str(config)}
    time.sleep(_ready.RACY_WINDOW + 0.1)  # the configuration must look settled to be kept
    first = get(installed, env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["Secret"] == "s3cret"
    record = next(Path(_ready.answers_dir(env)).iterdir())
    written = record.stat()
    second = get(installed, env)
    assert second.stdout == first.stdout
    after = record.stat()  # served, not computed again: the record was not rewritten
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


# -- the same decision as Python ------------------------------------------------------------------


def test_serves_a_ready_answer(client, env, dependency):
    keep(env, files=[dependency])
    assert agrees(client, env)


@pytest.mark.parametrize("length", [1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000])
def test_finds_the_record_for_addresses_of_every_padding_length(client, env, length):
    address = ("r" * length)[:length]
    keep(env, address=address)
    assert agrees(client, env, address=address)


def test_hashes_a_large_environment(client, env):
    env = {**env, **{f"VARIABLE_{i:04d}": "v" * (i % 97) for i in range(300)}}
    keep(env)
    assert agrees(client, env)


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_PROFILE": "prod"},
        {"PATH": "/usr/local/bin:/usr/bin:/bin"},
        {"LANG": "C"},
        {"A": ""},
        {"REGISTRY_AUTH_CONFIG": "/elsewhere.toml"},
    ],
)
def test_a_changed_environment_is_handed_over(client, env, change):
    keep(env)
    assert not agrees(client, {**env, **change})


def test_a_removed_variable_is_handed_over(client, env):
    keep(env)
    assert not agrees(client, {k: v for k, v in env.items() if k != "LANG"})


def test_lc_ctype_is_not_digested(client, env):
    # CPython sets it in the C locale before any of our code runs (PEP 538).
    keep({**env, "LC_CTYPE": "C.UTF-8"})
    assert agrees(client, env)
    assert agrees(client, {**env, "LC_CTYPE": "POSIX"})


def test_reads_the_environment_as_python_does(client, env):
    # The first of two entries for a name counts, an entry without "=" does not: os.environ's
    # rules. Python cannot start a process so, so ctypes hands execve the raw array.
    keep({**env, "TWICE": "first"})
    entries = [f"{k}={v}".encode() for k, v in env.items()]
    entries += [b"TWICE=first", b"NO-EQUALS-SIGN", b"TWICE=second"]
    launcher = (
        "import ctypes, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "argv = (ctypes.c_char_p * 3)(sys.argv[1].encode(), b'get', None)\n"
        "entries = [bytes.fromhex(e) for e in sys.argv[2:]]\n"
        "envp = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)\n"
        "libc.execve(sys.argv[1].encode(), argv, envp)\n"
        "sys.exit('execve failed')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", launcher, str(client), *(e.hex() for e in entries)],
        input=ADDRESS.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert served(result), result


def test_another_working_directory_is_handed_over(client, env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keep(env)
    assert agrees(client, env, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert not agrees(client, env, cwd=elsewhere)


def test_a_changed_dependency_is_handed_over(client, env, dependency):
    keep(env, files=[dependency])
    stamp = dependency.stat()
    os.utime(dependency, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))
    assert not agrees(client, env)


def test_a_dependency_that_appears_is_handed_over(client, env, tmp_path):
    later = tmp_path / "later"
    keep(env, files=[later])
    assert agrees(client, env)
    later.write_text("now here")
    assert not agrees(client, env)


def test_a_dependency_that_goes_is_handed_over(client, env, dependency):
    keep(env, files=[dependency])
    dependency.unlink()
    assert not agrees(client, env)


def test_a_dependency_under_a_file_counts_as_missing(client, env, dependency):
    keep(env, files=[dependency / "below"])  # ENOTDIR: "-", as for a missing file
    assert agrees(client, env)


def test_a_configuration_file_created_higher_in_the_search_order_is_handed_over(client, env):
    keep(env)
    config = Path(env["XDG_CONFIG_HOME"]) / "registry-auth" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("")
    assert not agrees(client, env)


def test_an_expired_answer_is_handed_over(client, env):
    keep(env, until=time.time() + 0.5)
    time.sleep(0.6)
    assert not agrees(client, env)


def _rewrite_times(record, written):
    lines = record.read_bytes().split(b"\n")
    lines[1] = written
    record.write_bytes(b"\n".join(lines))


def test_a_record_from_the_future_is_handed_over(client, env):
    record = keep(env)
    _rewrite_times(record, b"%r" % (time.time() + 60))
    assert not agrees(client, env)


def test_a_record_within_the_clock_skew_is_served(client, env):
    record = keep(env)
    _rewrite_times(record, b"%r" % (time.time() + 2))
    assert agrees(client, env)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda data: data.replace(b"answer 1", b"answer 2"), id="header"),
        pytest.param(lambda data: data.replace(b"\n\n", b"\n"), id="no-blank-line"),
        pytest.param(
            lambda data: data[: data.index(b"\n\n")].rsplit(b"\n", 1)[0] + b"\n\n{}",
            id="a-line-fewer",
        ),
        pytest.param(lambda data: data.replace(b"\n1", b"\nx1", 1), id="time"),
        pytest.param(lambda data: data.replace(b"\n\n", b"\nzz\n\n"), id="path-not-hex"),
        pytest.param(lambda data: data.replace(b"\n\n", b"\n2f00\n\n"), id="path-with-nul"),
        pytest.param(lambda data: data.replace(b"\n\n", b"\n2f7\n\n"), id="odd-hex"),
        pytest.param(lambda data: data + b" " * (64 * 1024), id="too-big"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_a_malformed_record_is_handed_over(client, env, mangle):
    record = keep(env)
    record.write_bytes(mangle(record.read_bytes()))
    assert not agrees(client, env)


def test_an_altered_digest_is_handed_over(client, env):
    record = keep(env)
    lines = record.read_bytes().split(b"\n")
    lines[3] = lines[3][:-1] + (b"0" if lines[3][-1:] != b"0" else b"1")
    record.write_bytes(b"\n".join(lines))
    assert not agrees(client, env)


def test_a_path_line_in_capitals_is_read_as_python_reads_it(client, env, dependency):
    record = keep(env, files=[dependency])
    data = record.read_bytes()
    hex_path = os.fsencode(dependency).hex().encode()
    record.write_bytes(data.replace(hex_path, hex_path.upper()))
    assert agrees(client, env)


@pytest.mark.parametrize(
    ("target", "mode"),
    [("directory", 0o755), ("directory", 0o710), ("record", 0o644), ("record", 0o640)],
)
def test_records_not_private_to_the_user_are_handed_over(client, env, target, mode):
    record = keep(env)
    (record.parent if target == "directory" else record).chmod(mode)
    assert not agrees(client, env)


def test_a_symlinked_record_is_handed_over(client, env, tmp_path):
    record = keep(env)
    moved = tmp_path / "moved"
    record.rename(moved)
    record.symlink_to(moved)
    assert not agrees(client, env)


def test_a_symlinked_answers_directory_is_handed_over(client, env, tmp_path):
    record = keep(env)
    moved = tmp_path / "moved-answers"
    record.parent.rename(moved)
    record.parent.symlink_to(moved)
    assert not agrees(client, env)


# -- where the records are -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"REGISTRY_AUTH_CACHE_DIR": "~/own-cache"}, id="tilde"),
        pytest.param({"REGISTRY_AUTH_CACHE_DIR": "~"}, id="tilde-alone"),
        pytest.param({"REGISTRY_AUTH_CACHE_DIR": "relative/cache"}, id="relative"),
        pytest.param(
            {"REGISTRY_AUTH_CACHE_DIR": "", "XDG_CACHE_HOME": "{tmp}/xdg-cache/"}, id="xdg"
        ),
        pytest.param({"REGISTRY_AUTH_CACHE_DIR": None, "XDG_CACHE_HOME": ""}, id="home"),
        pytest.param(
            {"REGISTRY_AUTH_CACHE_DIR": None, "HOME": "{tmp}/slashed//"}, id="home-slashes"
        ),
    ],
)
def test_finds_the_answers_directory_as_python_does(client, env, tmp_path, monkeypatch, variables):
    monkeypatch.chdir(tmp_path)
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value.format(tmp=tmp_path)
    monkeypatch.setenv("HOME", env["HOME"])  # os.path.expanduser reads this process's HOME
    record = keep(env)
    assert record.exists()
    assert agrees(client, env, cwd=tmp_path)


def test_without_home_the_python_helper_looks_the_user_up(client, env, monkeypatch):
    monkeypatch.setenv("HOME", env["HOME"])
    del env["REGISTRY_AUTH_CACHE_DIR"]
    keep(env)
    del env["HOME"]
    handed_over(get(client, env))


# -- what it hands over, and how -----------------------------------------------------------------------


def test_strips_the_whitespace_python_strips(client, env):
    keep(env)
    assert served(get(client, env, b"\t\x0b " + ADDRESS.encode() + b"\x1c\r\n"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" \n",
        ADDRESS.encode() + "\u00a0".encode(),  # Unicode whitespace: Python's to judge
        "r\u00e9gistry.example.com".encode(),
        b"\xff\xfe",
        ADDRESS.encode() + b" " * (64 * 1024 + 1 - len(ADDRESS)),  # Python refuses this much
    ],
    ids=["empty", "blank", "nbsp", "non-ascii", "not-utf8", "too-long"],
)
def test_input_it_does_not_judge_is_handed_over_intact(client, env, data):
    keep(env)
    received = handed_over(get(client, env, data))
    assert received["argv"][1:] == ["get"]
    assert bytes.fromhex(received["stdin"]) == data


def test_input_beyond_the_limit_is_cut_where_python_would_cut_it(client, env):
    data = b"y" * (200 * 1024)
    received = handed_over(get(client, env, data))
    # The Python helper reads at most the limit and a byte, and refuses that much.
    assert bytes.fromhex(received["stdin"]) == data[: 64 * 1024 + 1]


@pytest.mark.parametrize(
    "args", [("list",), ("store",), ("erase",), ("version",), (), ("get", "extra"), ("--help",)]
)
def test_other_actions_are_handed_over_untouched(client, env, args):
    keep(env)
    received = handed_over(get(client, env, b'{"ServerURL": "x"}', args=args))
    assert received["argv"][0].endswith("/registry-auth-credential-helper")
    assert received["argv"][1:] == list(args)
    assert bytes.fromhex(received["stdin"]) == b'{"ServerURL": "x"}'


def copy_alone(client, directory):
    """A copy of the client in a directory of its own."""
    directory.mkdir()
    copy = directory / hatch_build.HELPER
    copy.write_bytes(client.read_bytes())
    copy.chmod(0o755)
    return copy


def test_without_a_python_helper_beside_it_the_one_on_path_is_used(client, env, tmp_path):
    lone_client = copy_alone(client, tmp_path / "alone")
    env = {**env, "PATH": f"{client.parent}:/usr/bin:/bin"}
    received = handed_over(get(lone_client, env, args=("list",)))
    assert received["argv"][1:] == ["list"]


def test_without_any_python_helper_it_says_so(client, env, tmp_path):
    lone_client = copy_alone(client, tmp_path / "alone")
    result = get(lone_client, {**env, "PATH": str(tmp_path / "nowhere")})
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"cannot run registry-auth-credential-helper" in result.stderr


def test_a_python_helper_beside_it_that_cannot_run_is_not_replaced_from_path(client, env, tmp_path):
    broken = copy_alone(client, tmp_path / "broken")
    (broken.parent / "registry-auth-credential-helper").write_text(STAND_IN)  # not executable
    result = get(broken, {**env, "PATH": f"{client.parent}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert b"cannot run registry-auth-credential-helper: Permission denied" in result.stderr


def test_the_client_writes_no_file(client, env):
    record = keep(env)
    before = sorted(p.name for p in record.parent.iterdir())
    assert served(get(client, env))
    handed_over(get(client, {**env, "OTHER": "1"}))
    assert sorted(p.name for p in record.parent.iterdir()) == before
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
