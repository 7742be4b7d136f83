"""Fuzzing what registry-auth reads from people and programs: only typed errors, no tracebacks.

In process, every input either works or raises a :class:`RegistryAuthError` subclass, whose
message and repr hold no secret (checked against the run's canaries, see ``tests/canary.py``).
The installed executables are run on fewer inputs, and must never print a Python traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registry_auth import (
    ConfigurationError,
    CredentialResolver,
    ImageReference,
    InvalidReferenceError,
    ProtocolError,
    RegistryAuthError,
    Secret,
    StaticPasswordProvider,
)
from registry_auth._config import load_config, parse_config
from registry_auth._credential_helper import run as run_helper
from registry_auth._kubelet import API_VERSION, handle_request
from registry_auth._pull_errors import FailureContext, FailureKind, build_failure
from registry_auth._reference import without_userinfo
from tests import canary

# Made at run time, so that hypothesis (which reuses the literals of the code) cannot put them
# where showing them would be no leak.
PASSWORD = canary.make("fuzz-password")
FILE_SECRET = canary.make("fuzz-file-secret")
STORED_SECRET = canary.make("fuzz-stored")
SECRETS = (PASSWORD, FILE_SECRET, STORED_SECRET)


def leaked_in(text: str) -> str | None:
    return canary.leaked_in(text, among=SECRETS)


BIN = Path(sys.executable).parent
IN_PROCESS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXECUTABLES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters references are made of, and the ones that break them.
REFERENCE_ALPHABET = "abcdeklmnxyz0123456789ABCXYZ._-/:@[]+ \t\n\x00\u00e9\u043e\uff21"
REFERENCE_FRAGMENTS = [
    "docker.io",
    "index.docker.io",
    "localhost",
    "localhost:5000",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "public.ecr.aws",
    "[::1]:5000",
    "registry.example.com",
    "library",
    "team",
    "app",
    "https://",
    "http://",
    "user:pw@",
    "/v1/",
    "@sha256:" + "a" * 64,
    ":latest",
    ":1.0",
    "//",
    "..",
    "__",
    "--",
    "xn--dcker-9ve.io",
    "d\u043ecker.io",  # a Cyrillic o
    "a" * 70,
]


def check_error(error: BaseException) -> None:
    """A fuzzed input may fail, but only with a typed error that shows no secret."""
    assert isinstance(error, RegistryAuthError), f"untyped {type(error).__name__}: {error}"
    assert leaked_in(str(error)) is None, "a secret in the message"
    assert leaked_in(repr(error)) is None, "a secret in the repr"
    cause = error.__cause__
    if cause is not None and not isinstance(cause, RegistryAuthError):
        # A chained third-party error is shown by tracebacks: it must not hold the secret either.
        assert leaked_in(str(cause)) is None, "a secret in the chained error"


@contextlib.contextmanager
def only_typed_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:  # noqa: BLE001 - checked, not swallowed
        check_error(error)


def reference_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(),
        st.text(alphabet=REFERENCE_ALPHABET, max_size=80),
        st.lists(
            st.one_of(
                st.sampled_from(REFERENCE_FRAGMENTS), st.text(REFERENCE_ALPHABET, max_size=6)
            ),
            max_size=6,
        ).map("".join),
    )


# -- image references ------------------------------------------------------------------------


@IN_PROCESS
@given(reference_texts())
@example("[" * 200)
@example("a" * 256)
@example("a/" * 200 + "a")
def test_parse_accepts_or_raises_invalid_reference(text):
    try:
        ref = ImageReference.parse(text)
    except InvalidReferenceError as error:
        check_error(error)
        rejected: str | None = error.text
    else:
        rejected = None
    # The rejected text is quoted as given, except user information (before an @ of the host).
    assert rejected in {None, without_userinfo(text)}
    if rejected is not None:
        return
    assert ImageReference.parse(str(ref)) == ref
    assert ImageReference.parse(ref.familiar) == ref
    assert text.isascii()


@IN_PROCESS
@given(
    reference_texts(),
    st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["", " ", "1.0", "latest"])),
    st.one_of(st.none(), reference_texts()),
)
def test_from_fields_accepts_or_raises_invalid_reference(image, tag, registry_url):
    try:
        ref = ImageReference.from_fields(image, tag, registry_url)
    except InvalidReferenceError as error:
        check_error(error)
        return
    assert ImageReference.parse(str(ref)) == ref
    if registry_url and registry_url.strip():
        # The registry came from, or was checked against, the URL the user typed.
        host = registry_url.strip().split("://")[-1].split("/")[0].lower()
        hub = {"docker.io", "index.docker.io", "registry-1.docker.io"}
        assert ref.registry.lower() == host or (ref.registry == "docker.io" and host in hub)


def test_registry_urls_with_user_information_are_refused_without_quoting_them():
    with pytest.raises(InvalidReferenceError) as caught:
        ImageReference.from_fields(
            "app", registry_url=f"https://alice:{PASSWORD}@registry.example.com/"
        )
    check_error(caught.value)


# -- the configuration file ------------------------------------------------------------------


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("secrets")
    good = directory / "secret"
    good.write_text(FILE_SECRET + "\n")
    good.chmod(0o600)
    binary = directory / "binary"
    binary.write_bytes(b"\xff\xfe" + FILE_SECRET.encode())
    return {
        "good": str(good),
        "binary": str(binary),
        "directory": str(directory),
        "missing": str(directory / "missing"),
        "unknown-home": "~no-such-user-registry-auth/secret",
        "nul": "sec\x00ret",
        "empty": "",
    }


@pytest.fixture(scope="module", autouse=True)
def memory_keyring() -> Iterator[Any]:
    """An in-memory keyring for this module (keyring references and the helper's store)."""
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.entries: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self.entries.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError(service)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    backend.set_password("registry-auth:kr.example", "alice", STORED_SECRET)
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


KEYS = [
    "version",
    "registries",
    "providers",
    "provider",
    "username",
    "registry",
    "env",
    "file",
    "keyring",
    "namespaces",
    "config",
    "helper_timeout",
    "profile",
    "registry_ids",
    "timeout",
    "max_attempts",
    "service_prefix",
]
PROVIDERS = ["static", "dockerhub", "ecr", "docker-config", "keyring", "nope", "", "a:b"]
PATTERNS = ["docker.io", "r.example", "*.example", "localhost:5000/team", "", "a b", "[::1]", "x:y"]


SECRET_KEYS = ["password", "token", "secret", "identity_token"]


def config_values(files: dict[str, str]) -> st.SearchStrategy[Any]:
    """Values for any key: never a secret (those go under SECRET_KEYS, see secret_values)."""
    scalars = st.one_of(
        st.text(max_size=12),
        st.integers(),
        st.booleans(),
        st.floats(allow_nan=True),
        st.sampled_from([*PROVIDERS, *PATTERNS]),
    )
    return st.recursive(
        st.one_of(scalars, secret_references(files)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=4
            ),
        ),
        max_leaves=12,
    )


def secret_references(files: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(
        st.fixed_dictionaries({"file": st.sampled_from(sorted(files.values()))}),
        st.fixed_dictionaries({"env": st.sampled_from(["FUZZ_SECRET", "FUZZ_UNSET", "", "A=B"])}),
        st.fixed_dictionaries(
            {"keyring": st.sampled_from(["registry-auth:kr.example", "other"])},
            optional={"username": st.sampled_from(["alice", "", "bob"])},
        ),
        st.fixed_dictionaries(
            {"file": st.sampled_from(sorted(files.values())), "env": st.just("FUZZ_SECRET")}
        ),
    )


def secret_values(files: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(PASSWORD), secret_references(files), config_values(files))


def configs(files: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    entry = st.tuples(
        st.dictionaries(st.sampled_from(KEYS), config_values(files), max_size=4),
        st.dictionaries(st.sampled_from(SECRET_KEYS), secret_values(files), max_size=2),
    ).map(lambda pair: {**pair[0], **pair[1]})
    provider_entry = st.tuples(st.sampled_from(PROVIDERS), entry).map(
        lambda pair: {**pair[1], "provider": pair[0]}
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "version": st.one_of(st.just(1), config_values(files)),
            "registries": st.one_of(
                st.dictionaries(
                    st.one_of(st.sampled_from(PATTERNS), st.text(max_size=10)),
                    st.one_of(provider_entry, config_values(files)),
                    max_size=3,
                ),
                config_values(files),
            ),
            "providers": st.one_of(st.lists(provider_entry, max_size=2), config_values(files)),
            "colour": st.text(max_size=3),
        },
    )


@settings(IN_PROCESS, max_examples=400)
@given(data=st.data())
def test_parse_config_and_building_its_providers_raise_only_typed_errors(
    data, secret_files, monkeypatch_module
):
    config = data.draw(configs(secret_files))
    with only_typed_errors():
        parsed = parse_config(config)
        assert leaked_in(repr(parsed)) is None
        resolver = parsed.resolver()
        assert leaked_in(repr(resolver)) is None


def toml_lines(files: dict[str, str]) -> st.SearchStrategy[str]:
    quoted = [json.dumps(value) for value in files.values()]
    fragments = [
        '[registries."r.example"]',
        '[registries."docker.io"]',
        "[[providers]]",
        "[registries]",
        'provider = "static"',
        'provider = "dockerhub"',
        'provider = "ecr"',
        'provider = "keyring"',
        'username = "alice"',
        f'password = "{PASSWORD}"',
        'password = { env = "FUZZ_SECRET" }',
        *(f"password = {{ file = {value} }}" for value in quoted),
        'password = { keyring = "registry-auth:kr.example" }',
        "version = 2",
        "version = 1",
        "registries = 5",
        "helper_timeout = -1",
        'namespaces = ["a", 5]',
        "password = [1, 2]",
        'x = """',
        "= =",
    ]
    return st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=15)), max_size=8).map(
        "\n".join
    )


@settings(IN_PROCESS, max_examples=200)
@given(data=st.data())
def test_load_config_on_toml_ish_text_raises_only_configuration_errors(
    data, secret_files, tmp_path_factory, monkeypatch_module
):
    text = data.draw(toml_lines(secret_files))
    path = tmp_path_factory.getbasetemp() / "fuzzed.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    path.chmod(0o600)
    try:
        config = load_config(path)
    except ConfigurationError as error:
        check_error(error)
        at_fault: str | None = error.path
    else:
        at_fault = None
    assert at_fault in {None, str(path)}
    if at_fault is not None:
        return
    with only_typed_errors():
        config.resolver()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FUZZ_SECRET", PASSWORD)
        patch.delenv("FUZZ_UNSET", raising=False)
        yield patch


@pytest.mark.parametrize(
    "target",
    ["~no-such-user-registry-auth/secret", "sec\x00ret", "binary"],
    ids=["unknown-home", "nul", "not-utf8"],
)
def test_unreadable_secret_files_are_configuration_errors(target, secret_files):
    file = secret_files.get(target, target)
    config = {
        "registries": {
            "r.example": {"provider": "static", "username": "u", "password": {"file": file}}
        }
    }
    resolver = parse_config(config).resolver()
    with pytest.raises(ConfigurationError, match="cannot read secret file") as caught:
        resolver.resolve(ImageReference.parse("r.example/x"))
    check_error(caught.value)


@pytest.mark.parametrize(
    ("provider", "options"),
    [
        ("static", {"username": "u", "password": PASSWORD, "registry": 5}),
        ("keyring", {"registries": [5]}),
        ("ecr", {"profile": 5}),
    ],
)
def test_options_of_the_wrong_type_are_configuration_errors(provider, options):
    with pytest.raises(ConfigurationError, match="must be") as caught:
        parse_config({"registries": {"r.example": {"provider": provider, **options}}})
    check_error(caught.value)


# -- Docker's config.json, and what credential helpers answer ---------------------------------


@settings(IN_PROCESS, max_examples=200)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans()),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(
                    st.sampled_from(
                        [
                            "auths",
                            "credHelpers",
                            "credsStore",
                            "auth",
                            "username",
                            "password",
                            "identitytoken",
                            "registry.example.com",
                        ]
                    ),
                    inner,
                    max_size=3,
                ),
            ),
            max_leaves=10,
        ).map(lambda data: json.dumps(data).encode()),
    )
)
@example(raw=b"[" * 100000)
@example(raw=b'{"auths": {"registry.example.com": ' * 20000)
def test_docker_config_files_raise_only_typed_errors(raw, tmp_path_factory):
    from registry_auth import DockerConfigProvider

    path = tmp_path_factory.getbasetemp() / "fuzzed-config.json"
    path.write_bytes(raw)
    with only_typed_errors():
        DockerConfigProvider(path).get_credentials(ImageReference.parse("registry.example.com/a"))


def test_a_credential_helper_answering_nested_json_is_a_provider_error(tmp_path, monkeypatch):
    from registry_auth import DockerConfigProvider, ProviderError

    helper = tmp_path / "docker-credential-deep"
    helper.write_text("#!/bin/sh\ncat >/dev/null\nhead -c 100000 /dev/zero | tr '\\0' '['\n")
    helper.chmod(0o700)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    provider = DockerConfigProvider({"credHelpers": {"registry.example.com": "deep"}})
    with pytest.raises(ProviderError, match="malformed output") as caught:
        provider.get_credentials(ImageReference.parse("registry.example.com/app"))
    check_error(caught.value)


# -- the credential helper's stdin -----------------------------------------------------------


def helper_resolver() -> CredentialResolver:
    return CredentialResolver(
        [
            StaticPasswordProvider(
                registry="registry.example.com", username="alice", password=PASSWORD
            )
        ]
    )


def helper_inputs(action: str) -> st.SearchStrategy[bytes]:
    """What the helper may read for ``action``; the secret only where it is one.

    ``store`` reads a JSON payload whose ``Secret`` is one; the other actions read a server
    address, which is echoed back (``ServerURL``) and so holds a secret only as user
    information, which must never be echoed.
    """
    free = st.one_of(
        st.binary(max_size=200),
        st.text(REFERENCE_ALPHABET, max_size=60).map(
            lambda text: text.encode("utf-8", "surrogatepass")
        ),
        st.sampled_from(REFERENCE_FRAGMENTS).map(str.encode),
    )
    if action != "store":
        with_user_info = st.sampled_from(
            [
                f"https://alice:{PASSWORD}@registry.example.com",
                f"alice:{PASSWORD}@registry.example.com:5000",
                f"https://alice:{PASSWORD}@registry.example.com/v2/",
            ]
        ).map(str.encode)
        return st.one_of(free, with_user_info)
    payloads = st.fixed_dictionaries(
        {},
        optional={
            "ServerURL": st.one_of(
                st.sampled_from(REFERENCE_FRAGMENTS),
                st.text(max_size=20),
                st.integers(),
                st.just(f"https://alice:{PASSWORD}@registry.example.com"),
            ),
            "Username": st.one_of(st.text(max_size=8), st.none(), st.just("alice")),
            "Secret": st.one_of(st.just(PASSWORD), st.text(max_size=8), st.lists(st.integers())),
        },
    ).map(lambda payload: json.dumps(payload).encode())
    return st.one_of(free, payloads)


def helper_calls() -> st.SearchStrategy[tuple[str, bytes]]:
    actions = st.sampled_from(["get", "store", "erase", "list", "version", "GET", "", "nope"])
    return actions.flatmap(lambda action: st.tuples(st.just(action), helper_inputs(action)))


@settings(IN_PROCESS, max_examples=150)
@given(call=helper_calls())
@example(call=("store", b"[" * 60000))
@example(call=("store", b'{"ServerURL": "https://u:p@r.example", "Username": "u", "Secret": "s"}'))
def test_credential_helper_answers_every_input_by_the_protocol(call, memory_keyring):
    action, data = call
    out = io.StringIO()
    code = run_helper([action], stdin=io.BytesIO(data), stdout=out, resolver=helper_resolver)
    assert code in {0, 1}
    text = out.getvalue()
    if action == "get" and code == 0:
        answer = json.loads(text)
        assert set(answer) == {"ServerURL", "Username", "Secret"}
        # The one place a secret is meant to be: the Secret field, for the asked registry.
        answer.pop("Secret")
        assert leaked_in(json.dumps(answer)) is None
    else:
        assert leaked_in(text) is None
    assert not text.startswith("Traceback")


# -- the kubelet plugin's request ------------------------------------------------------------


def kubelet_requests() -> st.SearchStrategy[bytes]:
    bodies = st.fixed_dictionaries(
        {},
        optional={
            "apiVersion": st.one_of(st.just(API_VERSION), st.text(max_size=10), st.integers()),
            "kind": st.one_of(st.just("CredentialProviderRequest"), st.text(max_size=10)),
            "image": st.one_of(reference_texts(), st.integers(), st.none(), st.lists(st.text())),
        },
    ).map(lambda body: json.dumps(body).encode())
    return st.one_of(st.binary(max_size=300), bodies)


@IN_PROCESS
@given(kubelet_requests())
@example(b"[" * 60000)
@example(b'{"a":' * 13000)
@example(b"\xef\xbb\xbf{}")
@example(b"1e999999")
def test_kubelet_requests_get_a_response_or_a_typed_error(raw):
    try:
        response = handle_request(raw, helper_resolver())
    except (ProtocolError, InvalidReferenceError) as error:
        check_error(error)
        return
    assert response["apiVersion"] == API_VERSION
    assert response["kind"] == "CredentialProviderResponse"
    for registry, auth in response["auth"].items():
        assert registry == "registry.example.com"
        assert auth == {"username": "alice", "password": PASSWORD}


# -- the executables -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executable_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("fuzz-home")
    config = home / "registry-auth.toml"
    config.write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "FUZZ_SECRET" }\n'
    )
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "REGISTRY_AUTH_CONFIG": str(config),
        "FUZZ_SECRET": PASSWORD,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LC_ALL": "C.UTF-8",
    }


def run_executable(
    argv: list[str], data: bytes, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        input=data,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert b"Traceback" not in output, output.decode(errors="replace")
    return result


@EXECUTABLES
@given(raw=kubelet_requests())
@example(raw=b"[" * 60000)
def test_kubelet_plugin_executable_never_shows_a_traceback(raw, executable_env):
    result = run_executable(["registry-auth", "kubelet-plugin"], raw, executable_env)
    assert result.returncode in {0, 2, 3, 4}
    if result.returncode == 0:
        response = json.loads(result.stdout)
        for auth in response["auth"].values():
            auth.pop("password")
        assert leaked_in(json.dumps(response)) is None
    else:
        assert result.stdout == b""
    assert leaked_in(result.stderr.decode(errors="replace")) is None


@EXECUTABLES
@given(call=helper_calls())
@example(call=("store", b"[" * 60000))
def test_credential_helper_executable_never_shows_a_traceback(call, executable_env):
    action, data = call
    result = run_executable(["docker-credential-registry-auth", action], data, executable_env)
    assert result.returncode in {0, 1}
    if not (action == "get" and result.returncode == 0):
        assert leaked_in(result.stdout.decode(errors="replace")) is None
    assert leaked_in(result.stderr.decode(errors="replace")) is None


def argument(text: str) -> bool:
    """Whether ``text`` can be passed as a command-line argument (and is not an option)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text and not text.startswith("-")


@EXECUTABLES
@given(
    command=st.sampled_from(["parse", "resolve"]),
    image=reference_texts().filter(argument),
    registry_url=st.one_of(st.none(), st.text(REFERENCE_ALPHABET, max_size=20).filter(argument)),
)
def test_registry_auth_command_never_shows_a_traceback(
    command, image, registry_url, executable_env
):
    argv = ["registry-auth", command, image]
    if registry_url is not None:
        argv.append(f"--registry-url={registry_url}")
    result = run_executable(argv, b"", executable_env)
    assert result.returncode in {0, 1, 2, 3, 4}
    assert leaked_in((result.stdout + result.stderr).decode(errors="replace")) is None


# -- known leaks, kept visible until fixed ----------------------------------------------------


@pytest.mark.parametrize(
    ("password", "detail", "giveaway"),
    [
        ("x", "received unexpected HTTP status: 503 Service Unavailable", "une********pected"),
        ("registry", "Get https://myregistry.example.com/v2/: EOF", "my********.example"),
    ],
)
def test_masking_a_short_password_does_not_reveal_it(password, detail, giveaway):
    context = FailureContext(
        reference=ImageReference.parse("myregistry.example.com/app"),
        provider="explicit",
        username="alice",
        secrets=(Secret(password),),
    )
    message = build_failure(FailureKind.UNAVAILABLE, detail, context).error.message
    assert giveaway not in message
