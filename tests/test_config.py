import logging
import os

import pytest

from registry_auth import (
    ConfigurationError,
    CredentialResolver,
    ImageReference,
    Secret,
    find_config_file,
    load_config,
)
from registry_auth._config import (
    DEFAULT_ORDER,
    config_search_path,
    default_entries,
    docker_logins_found,
    load_resolver,
    parse_config,
)

HUB_TOKEN = "dckr_pat_canary_cfg_1"


def ref(text):
    return ImageReference.parse(text)


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_a_full_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", HUB_TOKEN)
    (tmp_path / "secret").write_text("file-secret\n")
    config = write(
        tmp_path / "config.toml",
        f"""
        version = 1
        [registries."docker.io"]
        provider = "dockerhub"
        username = "hubuser"
        password = {{ env = "HUB_TOKEN" }}

        [registries."localhost:5443/team"]
        provider = "static"
        username = "alice"
        password = {{ file = "{tmp_path / "secret"}" }}

        [registries."*.example.com"]
        provider = "static"
        registry = "*.example.com"
        username = "bob"
        password = {{ env = "HUB_TOKEN" }}
        """,
    )
    resolver = CredentialResolver.from_config(config)
    hub = resolver.resolve(ref("hubuser/hello:v1"))
    assert hub.username == "hubuser"
    assert hub.password == Secret(HUB_TOKEN)
    team = resolver.resolve(ref("localhost:5443/team/app"))
    assert team.password.reveal() == "file-secret"
    assert resolver.resolve(ref("localhost:5443/other/app")) is None
    assert resolver.resolve(ref("a.example.com/x")).username == "bob"
    assert resolver.resolve(ref("a.b.example.com/x")) is None


def test_providers_array_applies_everywhere(tmp_path):
    config = parse_config(
        {
            "providers": [
                {"provider": "static", "registry": "r.example", "username": "u", "password": "p"}
            ]
        }
    )
    assert config.resolver().resolve(ref("r.example/x")).username == "u"


def test_search_order(tmp_path, monkeypatch):
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    paths = config_search_path(env)
    assert paths[0] == tmp_path / "xdg" / "registry-auth" / "config.toml"
    assert str(paths[-1]) == "/etc/registry-auth/config.toml"
    env_file = write(tmp_path / "explicit.toml", "")
    paths = config_search_path({**env, "REGISTRY_AUTH_CONFIG": str(env_file)})
    assert paths[0] == env_file
    assert find_config_file({**env, "REGISTRY_AUTH_CONFIG": str(env_file)}) == env_file
    no_xdg = config_search_path({"HOME": str(tmp_path / "home")})
    assert no_xdg[0] == tmp_path / "home" / ".config" / "registry-auth" / "config.toml"


def test_no_file_means_an_empty_resolver(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("registry_auth._config.config_search_path", lambda environ=None: ())
    assert load_config().entries == ()
    assert CredentialResolver.from_config().resolve(ref("ubuntu")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("registries = 3", "registries must be a table"),
        ('[registries."r.example"]\nusername = "u"', "needs provider"),
        ('[registries."r.example"]\nprovider = "nope"', "no credential provider named 'nope'"),
        (
            '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = { env = "MISSING_VAR_X" }',
            "MISSING_VAR_X is not set",
        ),
        (
            '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = { env = "A", file = "B" }',
            "exactly one of",
        ),
        (
            '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = { file = "/nonexistent/x" }',
            "cannot read secret file",
        ),
        (
            '[registries."r.example"]\nprovider = "static"\npassword = "p"',
            "does not accept these options",
        ),
        (
            '[registries."r.example"]\nprovider = "docker-config"\nrecheck_interval = -1',
            "recheck_interval must be",
        ),
        (
            '[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\nregistry_ids = ["12"]',
            "registry_ids",
        ),
        ('[registries."bad host!"]\nprovider = "static"', "invalid registry pattern"),
        ("version = 2", "unsupported configuration version"),
        ("colour = 1", "unknown top-level keys"),
        ("[[providers]]\nname = 'x'", "needs provider"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_invalid_files_name_file_and_entry(tmp_path, text, message, monkeypatch):
    monkeypatch.delenv("MISSING_VAR_X", raising=False)
    path = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigurationError, match=message) as info:
        CredentialResolver.from_config(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_errors_never_contain_secret_values(tmp_path):
    path = write(
        tmp_path / "c.toml",
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        'password = "inline-canary-77"\ncolour = "x"\n',
    )
    with pytest.raises(ConfigurationError) as info:
        CredentialResolver.from_config(path)
    assert "inline-canary-77" not in str(info.value)
    assert "inline-canary-77" not in repr(load_config(path))


def test_inline_secret_in_a_readable_file_warns(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="registry_auth.config")
    text = '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = "inline-canary-78"\n'
    private = write(tmp_path / "private.toml", text, 0o600)
    load_config(private)
    assert caplog.text == ""
    shared = write(tmp_path / "shared.toml", text, 0o644)
    resolver = CredentialResolver.from_config(shared)
    assert "readable by other users" in caplog.text
    assert "registries.'r.example'.password" in caplog.text
    assert "inline-canary-78" not in caplog.text
    assert resolver.resolve(ref("r.example/x")).password.reveal() == "inline-canary-78"


def test_keyring_reference(tmp_path, plaintext_keyring):
    plaintext_keyring.set_password("r.example", "alice", "kr-secret")
    path = write(
        tmp_path / "c.toml",
        '[registries."r.example"]\nprovider = "static"\nusername = "alice"\n'
        'password = { keyring = "r.example" }\n',
    )
    assert (
        CredentialResolver.from_config(path).resolve(ref("r.example/x")).password.reveal()
        == "kr-secret"
    )
    missing = write(
        tmp_path / "m.toml",
        '[registries."r.example"]\nprovider = "static"\nusername = "bob"\n'
        'password = { keyring = "r.example" }\n',
    )
    with pytest.raises(
        ConfigurationError, match=r"no keyring entry for service 'r\.example', user 'bob'"
    ):
        CredentialResolver.from_config(missing)


# --- the default providers ----------------------------------------------------------------------


def names(entries):
    return [entry.provider for entry in entries]


def test_the_default_order_is_keyring_docker_logins_then_ecr(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert DEFAULT_ORDER == ("keyring", "docker-config", "ecr")
    # No login file: docker-config is left out (short-lived tools do not load it for nothing).
    assert docker_logins_found() == ()
    assert names(default_entries()) == ["keyring", "ecr"]
    assert names(default_entries(docker_config=True)) == ["keyring", "docker-config", "ecr"]
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text("{}")
    assert names(default_entries()) == ["keyring", "docker-config", "ecr"]
    assert names(default_entries(docker_config=False)) == ["keyring", "ecr"]


@pytest.mark.parametrize(
    ("variable", "file"),
    [
        (None, "home/.docker/config.json"),
        (None, "home/.dockercfg"),
        (None, "home/.config/containers/auth.json"),
        ("DOCKER_CONFIG", "dc/config.json"),
        ("REGISTRY_AUTH_FILE", "podman/auth.json"),
        ("XDG_RUNTIME_DIR", "run/containers/auth.json"),
    ],
)
def test_any_docker_or_podman_login_file_brings_in_docker_config(
    tmp_path, monkeypatch, variable, file
):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if variable == "REGISTRY_AUTH_FILE":
        monkeypatch.setenv(variable, str(tmp_path / file))
    elif variable is not None:
        monkeypatch.setenv(variable, str(tmp_path / file.split("/")[0]))
    path = tmp_path / file
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    assert docker_logins_found() == (path,)
    assert "docker-config" in names(default_entries())


def test_the_tools_resolve_from_a_docker_login_with_no_configuration_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr("registry_auth._config.config_search_path", lambda environ=None: ())
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(
        '{"auths": {"registry.example.com/v1/": {"auth": "YWxpY2U6czNjcmV0"}}}'
    )
    found = load_resolver().resolve(ref("registry.example.com/team/app"))
    assert (found.username, found.password, found.provider) == (
        "alice",
        Secret("s3cret"),
        "docker-config",
    )
