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
    key_problems,
    load_resolver,
    parse_config,
)
from registry_auth._resolver import Route

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
            '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = { env = "A", file = "B" }',
            "exactly one of",
        ),
        (
            '[registries."r.example"]\nprovider = "static"\npassword = "p"',
            "needs the option 'username'",
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
def test_invalid_files_name_file_and_entry(tmp_path, text, message):
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
    resolver = CredentialResolver.from_config(missing)
    with pytest.raises(
        ConfigurationError, match=r"no keyring entry for service 'r\.example', user 'bob'"
    ):
        resolver.resolve(ref("r.example/x"))


# -- keys that can never match -----------------------------------------------------------------


def key_warnings(caplog, text, tmp_path):
    path = write(tmp_path / "keys.toml", text)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="registry_auth.config"):
        resolver = CredentialResolver.from_config(path)
    messages = [r.getMessage() for r in caplog.records if r.name == "registry_auth.config"]
    return resolver, messages


def test_the_star_key_is_reported_at_load(caplog, tmp_path):
    resolver, messages = key_warnings(
        caplog,
        '[registries."*"]\nprovider = "static"\nusername = "u"\npassword = "p"\n',
        tmp_path,
    )
    assert len(messages) == 1
    assert "registries.'*': '*' matches only the registry localhost" in messages[0]
    assert "the port must match exactly" in messages[0]
    assert resolver.resolve(ref("registry.example.com:5000/app")) is None  # as the warning says
    assert resolver.resolve(ref("localhost/app")) is not None


@pytest.mark.parametrize(
    ("key", "provider", "options", "expected"),
    [
        ("docker.io", "ecr", "", "provider 'ecr' serves no registry matching 'docker.io'"),
        (
            "quay.io",
            "dockerhub",
            'username = "u"\npassword = "p"\n',
            "provider 'dockerhub' serves no registry matching 'quay.io'",
        ),
        (
            "registry.example.com:5000",
            "ecr",
            "",
            "provider 'ecr' serves no registry matching 'registry.example.com:5000'",
        ),
        # A glob covers one label: ECR hosts have seven, this pattern four.
        (
            "*.amazonaws.com.cn",
            "ecr",
            "",
            "provider 'ecr' serves no registry matching '*.amazonaws.com.cn'",
        ),
    ],
)
def test_a_provider_on_a_host_it_does_not_serve_is_reported(
    caplog, tmp_path, key, provider, options, expected
):
    text = f'[registries."{key}"]\nprovider = "{provider}"\n{options}'
    _, messages = key_warnings(caplog, text, tmp_path)
    assert len(messages) == 1
    assert f"registries.{key!r}: {expected}, so this entry never gives credentials" in messages[0]
    assert str(tmp_path / "keys.toml") in messages[0]


def test_the_ecr_message_points_at_aliases(caplog, tmp_path):
    _, messages = key_warnings(caplog, '[registries."docker.io"]\nprovider = "ecr"\n', tmp_path)
    assert "give registry_id and region" in messages[0]


@pytest.mark.parametrize(
    ("key", "provider", "options"),
    [
        ("docker.io", "dockerhub", 'username = "u"\npassword = "p"\n'),
        ("*.io", "dockerhub", 'username = "u"\npassword = "p"\n'),
        ("*.dkr.ecr.*.amazonaws.com", "ecr", ""),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team", "ecr", ""),
        ("public.ecr.aws", "ecr", ""),
        ("*.dkr.ecr.cn-north-1.amazonaws.com.cn", "ecr", ""),
        ("localhost", "static", 'username = "u"\npassword = "p"\n'),
        ("registry.example.com:5000/team", "static", 'username = "u"\npassword = "p"\n'),
        (
            "ecr.internal.example.com",
            "ecr",
            'registry_id = "123456789012"\nregion = "eu-west-1"\n',
        ),
        ("quay.io", "docker-config", ""),
    ],
)
def test_keys_that_can_match_are_not_reported(caplog, tmp_path, key, provider, options):
    text = f'[registries."{key}"]\nprovider = "{provider}"\n{options}'
    _, messages = key_warnings(caplog, text, tmp_path)
    assert messages == []


class Hookless:
    name = "hookless"

    def __init__(self, **options):
        pass

    def get_credentials(self, ref):
        return None


class BrokenHook(Hookless):
    name = "broken-hook"

    def serves(self, pattern):
        raise RuntimeError("a plugin's bug")


class Refusing(Hookless):
    name = "refusing"

    def serves(self, pattern):
        return False


@pytest.mark.parametrize(
    ("plugin", "reported"),
    [(Hookless, False), (BrokenHook, False), (Refusing, True)],
)
def test_third_party_providers_with_and_without_the_hook(caplog, tmp_path, plugin, reported):
    text = f'[registries."quay.io"]\nprovider = "tests.test_config:{plugin.__name__}"\n'
    resolver, messages = key_warnings(caplog, text, tmp_path)
    assert len(resolver.entries) == 1  # the entry loads either way
    assert bool(messages) is reported


def test_key_problems_is_a_pure_check():
    config = parse_config(
        {
            "registries": {
                "*": {"provider": "static", "username": "u", "password": "p"},
                "docker.io": {"provider": "ecr"},
                "r.example": {"provider": "static", "username": "u", "password": "p"},
            }
        }
    )
    routes = [entry for entry in config.resolver().entries if isinstance(entry, Route)]
    found = {problem.key: problem for route in routes for problem in key_problems(route)}
    assert set(found) == {"*", "docker.io"}
    assert found["*"].impossible is False  # it matches localhost
    assert found["docker.io"].impossible is True
    assert found["docker.io"].provider == "ecr"


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


def test_a_file_that_is_not_utf8_is_named_in_one_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[registries."r.example"]\nprovider = "static"\npassword = "\xff\xfe"\n')
    with pytest.raises(ConfigurationError, match="not UTF-8") as info:
        load_config(path)
    assert info.value.path == str(path)
    assert str(path) in info.value.message
    assert "\n" not in info.value.message


@pytest.mark.parametrize("opening", ["[", "{ a = "], ids=["arrays", "inline-tables"])
def test_toml_nested_past_the_recursion_limit_is_a_configuration_error(tmp_path, opening):
    closing = "]" if opening == "[" else "}"
    path = write(tmp_path / "config.toml", "x = " + opening * 5000 + "1" + closing * 5000)
    with pytest.raises(ConfigurationError, match="nested too deeply") as info:
        load_config(path)
    assert info.value.path == str(path)


def static_with_secret_file(tmp_path, target):
    return write(
        tmp_path / "config.toml",
        f'[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        f'password = {{ file = "{target}" }}\n',
    )


def secret_file_error(tmp_path, target):
    resolver = CredentialResolver.from_config(static_with_secret_file(tmp_path, target))
    with pytest.raises(ConfigurationError) as info:
        resolver.resolve(ref("r.example/x"))
    message = info.value.message
    assert f"registries.'r.example'.password: cannot read secret file '{target}'" in message
    return message


def test_a_device_as_secret_file_is_refused_without_reading_it(tmp_path):
    # /dev/null, not /dev/zero: should this ever regress, it must fail, not fill the memory
    # (test_credential_helper tries /dev/zero in a process of bounded memory).
    assert "not a regular file (a character device)" in secret_file_error(tmp_path, "/dev/null")


def test_a_fifo_as_secret_file_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    assert "not a regular file (a FIFO)" in secret_file_error(tmp_path, fifo)


def test_a_directory_as_secret_file_is_refused(tmp_path):
    assert "not a regular file (a directory)" in secret_file_error(tmp_path, tmp_path)


def test_a_secret_file_past_the_size_limit_is_refused_and_not_quoted(tmp_path):
    big = tmp_path / "big"
    big.write_text("big-canary-31" * 10_000)
    message = secret_file_error(tmp_path, big)
    assert "larger than 65536 bytes" in message
    assert "big-canary-31" not in message


def test_a_secret_file_at_the_size_limit_is_read(tmp_path):
    exact = tmp_path / "exact"
    exact.write_bytes(b"s" * 65536)
    resolver = CredentialResolver.from_config(static_with_secret_file(tmp_path, exact))
    assert resolver.resolve(ref("r.example/x")).password.reveal() == "s" * 65536


def test_a_secret_file_that_is_not_utf8_is_refused_without_quoting_it(tmp_path):
    binary = tmp_path / "binary"
    binary.write_bytes(b"canary-\xff-42")
    message = secret_file_error(tmp_path, binary)
    assert "it is not UTF-8" in message
    assert "canary" not in message


README_STYLE = """
[registries."docker.io"]
provider = "dockerhub"
username = "hubuser"
password = {{ env = "DOCKERHUB_TOKEN" }}

[registries."registry.example.com:5000/team"]
provider = "static"
username = "alice"
password = {{ file = "{secret}" }}

[registries."other.example.com"]
provider = "static"
username = "carol"
password = {{ keyring = "other.example.com" }}

[[providers]]
provider = "static"
registry = "fallback.example"
username = "dave"
password = "inline"
"""


def test_one_unreadable_secret_fails_only_the_lookups_routed_to_it(
    tmp_path, monkeypatch, plaintext_keyring
):
    monkeypatch.delenv("DOCKERHUB_TOKEN", raising=False)
    secret = tmp_path / "team-secret"
    secret.write_text("team-pass\n")
    path = write(tmp_path / "config.toml", README_STYLE.format(secret=secret))
    config = load_config(path)
    broken = [entry for entry in config.entries if entry.error is not None]
    assert [entry.provider for entry in broken] == ["dockerhub", "static"]
    resolver = config.resolver()

    team = resolver.resolve(ref("registry.example.com:5000/team/app"))
    assert team.password.reveal() == "team-pass"
    assert resolver.resolve(ref("fallback.example/x")).username == "dave"
    assert resolver.resolve(ref("quay.io/x/y")) is None

    with pytest.raises(ConfigurationError) as hub:
        resolver.resolve(ref("hubuser/hello"))
    assert hub.value.message == (
        f"{path}: registries.'docker.io'.password: environment variable DOCKERHUB_TOKEN is not set"
    )
    assert (hub.value.path, hub.value.registry, hub.value.provider) == (
        str(path),
        "docker.io",
        "dockerhub",
    )
    with pytest.raises(ConfigurationError, match="no keyring entry for service 'other"):
        resolver.resolve(ref("other.example.com/x"))


def test_an_unreadable_secret_in_the_providers_array_fails_the_lookups_that_reach_it(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MISSING_VAR_X", raising=False)
    path = write(
        tmp_path / "config.toml",
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = "p"\n'
        '[[providers]]\nprovider = "static"\nregistry = "*.example"\nusername = "v"\n'
        'password = { env = "MISSING_VAR_X" }\n',
    )
    resolver = CredentialResolver.from_config(path)
    assert resolver.resolve(ref("r.example/x")).username == "u"
    with pytest.raises(ConfigurationError, match=r"providers\[0\]\.password: environment"):
        resolver.resolve(ref("quay.io/x"))


def test_a_malformed_reference_still_fails_the_whole_file(tmp_path):
    path = write(
        tmp_path / "config.toml",
        '[registries."a.example"]\nprovider = "static"\nusername = "u"\npassword = "p"\n'
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        "password = { env = 5 }\n",
    )
    with pytest.raises(ConfigurationError, match="env must be a non-empty string"):
        load_config(path)


@pytest.mark.parametrize(
    ("provider", "option", "toml", "message"),
    [
        ("static", "username", "5", "must be a string, not an integer"),
        ("static", "password", "true", "must be a string or a secret reference, not a boolean"),
        ("static", "registry", "[1]", "must be a string, not an array holding something"),
        ("dockerhub", "username", "1.5", "must be a string, not a float"),
        ("dockerhub", "namespaces", '"hubuser"', "must be an array of strings, not a string"),
        ("ecr", "public", '"no"', "must be true or false, not a string"),
        ("ecr", "timeout", '"10"', "must be a number, not a string"),
        ("ecr", "max_attempts", "2.5", "must be an integer, not a float"),
        ("ecr", "max_attempts", "true", "must be an integer, not a boolean"),
        ("ecr", "registries", '{ env = "X" }', "must be a table, not a secret reference"),
        ("ecr", "registry_ids", "123456789012", "must be a string or an array of strings"),
        ("docker-config", "helper_timeout", '"5"', "must be a number, not a string"),
        ("docker-config", "config", "1979-05-27", "must be a string or a table, not a date"),
        ("keyring", "service_prefix", "{ a = 1 }", "must be a string, not a table"),
    ],
)
def test_option_types_are_checked_at_load_naming_file_entry_and_option(
    tmp_path, provider, option, toml, message
):
    path = write(
        tmp_path / "config.toml",
        f'[registries."r.example"]\nprovider = "{provider}"\n{option} = {toml}\n',
    )
    with pytest.raises(ConfigurationError) as info:
        load_config(path)
    assert info.value.message.startswith(
        f"{path}: registries.'r.example'.{option}: the {provider} option {option!r} {message}"
    )
    assert (info.value.path, info.value.registry, info.value.provider) == (
        str(path),
        "r.example",
        provider,
    )


def test_option_types_are_checked_in_the_providers_array(tmp_path):
    path = write(tmp_path / "c.toml", '[[providers]]\nprovider = "static"\nusername = 5\n')
    with pytest.raises(ConfigurationError, match=r"providers\[0\]\.username: the static option"):
        load_config(path)


def test_well_typed_options_of_every_builtin_provider_load(tmp_path):
    path = write(
        tmp_path / "config.toml",
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\npassword = "p"\n'
        '[registries."docker.io"]\nprovider = "dockerhub"\nusername = "u"\npassword = "p"\n'
        'namespaces = ["u"]\n'
        '[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\npublic = false\n'
        'timeout = 5\nmax_attempts = 2\nregistry_ids = "123456789012"\n'
        'registries = { "*.dkr.ecr.eu-west-1.amazonaws.com" = { profile = "p" } }\n'
        '[registries."q.example"]\nprovider = "docker-config"\nhelper_timeout = 2.5\n'
        "config = { auths = {} }\n"
        '[[providers]]\nprovider = "keyring"\nregistries = ["k.example"]\n',
    )
    assert len(load_config(path).resolver().entries) == 5
