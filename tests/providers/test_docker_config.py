import base64
import copy
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from registry_auth import (
    ConfigurationError,
    CredentialProvider,
    CredentialResolver,
    ImageReference,
    InvalidatingProvider,
    ProviderError,
    Secret,
)
from registry_auth.providers import docker_config
from registry_auth.providers.docker_config import (
    DockerConfigProvider,
    auth_file_search_path,
    key_host,
)
from registry_auth.testing.clock import FrozenClock
from tests.providers._dbus import session_env

DATA = Path(__file__).parent / "data"
HUB_URL = "https://index.docker.io/v1/"
CANARY = "canary-pw-7f3e"  # appears in no message, repr or log line


def ref(text):
    return ImageReference.parse(text)


def auth(username, password):
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def userpass(creds):
    return None if creds is None else (creds.username, creds.password.reveal())


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh HOME and no Docker or containers variables: the machine's files are never read."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def helper_bin(tmp_path, monkeypatch):
    """Write docker-credential-<name> shell scripts into a directory put first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def make(name, body):
        script = bin_dir / f"docker-credential-{name}"
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
        return script

    return make


def echo_helper(name, log=None):
    """A helper answering for any server URL, with a secret naming the helper and the URL."""
    record = f'printf "%s %s\\n" "$1" "$url" >> {log}\n' if log else ""
    return (
        "read -r url || true\n"
        f"{record}"
        f'printf \'{{"ServerURL":"%s","Username":"{name}-user","Secret":"{name}-secret-%s"}}\' '
        '"$url" "$url"'
    )


NOT_FOUND_HELPER = 'printf "credentials not found in native keychain\\n"; exit 1'


def test_is_a_provider():
    provider = DockerConfigProvider({})
    assert isinstance(provider, CredentialProvider)
    assert provider.name == "docker-config"
    assert DockerConfigProvider({}, name="mine").name == "mine"


# --- Entries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (auth("alice", "s3cret"), ("alice", "s3cret", None)),
        (auth("alice", "pa:ss:word"), ("alice", "pa:ss:word", None)),
        (auth("alice", "padded\x00\x00"), ("alice", "padded", None)),
        ({"username": "bob", "password": "pw"}, ("bob", "pw", None)),
        (
            {**auth("alice", "s3cret"), "username": "bob", "password": "pw"},
            ("alice", "s3cret", None),
        ),
        ({"identitytoken": "refresh-1"}, ("<token>", "", "refresh-1")),
        (
            {**auth("00000000-0000", ""), "identitytoken": "refresh-2"},
            ("00000000-0000", "", "refresh-2"),
        ),
        (auth("<token>", "refresh-3"), ("<token>", "", "refresh-3")),
        ({"username": "<token>", "password": "refresh-4"}, ("<token>", "", "refresh-4")),
        ({**auth("alice", "s3cret"), "email": "a@example.com"}, ("alice", "s3cret", None)),
    ],
)
def test_every_entry_form(entry, expected):
    provider = DockerConfigProvider({"auths": {"registry.example.com": entry}})
    creds = provider.get_credentials(ref("registry.example.com/team/app:1"))
    token = None if creds.identity_token is None else creds.identity_token.reveal()
    assert (creds.username, creds.password.reveal(), token) == expected
    assert creds.registry == "registry.example.com"
    assert creds.provider == "docker-config"


@pytest.mark.parametrize("empty", [{}, {"email": "a@example.com"}, {"auth": ""}])
def test_entries_without_credentials_are_skipped(empty):
    config = {"auths": {"registry.example.com": empty}}
    assert DockerConfigProvider(config).get_credentials(ref("registry.example.com/app")) is None
    # ...and do not hide a usable entry under another key for the same registry.
    config["auths"]["https://registry.example.com/v2/"] = auth("alice", "pw")
    creds = DockerConfigProvider(config).get_credentials(ref("registry.example.com/app"))
    assert userpass(creds) == ("alice", "pw")


# --- Registry-level keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        HUB_URL,
        "https://index.docker.io/v1",
        "http://index.docker.io/v1/",
        "https://index.docker.io/v2/",
        "index.docker.io",
        "index.docker.io/v1/",
        "docker.io",
        "registry-1.docker.io",
        "https://registry-1.docker.io/v2/",
        "Docker.IO",
    ],
)
@pytest.mark.parametrize(
    "image", ["ubuntu:22.04", "hubuser/app", "docker.io/hubuser/app", "index.docker.io/library/x"]
)
def test_docker_hub_key_forms(key, image):
    creds = DockerConfigProvider({"auths": {key: auth("hubuser", "hubpw")}}).get_credentials(
        ref(image)
    )
    assert userpass(creds) == ("hubuser", "hubpw")
    assert creds.registry == "docker.io"
    assert creds.server_address == HUB_URL


def test_docker_hub_keys_in_order_of_preference():
    best_first = [
        HUB_URL,
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "https://registry-1.docker.io/v2/",
    ]
    # Every key present, in the worst order; remove the winner each round.
    auths = {key: auth(f"user{best_first.index(key)}", "pw") for key in reversed(best_first)}
    for rank, key in enumerate(best_first):
        creds = DockerConfigProvider({"auths": auths}).get_credentials(ref("ubuntu"))
        assert creds.username == f"user{rank}", key
        del auths[key]


@pytest.mark.parametrize(
    ("key", "image"),
    [
        ("registry.example.com", "registry.example.com/app"),
        ("https://registry.example.com/v2/", "registry.example.com/team/app"),
        ("http://registry.example.com", "registry.example.com/app"),
        ("https://registry.example.com/v1/", "registry.example.com/app"),
        ("Registry.Example.COM", "registry.example.com/app"),
        ("registry.example.com", "Registry.Example.com/app"),
        ("registry.example.com:5000", "registry.example.com:5000/app"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000/app"),
        ("localhost:5000", "localhost:5000/team/app"),
        ("http://[::1]:5000/v2/", "[::1]:5000/app"),
    ],
)
def test_scheme_and_path_are_dropped_from_registry_keys(key, image):
    creds = DockerConfigProvider({"auths": {key: auth("alice", "pw")}}).get_credentials(ref(image))
    assert userpass(creds) == ("alice", "pw")
    assert creds.registry == ref(image).registry


@pytest.mark.parametrize(
    ("key", "image"),
    [
        ("registry.example.com", "registry.example.com:5000/app"),
        ("registry.example.com:5000", "registry.example.com/app"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5001/app"),
        ("registry.example.com", "registry.example.com.evil.example/app"),
        ("registry.example.com", "evil.example/registry.example.com/app"),
        ("https://evil.example/registry.example.com", "registry.example.com/app"),
        ("example.com", "registry.example.com/app"),
        (HUB_URL, "quay.io/hubuser/app"),
        (HUB_URL, "docker.io.evil.example/hubuser/app"),
        ("docker.io", "localhost:5000/library/ubuntu"),
        ("quay.io", "ubuntu"),
    ],
)
def test_never_answers_for_another_registry(key, image):
    provider = DockerConfigProvider({"auths": {key: auth("alice", CANARY)}})
    assert provider.get_credentials(ref(image)) is None


def test_exact_key_wins_over_reduced_keys_then_file_order():
    auths = {
        "https://registry.example.com/v2/": auth("first-url", "pw"),
        "http://registry.example.com": auth("second-url", "pw"),
        "registry.example.com": auth("exact", "pw"),
    }
    provider = DockerConfigProvider({"auths": auths})
    assert provider.get_credentials(ref("registry.example.com/app")).username == "exact"
    del auths["registry.example.com"]
    provider = DockerConfigProvider({"auths": auths})
    assert provider.get_credentials(ref("registry.example.com/app")).username == "first-url"


# --- Upstream tables -------------------------------------------------------------------------

# docker/cli, cli/config/credentials/file_store_test.go, TestConvertToHostname: the host a key
# names. Where upstream marks a case FIXME ("[::1]", "::1:6556", "unix:///..."), its current
# answer is kept: such keys name no registry a reference can have, so they match nothing.
CONVERT_TO_HOSTNAME = [
    ("127.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
    ("[::1]", "[::1]"),
    ("example.com", "example.com"),
    ("http://example.com", "example.com"),
    ("https://example.com", "example.com"),
    ("https://example.com/", "example.com"),
    ("https://example.com/v2/", "example.com"),
    ("unix:///var/run/docker.sock", "unix:"),
    ("ftp://example.com", "example.com"),
    ("127.0.0.1:6556", "127.0.0.1:6556"),
    ("::1:6556", "::1:6556"),
    ("[::1]:6556", "[::1]:6556"),
    ("example.com:6555", "example.com:6555"),
    ("https://127.0.0.1:6555/v2/", "127.0.0.1:6555"),
    ("https://::1:6555/v2/", "[::1]:6555"),
    ("https://[::1]:6555/v2/", "[::1]:6555"),
    ("http://example.com:6555", "example.com:6555"),
    ("https://example.com:6555", "example.com:6555"),
    ("https://example.com:6555/v2/", "example.com:6555"),
]


@pytest.mark.parametrize(("key", "host"), CONVERT_TO_HOSTNAME)
def test_key_host_follows_docker_cli(key, host):
    assert key_host(key) == host


@pytest.mark.parametrize(
    ("key", "image"),
    [
        ("https://::1:6555/v2/", "[::1]:6555/app"),
        ("https://[::1]:6555/v2/", "[::1]:6555/app"),
        ("https://127.0.0.1:6555/v2/", "127.0.0.1:6555/app"),
        ("example.com:6555", "example.com:6555/app"),
        ("ftp://example.com", "example.com/app"),
    ],
)
def test_keys_of_the_docker_cli_table_answer_for_their_host(key, image):
    creds = DockerConfigProvider({"auths": {key: auth("alice", "pw")}}).get_credentials(ref(image))
    assert userpass(creds) == ("alice", "pw")


# moby, registry/auth_test.go, TestResolveAuthConfigFullURL: every key spelling under which a
# registry's credentials are found (with Docker Hub's credentials in the file too), and not found
# once the key is deleted.
RESOLVE_AUTH_CONFIG_FULL_URL = {
    "registry.example.com": [
        "https://registry.example.com/v1/",
        "http://registry.example.com/v1/",
        "registry.example.com",
        "registry.example.com/v1/",
    ],
    "localhost:8000": [
        "https://localhost:8000/v1/",
        "http://localhost:8000/v1/",
        "localhost:8000",
        "localhost:8000/v1/",
    ],
    "registry.com": [
        "https://registry.com/v1/",
        "http://registry.com/v1/",
        "registry.com",
        "registry.com/v1/",
    ],
}


@pytest.mark.parametrize(
    ("registry", "key"),
    [(registry, key) for registry, keys in RESOLVE_AUTH_CONFIG_FULL_URL.items() for key in keys],
)
def test_resolve_auth_config_full_url_table(registry, key):
    auths = {"testIndex": auth("docker-user", "docker-pass"), HUB_URL: auth("baz-user", "pw")}
    auths[key] = auth("configured", "pw")
    found = DockerConfigProvider({"auths": auths}).get_credentials(ref(f"{registry}/team/app"))
    assert found is not None
    assert found.username == "configured"
    del auths[key]
    assert DockerConfigProvider({"auths": auths}).get_credentials(ref(f"{registry}/app")) is None


@pytest.mark.parametrize("path", ["v1", "v1/", "v2/", "V1/"])
def test_a_scheme_less_api_path_names_the_registry_not_a_namespace(path):
    key = f"registry.example.com/{path}"
    provider = DockerConfigProvider({"auths": {key: auth("alice", "pw")}})
    if path.islower():
        assert provider.get_credentials(ref("registry.example.com/team/app")).username == "alice"
        assert provider.get_credentials(ref("registry.example.com/v1x/app")).username == "alice"
    else:
        # V1 is no API path: a namespace, which no (lowercase) repository can be under.
        assert provider.get_credentials(ref("registry.example.com/team/app")) is None


# --- The legacy ~/.dockercfg -----------------------------------------------------------------


def test_the_legacy_dockercfg_is_read_last(home):
    write_json(
        home / ".dockercfg",
        {
            "https://index.docker.io/v1/": {**auth("hubuser", "pw"), "email": "a@example.com"},
            "registry.example.com/v1/": auth("legacy", "pw"),
            "quay.io/org": auth("quay", "pw"),  # keys name registries in this file
        },
    )
    provider = DockerConfigProvider()
    assert provider.get_credentials(ref("hubuser/app")).username == "hubuser"
    assert provider.get_credentials(ref("registry.example.com/app")).username == "legacy"
    assert provider.get_credentials(ref("quay.io/other/app")).username == "quay"

    write_json(
        home / ".docker" / "config.json", {"auths": {"registry.example.com": auth("new", "pw")}}
    )
    provider = DockerConfigProvider()
    assert provider.get_credentials(ref("registry.example.com/app")).username == "new"
    assert provider.get_credentials(ref("hubuser/app")).username == "hubuser"


def test_a_dockercfg_with_an_auths_key_is_read_as_the_newer_format(home):
    write_json(home / ".dockercfg", {"auths": {"r.example": auth("wrapped", "pw")}})
    assert DockerConfigProvider().get_credentials(ref("r.example/app")).username == "wrapped"


def test_a_malformed_dockercfg_is_a_configuration_error_naming_it(home):
    write_json(home / ".dockercfg", {"r.example": "not an object"})
    with pytest.raises(ConfigurationError, match=r"\.dockercfg: auths\['r\.example'\]"):
        DockerConfigProvider().get_credentials(ref("r.example/app"))


# --- Namespaced keys (containers-auth.json) -------------------------------------------------


def test_namespaced_keys_most_specific_first(tmp_path, monkeypatch):
    path = write_json(
        tmp_path / "auth.json",
        {
            "auths": {
                "quay.io": auth("registry-wide", "pw0"),
                "quay.io/org": auth("org", "pw1"),
                "quay.io/org/repo": auth("repo", "pw2"),
                "quay.io/org/team/": auth("team", "pw3"),
                "docker.io/library": auth("official", "pw4"),
            }
        },
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    provider = DockerConfigProvider()
    expectations = {
        "quay.io/org/repo:1": "repo",
        "quay.io/org/repo/sub": "repo",
        "quay.io/org/other": "org",
        "quay.io/org/team/app": "team",
        "quay.io/org/repository": "org",
        "quay.io/organisation/app": "registry-wide",
        "quay.io/other/app": "registry-wide",
        "ubuntu": "official",
        "docker.io/library/debian": "official",
    }
    for image, username in expectations.items():
        assert provider.get_credentials(ref(image)).username == username, image
    assert provider.get_credentials(ref("hubuser/app")) is None


def test_a_namespaced_key_never_answers_for_the_whole_registry():
    provider = DockerConfigProvider({"auths": {"quay.io/org": auth("org", CANARY)}})
    assert provider.get_credentials(ref("quay.io/org/app")).username == "org"
    assert provider.get_credentials(ref("quay.io/other/app")) is None
    assert provider.get_credentials(ref("quay.io/orgx/app")) is None


# --- Which files ----------------------------------------------------------------------------


def test_search_path_from_the_environment(home):
    assert auth_file_search_path({"HOME": str(home)}) == (
        home / ".docker" / "config.json",
        home / ".config" / "containers" / "auth.json",
        home / ".dockercfg",
    )
    assert auth_file_search_path(
        {
            "HOME": str(home),
            "DOCKER_CONFIG": "/etc/dockercfg",
            "XDG_RUNTIME_DIR": "/run/user/1000",
            "XDG_CONFIG_HOME": "/cfg",
        }
    ) == (
        Path("/etc/dockercfg/config.json"),
        Path("/run/user/1000/containers/auth.json"),
        Path("/cfg/containers/auth.json"),
        home / ".dockercfg",
    )
    assert auth_file_search_path(
        {"HOME": str(home), "REGISTRY_AUTH_FILE": "/x/auth.json", "XDG_RUNTIME_DIR": "/run/u"}
    ) == (home / ".docker" / "config.json", Path("/x/auth.json"), home / ".dockercfg")


def test_reads_home_docker_config_by_default(home):
    write_json(home / ".docker" / "config.json", {"auths": {"r.example": auth("home", "pw")}})
    assert DockerConfigProvider().get_credentials(ref("r.example/app")).username == "home"


def test_docker_config_variable_replaces_the_home_file(home, tmp_path, monkeypatch):
    write_json(home / ".docker" / "config.json", {"auths": {"r.example": auth("home", "pw")}})
    write_json(tmp_path / "dc" / "config.json", {"auths": {"r.example": auth("env", "pw")}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    assert DockerConfigProvider().get_credentials(ref("r.example/app")).username == "env"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    assert DockerConfigProvider().get_credentials(ref("r.example/app")) is None


def test_docker_file_first_then_the_containers_files(home, tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    write_json(home / ".docker" / "config.json", {"auths": {"a.example": auth("docker", "pw")}})
    write_json(
        runtime / "containers" / "auth.json",
        {"auths": {"a.example": auth("runtime", "pw"), "b.example": auth("runtime", "pw")}},
    )
    write_json(
        home / ".config" / "containers" / "auth.json",
        {"auths": {"b.example": auth("config", "pw"), "c.example": auth("config", "pw")}},
    )
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    provider = DockerConfigProvider(recheck_interval=0)  # sees each change of the environment
    assert provider.get_credentials(ref("a.example/app")).username == "docker"
    assert provider.get_credentials(ref("b.example/app")).username == "runtime"
    assert provider.get_credentials(ref("c.example/app")).username == "config"
    assert provider.get_credentials(ref("d.example/app")) is None

    write_json(
        tmp_path / "cfg" / "containers" / "auth.json", {"auths": {"c.example": auth("xdg", "pw")}}
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert provider.get_credentials(ref("c.example/app")).username == "xdg"

    write_json(tmp_path / "only.json", {"auths": {"d.example": auth("explicit", "pw")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "only.json"))
    assert provider.get_credentials(ref("d.example/app")).username == "explicit"
    assert provider.get_credentials(ref("b.example/app")) is None  # XDG files no longer read
    assert provider.get_credentials(ref("a.example/app")).username == "docker"


def test_an_explicit_path_is_the_only_file_read(home, tmp_path):
    write_json(home / ".docker" / "config.json", {"auths": {"r.example": auth("home", "pw")}})
    path = write_json(tmp_path / "mine.json", {"auths": {"s.example": auth("mine", "pw")}})
    provider = DockerConfigProvider(path)
    assert provider.files() == (path,)
    assert provider.get_credentials(ref("s.example/app")).username == "mine"
    assert provider.get_credentials(ref("r.example/app")) is None
    as_text = DockerConfigProvider(str(path))
    assert as_text.get_credentials(ref("s.example/app")).username == "mine"


def test_an_explicit_directory_means_its_config_json(tmp_path):
    write_json(tmp_path / "dir" / "config.json", {"auths": {"s.example": auth("dir", "pw")}})
    provider = DockerConfigProvider(tmp_path / "dir")
    assert provider.files() == (tmp_path / "dir" / "config.json",)
    assert provider.get_credentials(ref("s.example/app")).username == "dir"


def test_missing_files_mean_no_credentials(tmp_path):
    assert DockerConfigProvider().get_credentials(ref("r.example/app")) is None
    missing = DockerConfigProvider(tmp_path / "nope.json")
    assert missing.get_credentials(ref("r.example/app")) is None


def test_an_empty_file_is_an_empty_configuration(tmp_path):
    (tmp_path / "empty.json").write_text("\n")
    assert DockerConfigProvider(tmp_path / "empty.json").get_credentials(ref("r.example/a")) is None


def test_a_dict_is_read_as_given_and_never_touches_files(home):
    write_json(home / ".docker" / "config.json", {"auths": {"r.example": auth("home", "pw")}})
    provider = DockerConfigProvider({"auths": {"s.example": auth("dict", "pw")}})
    assert provider.files() == ()
    assert provider.get_credentials(ref("r.example/app")) is None
    assert provider.get_credentials(ref("s.example/app")).username == "dict"


# --- Re-reading ------------------------------------------------------------------------------


def test_the_file_is_parsed_again_only_when_it_changes(tmp_path, monkeypatch):
    path = write_json(tmp_path / "config.json", {"auths": {"r.example": auth("old", "pw")}})
    parses = []
    real_parse = docker_config._parse_bytes

    def counting_parse(raw, *, path):
        parses.append(path)
        return real_parse(raw, path=path)

    monkeypatch.setattr(docker_config, "_parse_bytes", counting_parse)
    provider = DockerConfigProvider(path, recheck_interval=0)
    for _ in range(3):
        assert provider.get_credentials(ref("r.example/app")).username == "old"
    assert len(parses) == 1

    write_json(path, {"auths": {"r.example": auth("new-user", "pw")}})
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert provider.get_credentials(ref("r.example/app")).username == "new-user"
    assert len(parses) == 2

    # Same size, new modification time: read again.
    write_json(path, {"auths": {"r.example": auth("NEW-USER", "pw")}})
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000))
    assert provider.get_credentials(ref("r.example/app")).username == "NEW-USER"
    assert len(parses) == 3

    path.unlink()
    assert provider.get_credentials(ref("r.example/app")) is None


# --- Checking the files at most once per recheck_interval -------------------------------------


def relogin(path, username):
    """Rewrite ``path`` as a docker login would, with a modification time it never had."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    write_json(path, {"auths": {"r.example": auth(username, f"{username}-pw")}})
    stamp = max(before, path.stat().st_mtime_ns) + 1_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def stats(monkeypatch):
    """The paths os.stat() was called for, as strings."""
    seen = []
    real_stat = os.stat

    def counting_stat(path, *args, **kwargs):
        seen.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    return seen


def test_a_change_is_seen_only_after_the_recheck_interval(tmp_path, stats):
    clock = FrozenClock()
    path = tmp_path / "config.json"
    relogin(path, "old")
    provider = DockerConfigProvider(path, recheck_interval=5, _clock=clock.monotonic)
    r = ref("r.example/app")
    stats.clear()  # relogin() stats the file too
    assert provider.get_credentials(r).username == "old"
    assert stats == [str(path)]
    relogin(path, "new")
    stats.clear()
    clock.advance(seconds=4.9)
    for _ in range(3):
        assert provider.get_credentials(r).username == "old"
    assert stats == []  # within the interval, no system call at all
    clock.advance(seconds=0.1)
    assert provider.get_credentials(r).username == "new"
    assert stats == [str(path)]
    # ...and the next check is again 5 seconds away.
    relogin(path, "newer")
    clock.advance(seconds=4.9)
    assert provider.get_credentials(r).username == "new"
    clock.advance(seconds=0.1)
    assert provider.get_credentials(r).username == "newer"


def test_invalidate_makes_the_next_lookup_check(tmp_path):
    clock = FrozenClock()
    path = tmp_path / "config.json"
    relogin(path, "old")
    provider = DockerConfigProvider(path, recheck_interval=60, _clock=clock.monotonic)
    assert isinstance(provider, InvalidatingProvider)
    r = ref("r.example/app")
    assert provider.get_credentials(r).username == "old"
    relogin(path, "new")
    assert provider.get_credentials(r).username == "old"
    provider.invalidate(r)
    assert provider.get_credentials(r).username == "new"
    # One check: the interval starts again from there.
    relogin(path, "newer")
    assert provider.get_credentials(r).username == "new"
    # The resolver passes a rejection on to it, as the orchestrator has it do.
    resolver = CredentialResolver([provider])
    resolver.invalidate(r)
    assert resolver.resolve(r).username == "newer"


def test_an_invalidate_during_a_check_holds_for_the_next_lookup(tmp_path, monkeypatch):
    clock = FrozenClock()
    path = tmp_path / "config.json"
    relogin(path, "old")
    provider = DockerConfigProvider(path, recheck_interval=60, _clock=clock.monotonic)
    r = ref("r.example/app")
    assert provider.get_credentials(r).username == "old"
    clock.advance(seconds=60)
    real_stat = os.stat

    def stat_then_login(target, *args, **kwargs):
        result = real_stat(target, *args, **kwargs)
        if os.fspath(target) == str(path):
            monkeypatch.setattr(os, "stat", real_stat)
            relogin(path, "new")
            provider.invalidate(r)  # e.g. another thread's pull was refused meanwhile
        return result

    monkeypatch.setattr(os, "stat", stat_then_login)
    # This lookup's check stamped the file before the login: it may answer the old user...
    assert provider.get_credentials(r).username == "old"
    # ...but it must not hide the invalidation from the next lookup.
    assert provider.get_credentials(r).username == "new"


def test_invalidate_keeps_what_unchanged_files_said(tmp_path, monkeypatch):
    path = write_json(tmp_path / "config.json", {"auths": {"r.example": auth("alice", "pw")}})
    provider = DockerConfigProvider(path)
    r = ref("r.example/app")
    first = provider.get_credentials(r)
    decisions = []
    real_choose = DockerConfigProvider._choose

    def counting_choose(self, document, reference, registry):
        decisions.append(str(reference))
        return real_choose(self, document, reference, registry)

    monkeypatch.setattr(DockerConfigProvider, "_choose", counting_choose)
    provider.invalidate(r)
    provider.invalidate(ref("other.example/app"))
    assert provider.get_credentials(r) is first
    assert decisions == []


def test_recheck_interval_zero_sees_every_change(tmp_path, stats):
    clock = FrozenClock()
    path = tmp_path / "config.json"
    provider = DockerConfigProvider(path, recheck_interval=0, _clock=clock.monotonic)
    r = ref("r.example/app")
    assert provider.get_credentials(r) is None
    for username in ("first", "second", "third"):
        relogin(path, username)
        assert provider.get_credentials(r).username == username
    stats.clear()
    for _ in range(3):
        assert provider.get_credentials(r).username == "third"
    assert stats.count(str(path)) == 3
    path.unlink()
    assert provider.get_credentials(r) is None


def test_a_file_replaced_by_one_of_the_same_size_and_time_is_read_again(tmp_path):
    path = tmp_path / "config.json"
    write_json(path, {"auths": {"r.example": auth("alice", "pw-one")}})
    provider = DockerConfigProvider(path, recheck_interval=0)
    r = ref("r.example/app")
    assert provider.get_credentials(r).password.reveal() == "pw-one"
    before = path.stat()
    replacement = tmp_path / "config.json.new"
    write_json(replacement, {"auths": {"r.example": auth("alice", "pw-two")}})
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert replacement.stat().st_size == before.st_size
    os.replace(replacement, path)  # as docker login writes it: a new file renamed over
    assert provider.get_credentials(r).password.reveal() == "pw-two"


def test_files_that_appear_or_vanish_are_seen_at_the_next_check(home, tmp_path, monkeypatch):
    clock = FrozenClock()
    provider = DockerConfigProvider(recheck_interval=1, _clock=clock.monotonic)
    r = ref("r.example/app")
    assert provider.get_credentials(r) is None
    relogin(home / ".docker" / "config.json", "home")
    assert provider.get_credentials(r) is None
    clock.advance(seconds=1)
    assert provider.get_credentials(r).username == "home"
    # A new $DOCKER_CONFIG is a check's business too.
    relogin(tmp_path / "elsewhere" / "config.json", "elsewhere")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))
    assert provider.get_credentials(r).username == "home"
    clock.advance(seconds=1)
    assert provider.get_credentials(r).username == "elsewhere"
    (tmp_path / "elsewhere" / "config.json").unlink()
    assert provider.get_credentials(r).username == "elsewhere"
    clock.advance(seconds=1)
    assert provider.get_credentials(r) is None


def test_helpers_are_asked_on_every_lookup(helper_bin, home, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    helper_bin("alpha", echo_helper("alpha", log))
    helper_bin("beta", f"{NOT_FOUND_HELPER.replace('printf', f'echo asked >> {log}; printf', 1)}")
    write_json(
        home / ".docker" / "config.json",
        {"credHelpers": {"h.example": "alpha"}, "credsStore": "beta"},
    )
    write_json(tmp_path / "auth.json", {"auths": {"p.example": auth("podman", "pw")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    clock = FrozenClock()
    provider = DockerConfigProvider(recheck_interval=60, _clock=clock.monotonic)
    for _ in range(3):
        assert provider.get_credentials(ref("h.example/app")).username == "alpha-user"
        # The store says "not found"; the next file answers, but not for good: the store is
        # asked again next time.
        assert provider.get_credentials(ref("p.example/app")).username == "podman"
    assert log.read_text().splitlines() == ["get h.example", "asked"] * 3


def test_remembered_credentials_carry_the_provider_name(tmp_path):
    path = write_json(tmp_path / "config.json", {"auths": {"r.example": auth("alice", "pw")}})
    provider = DockerConfigProvider(path, name="mine")
    resolver = CredentialResolver([provider])
    r = ref("r.example/team/app:1")
    first = resolver.resolve(r)
    assert first.provider == "mine"
    # The same object every time: neither the provider nor the resolver copies it.
    assert resolver.resolve(r) is first
    assert provider.get_credentials(ref("r.example/team/app:2")) is first


def test_remembered_answers_are_still_logged(tmp_path, caplog_debug):
    path = write_json(tmp_path / "config.json", {"auths": {"r.example": auth("alice", "pw")}})
    provider = DockerConfigProvider(path)
    for _ in range(2):
        provider.get_credentials(ref("r.example/app"))
        provider.get_credentials(ref("s.example/app"))
    messages = [
        record.getMessage()
        for record in caplog_debug.records
        if record.name == "registry_auth.providers.docker_config"
    ]
    assert messages == [
        f"read {path}",
        f"credentials for r.example from {path}, key 'r.example'",
        "no Docker credentials for s.example",
        f"credentials for r.example from {path}, key 'r.example'",
        "no Docker credentials for s.example",
    ]


def test_threads_sharing_a_provider_get_whole_answers(tmp_path):
    path = tmp_path / "config.json"
    contents = [
        json.dumps({"auths": {"r.example": auth(username, f"{username}-pw")}})
        for username in ("alice", "bob")
    ]
    path.write_text(contents[0])
    providers = [DockerConfigProvider(path, recheck_interval=0), DockerConfigProvider(path)]
    r = ref("r.example/app")
    stop = threading.Event()
    seen = []
    errors = []

    def look_up(provider):
        try:
            while not stop.is_set():
                creds = provider.get_credentials(r)
                seen.append((creds.username, creds.password.reveal(), creds.provider))
                provider.invalidate(r)
        except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    threads = [threading.Thread(target=look_up, args=(p,)) for p in providers * 3]
    for thread in threads:
        thread.start()
    try:
        for index in range(200):  # docker login replaces the file whole, as here
            scratch = tmp_path / f"config.json.{index}"
            scratch.write_text(contents[index % 2])
            scratch.replace(path)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert set(seen) <= {("alice", "alice-pw", "docker-config"), ("bob", "bob-pw", "docker-config")}
    assert providers[0].get_credentials(r).username == "bob"


@pytest.mark.parametrize(
    "interval", [-1, -0.001, float("nan"), float("inf"), float("-inf"), "1", True, False, None]
)
def test_recheck_interval_must_be_a_finite_number_not_below_zero(interval):
    with pytest.raises(ConfigurationError, match="recheck_interval must be") as caught:
        DockerConfigProvider({}, recheck_interval=interval)
    assert caught.value.provider == "docker-config"


@pytest.mark.parametrize("interval", [0, 0.25, 3])
def test_recheck_interval_is_kept(interval):
    provider = DockerConfigProvider({}, recheck_interval=interval)
    assert provider.recheck_interval == interval
    assert isinstance(provider.recheck_interval, float)
    assert f"recheck_interval={interval:g}" in repr(provider)


def test_recheck_interval_from_the_configuration_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[[providers]]\nprovider = "docker-config"\nrecheck_interval = 0.5\n')
    (provider,) = CredentialResolver.from_config(config).entries
    assert isinstance(provider, DockerConfigProvider)
    assert provider.recheck_interval == 0.5
    config.write_text('[[providers]]\nprovider = "docker-config"\nrecheck_interval = -2\n')
    with pytest.raises(ConfigurationError, match="recheck_interval must be"):
        CredentialResolver.from_config(config)


# --- Malformed files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"auths": {"r.example": {"auth": "' + CANARY + '"', r"not valid JSON \(line 1"),
        (json.dumps([CANARY]), "expected a JSON object"),
        (json.dumps({"auths": [CANARY]}), "'auths' must be a JSON object"),
        (json.dumps({"auths": {"r.example": CANARY}}), r"auths\['r\.example'\] must be"),
        (json.dumps({"auths": {"r.example": {"auth": CANARY}}}), r"auths\['r\.example'\].*base64"),
        (
            json.dumps(
                {"auths": {"r.example": {"auth": base64.b64encode(CANARY.encode()).decode()}}}
            ),
            "user:password",
        ),
        (
            json.dumps(
                {
                    "auths": {
                        "r.example": {"auth": base64.b64encode(b":" + CANARY.encode()).decode()}
                    }
                }
            ),
            "user:password",
        ),
        (json.dumps({"auths": {"r.example": {"password": 12345}}}), "'password' must be a string"),
        (
            json.dumps({"credHelpers": {"r.example": "../../bin/sh"}}),
            "not a credential helper name",
        ),
        (json.dumps({"credsStore": 7}), "credsStore: a int is not a credential helper name"),
        (json.dumps({"credHelpers": [CANARY]}), "'credHelpers' must be a JSON object"),
    ],
)
def test_a_malformed_file_is_a_configuration_error_naming_it(tmp_path, content, match):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=match) as caught:
        DockerConfigProvider(path).get_credentials(ref("r.example/app"))
    error = caught.value
    assert error.path == str(path)
    assert str(path) in str(error)
    assert CANARY not in str(error)
    assert CANARY not in repr(error)
    # Nothing holding the file's text rides along with the error.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_a_non_utf8_file_is_a_configuration_error(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"auths": {"r.example": {"auth": "\xff\xfe"}}}')
    with pytest.raises(ConfigurationError, match="not UTF-8") as caught:
        DockerConfigProvider(path).get_credentials(ref("r.example/app"))
    assert caught.value.__context__ is None


def test_an_unreadable_file_is_a_configuration_error(tmp_path):
    path = tmp_path / "config.json"
    path.mkdir()  # reading a directory fails like an unreadable file, even as root
    (path / "config.json").mkdir()
    with pytest.raises(ConfigurationError, match="cannot read") as caught:
        DockerConfigProvider(path).get_credentials(ref("r.example/app"))
    assert caught.value.path == str(path / "config.json")


def test_a_malformed_dict_fails_at_construction():
    with pytest.raises(ConfigurationError, match="the Docker configuration given as a dict"):
        DockerConfigProvider({"auths": {"r.example": {"auth": "%%%"}}})


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
def test_helper_timeout_must_be_a_positive_number(timeout):
    with pytest.raises(ConfigurationError, match="helper_timeout"):
        DockerConfigProvider({}, helper_timeout=timeout)


# --- Credential helpers -------------------------------------------------------------------------


def test_cred_helpers_win_over_creds_store(helper_bin, tmp_path):
    log = tmp_path / "calls.log"
    helper_bin("alpha", echo_helper("alpha", log))
    helper_bin("beta", echo_helper("beta", log))
    provider = DockerConfigProvider(
        {
            "credHelpers": {"registry.example.com": "alpha", HUB_URL: "alpha"},
            "credsStore": "beta",
            "auths": {"registry.example.com": auth("file", CANARY)},
        }
    )
    creds = provider.get_credentials(ref("registry.example.com/team/app"))
    assert userpass(creds) == ("alpha-user", "alpha-secret-registry.example.com")
    assert creds.registry == "registry.example.com"
    hub = provider.get_credentials(ref("hubuser/app"))
    assert userpass(hub) == ("alpha-user", f"alpha-secret-{HUB_URL}")
    other = provider.get_credentials(ref("other.example:5000/app"))
    assert userpass(other) == ("beta-user", "beta-secret-other.example:5000")
    assert log.read_text().splitlines() == [
        "get registry.example.com",
        f"get {HUB_URL}",
        "get other.example:5000",
    ]


def test_cred_helpers_keys_are_matched_like_auths_keys(helper_bin):
    helper_bin("alpha", echo_helper("alpha"))
    provider = DockerConfigProvider(
        {"credHelpers": {"https://Registry.Example.com/v2/": "alpha", "docker.io": "alpha"}}
    )
    assert provider.get_credentials(ref("registry.example.com/app")).username == "alpha-user"
    assert provider.get_credentials(ref("ubuntu")).password.reveal() == f"alpha-secret-{HUB_URL}"
    assert provider.get_credentials(ref("registry.example.com:5000/app")) is None
    assert provider.get_credentials(ref("quay.io/app")) is None


def test_creds_store_hides_registry_entries_but_not_namespaced_ones(helper_bin):
    helper_bin("beta", NOT_FOUND_HELPER)
    provider = DockerConfigProvider(
        {
            "credsStore": "beta",
            "auths": {"quay.io": auth("registry-wide", CANARY), "quay.io/org": auth("org", "pw")},
        }
    )
    # As with the docker CLI: the store is asked, and its "not found" is the answer.
    assert provider.get_credentials(ref("quay.io/other/app")) is None
    assert provider.get_credentials(ref("quay.io/org/app")).username == "org"


def test_a_helper_that_has_nothing_lets_the_next_file_answer(
    helper_bin, home, tmp_path, monkeypatch
):
    helper_bin("beta", NOT_FOUND_HELPER)
    write_json(home / ".docker" / "config.json", {"credsStore": "beta"})
    write_json(tmp_path / "auth.json", {"auths": {"r.example": auth("podman", "pw")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    assert DockerConfigProvider().get_credentials(ref("r.example/app")).username == "podman"
    assert DockerConfigProvider().get_credentials(ref("s.example/app")) is None


def test_a_helper_token_username_means_an_identity_token(helper_bin):
    helper_bin(
        "tok",
        'cat >/dev/null; printf \'{"ServerURL":"x","Username":"<token>","Secret":"refresh-9"}\'',
    )
    creds = DockerConfigProvider({"credsStore": "tok"}).get_credentials(ref("r.example/app"))
    assert creds.username == "<token>"
    assert creds.identity_token == Secret("refresh-9")
    assert creds.to_docker_auth_config()["identitytoken"] == "refresh-9"


def test_an_empty_helper_answer_means_nothing(helper_bin):
    helper_bin("pass06", 'cat >/dev/null; printf \'{"ServerURL":"x","Username":"","Secret":""}\'')
    assert (
        DockerConfigProvider({"credsStore": "pass06"}).get_credentials(ref("r.example/a")) is None
    )


@pytest.fixture
def caplog_debug(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_secret_free(error, caplog):
    for text in (str(error), repr(error), caplog.text):
        assert CANARY not in text


@pytest.mark.parametrize(
    ("body", "match"),
    [
        # Exit 2, a secret on stdout, a reason on stderr.
        (
            f'cat >/dev/null; echo "{CANARY}"; echo "boom: store unavailable" >&2; exit 2',
            r"exit status 2 \(stderr: boom: store unavailable\)",
        ),
        # Exit 1 with another message than "not found": still a failure, stdout not quoted.
        (f'cat >/dev/null; echo "error talking to store {CANARY}"; exit 1', r"exit status 1$"),
        # Garbage on stdout with exit 0.
        (f'cat >/dev/null; echo "Username={CANARY}"', "malformed output"),
        (
            f'cat >/dev/null; printf \'{{"Username": "alice", "Secret": 5, "x": "{CANARY}"}}\'',
            "malformed output",
        ),
        (f"cat >/dev/null; printf '[\"{CANARY}\"]'", "malformed output"),
        # A very long stderr line is cut short.
        (
            "cat >/dev/null; printf 'x%.0s' $(seq 1 500) >&2; exit 3",
            r"exit status 3 \(stderr: x{200}\.\.\.\)",
        ),
        # Killed by a signal.
        ("cat >/dev/null; kill -9 $$", "killed by signal 9"),
    ],
)
def test_helper_failures_are_provider_errors_without_secrets(helper_bin, caplog_debug, body, match):
    helper_bin("broken", body)
    provider = DockerConfigProvider({"credsStore": "broken"})
    with pytest.raises(ProviderError, match=match) as caught:
        provider.get_credentials(ref("registry.example.com/team/app"))
    error = caught.value
    assert "docker-credential-broken" in str(error)
    assert "registry.example.com" in str(error)
    assert (error.registry, error.provider) == ("registry.example.com", "docker-config")
    assert error.reference == "registry.example.com/team/app"
    assert_secret_free(error, caplog_debug)


def test_a_hung_helper_is_killed_after_the_timeout(helper_bin, tmp_path):
    pid_file = tmp_path / "sleep.pid"
    helper_bin("hang", f"sleep 30 & echo $! > {pid_file}; wait")
    provider = DockerConfigProvider({"credsStore": "hang"}, helper_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"no answer within 0\.5 s; killed") as caught:
        provider.get_credentials(ref("registry.example.com/app"))
    assert time.monotonic() - started < 5
    assert "docker-credential-hang" in str(caught.value)
    # The helper's own children went with it (it ran in its own process group).
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{sleeper}").exists() and time.monotonic() < deadline:
        status = Path(f"/proc/{sleeper}/status").read_text(errors="replace")
        if "State:\tZ" in status:
            break
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{sleeper}").exists()


def test_a_missing_helper_is_a_provider_error(helper_bin):
    provider = DockerConfigProvider({"credHelpers": {"r.example": "no-such-helper-4d1"}})
    with pytest.raises(ProviderError, match="not installed") as caught:
        provider.get_credentials(ref("r.example/app"))
    assert "docker-credential-no-such-helper-4d1" in str(caught.value)
    assert "r.example" in str(caught.value)


def test_a_helper_that_cannot_be_executed_is_a_provider_error(helper_bin):
    helper_bin("noexec", "exit 0").chmod(0o644)
    with pytest.raises(ProviderError, match="could not be started"):
        DockerConfigProvider({"credsStore": "noexec"}).get_credentials(ref("r.example/app"))


def test_the_error_names_the_file_that_named_the_helper(helper_bin, tmp_path):
    helper_bin("broken", "exit 4")
    path = write_json(tmp_path / "config.json", {"credsStore": "broken"})
    with pytest.raises(ProviderError, match="exit status 4") as caught:
        DockerConfigProvider(path).get_credentials(ref("r.example/app"))
    assert str(path) in str(caught.value)


# --- Secrets stay out of sight -----------------------------------------------------------------


def test_no_secret_in_repr_or_logs(helper_bin, tmp_path, caplog_debug):
    helper_bin("alpha", f'cat >/dev/null; printf \'{{"Username":"u","Secret":"{CANARY}-helper"}}\'')
    config = {
        "auths": {"r.example": auth("alice", CANARY), "t.example": {"identitytoken": CANARY}},
        "credHelpers": {"s.example": "alpha"},
    }
    path = write_json(tmp_path / "config.json", config)
    for provider in (DockerConfigProvider(config), DockerConfigProvider(path)):
        assert CANARY not in repr(provider)
        found = [
            provider.get_credentials(ref(f"{host}/app"))
            for host in ("r.example", "s.example", "t.example")
        ]
        assert all(found)
        assert all(CANARY not in repr(creds) for creds in found)
    assert DockerConfigProvider(config).__repr__() == (
        "DockerConfigProvider(<dict>, helper_timeout=60, recheck_interval=1, name='docker-config')"
    )
    assert "docker_config" in caplog_debug.text  # it did log, at debug level
    assert CANARY not in caplog_debug.text


# --- Agreement with docker-py on registry-level lookups ----------------------------------------


def docker_py_view(result):
    """docker-py's answer as (username, password, identity token), empty values as None."""
    if not result:
        return None
    lowered = {key.lower(): value for key, value in result.items()}
    token = lowered.get("identitytoken") or None
    if token:
        return (None, None, token)
    return (lowered.get("username") or None, lowered.get("password") or None, None)


def our_view(creds):
    if creds is None:
        return None
    if creds.identity_token is not None:
        return (None, None, creds.identity_token.reveal())
    return (creds.username or None, creds.password.reveal() or None, None)


AGREEMENT_CASES = [
    ({"auths": {HUB_URL: auth("hub", "pw1")}}, "ubuntu"),
    ({"auths": {HUB_URL: auth("hub", "pw1")}}, "hubuser/app"),
    ({"auths": {"index.docker.io": auth("hub", "pw2")}}, "hubuser/app"),
    ({"auths": {"docker.io": auth("hub", "pw3")}}, "docker.io/hubuser/app"),
    ({"auths": {"https://index.docker.io/v2/": auth("hub", "pw4")}}, "ubuntu"),
    ({"auths": {"index.docker.io": auth("a", "1"), "docker.io": auth("b", "2")}}, "ubuntu"),
    ({"auths": {HUB_URL: auth("hub", "pw"), "r.example": auth("r", "pw5")}}, "r.example/team/app"),
    ({"auths": {HUB_URL: auth("hub", "pw")}}, "quay.io/hubuser/app"),
    ({"auths": {"https://registry.example.com/v2/": auth("u", "pw6")}}, "registry.example.com/app"),
    ({"auths": {"http://registry.example.com": auth("u", "pw7")}}, "registry.example.com/app"),
    (
        {"auths": {"https://r.example:5000/v2/": auth("port", "p"), "r.example": auth("no", "p")}},
        "r.example:5000/app",
    ),
    ({"auths": {"r.example": auth("u", "p")}}, "r.example:5000/app"),
    ({"auths": {"r.example:5000": auth("u", "p")}}, "r.example/app"),
    ({"auths": {"localhost:5000": auth("local", "p8")}}, "localhost:5000/app"),
    ({"auths": {"r.example": {"identitytoken": "refresh"}}}, "r.example/app"),
    ({"auths": {"r.example": {}}}, "r.example/app"),
    ({"auths": {"r.example": auth("u", "pa:ss")}}, "r.example/app"),
    ({"credHelpers": {"r.example": "alpha"}, "credsStore": "beta"}, "r.example/app"),
    ({"credHelpers": {"r.example": "alpha"}, "credsStore": "beta"}, "other.example/app"),
    ({"credHelpers": {"r.example": "alpha"}, "credsStore": "beta"}, "ubuntu"),
    ({"credHelpers": {HUB_URL: "alpha"}, "credsStore": "beta"}, "hubuser/app"),
    ({"credHelpers": {"r.example": "alpha"}}, "other.example/app"),
    ({"credsStore": "tok"}, "r.example/app"),
]


@pytest.mark.parametrize(("config", "image"), AGREEMENT_CASES)
def test_agrees_with_docker_py(helper_bin, config, image):
    import docker.auth

    helper_bin("alpha", echo_helper("alpha"))
    helper_bin("beta", echo_helper("beta"))
    helper_bin(
        "tok",
        'cat >/dev/null; printf \'{"ServerURL":"x","Username":"<token>","Secret":"refresh-t"}\'',
    )
    parsed = ImageReference.parse(image)
    registry, _ = docker.auth.resolve_repository_name(f"{parsed.registry}/{parsed.repository}")
    theirs = docker.auth.resolve_authconfig(
        docker.auth.load_config(config_dict=copy.deepcopy(config)), registry
    )
    ours = DockerConfigProvider(config).get_credentials(parsed)
    assert our_view(ours) == docker_py_view(theirs)


# --- Real credential helpers --------------------------------------------------------------------


def test_real_pass_helper(tmp_path, monkeypatch):
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(gnupg))
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(tmp_path / "password-store"))
    try:
        subprocess.run(
            [
                "gpg",
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                "registry-auth test <test@example.invalid>",
                "default",
                "default",
                "never",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            ["pass", "init", "test@example.invalid"], check=True, capture_output=True, timeout=60
        )
        stored = {
            "ServerURL": "registry.example.com",
            "Username": "alice",
            "Secret": "pass-secret-1",
        }
        subprocess.run(
            ["docker-credential-pass", "store"],
            input=json.dumps(stored).encode(),
            check=True,
            timeout=60,
        )
        token = {"ServerURL": HUB_URL, "Username": "<token>", "Secret": "pass-refresh-2"}
        subprocess.run(
            ["docker-credential-pass", "store"],
            input=json.dumps(token).encode(),
            check=True,
            timeout=60,
        )
        provider = DockerConfigProvider({"credsStore": "pass"}, helper_timeout=30)
        creds = provider.get_credentials(ref("registry.example.com/team/app"))
        assert userpass(creds) == ("alice", "pass-secret-1")
        hub = provider.get_credentials(ref("hubuser/app"))
        assert hub.identity_token == Secret("pass-refresh-2")
        # docker-credential-pass 0.6 answers an unknown server with empty values and exit 0.
        assert provider.get_credentials(ref("other.example/app")) is None
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, timeout=30)


def test_real_secretservice_helper_in_a_dbus_session(tmp_path):
    plan = {
        "config": {"credsStore": "secretservice", "credHelpers": {"quay.io": "secretservice"}},
        "steps": [
            ["helper_store", "registry.example.com:5000", "alice", "ss-secret-1"],
            ["helper_store", HUB_URL, "<token>", "ss-refresh-2"],
            ["helper_store", "quay.io", "robot+ci", "ss-secret-3"],
            ["helper_list"],
            ["get", "registry.example.com:5000/team/app:1"],
            ["get", "hubuser/app"],
            ["get", "quay.io/org/app"],
            ["get", "other.example/app"],
        ],
    }
    plan_path = write_json(tmp_path / "plan" / "plan.json", plan)
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            str(DATA / "in_keyring_session.sh"),
            sys.executable,
            str(DATA / "docker_config_in_session.py"),
            str(plan_path),
        ],
        env=session_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    stored, _, _, listed, registry, hub, quay, other = json.loads(result.stdout)
    assert stored == "stored"
    assert listed == {
        "registry.example.com:5000": "alice",
        HUB_URL: "<token>",
        "quay.io": "robot+ci",
    }
    assert registry == {
        "username": "alice",
        "password": "ss-secret-1",
        "identity_token": None,
        "registry": "registry.example.com:5000",
        "provider": "docker-config",
    }
    assert hub["identity_token"] == "ss-refresh-2"
    assert hub["registry"] == "docker.io"
    assert (quay["username"], quay["password"]) == ("robot+ci", "ss-secret-3")
    assert other is None


def test_registry_auths_own_helper_is_never_asked(tmp_path, monkeypatch):
    """docker-credential-registry-auth answers from these providers: asking it would recurse."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "called"
    helper = bin_dir / "docker-credential-registry-auth"
    helper.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    provider = DockerConfigProvider({"credHelpers": {"r.example": "registry-auth"}})
    assert provider.get_credentials(ImageReference.parse("r.example/app")) is None
    assert not marker.exists()
