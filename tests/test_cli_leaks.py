"""What the command line must never show: secrets in tracebacks and errors, in any encoding."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from docker import auth as docker_auth

from registry_auth import _cli
from registry_auth._credentials import Credentials
from registry_auth._orchestrator import ContainerOrchestrator
from registry_auth.testing.fake_docker import FakeDocker, FakeFailure
from tests import canary

REGISTRY = "registry.example.com:5000"
IMAGE = f"{REGISTRY}/team/app:1.0"
USER = "alice"
# Characters that percent-encoding and JSON change, so each form differs from the others.
PASSWORD = "leaks-canary p@ss/w+rd&é"
canary.register(PASSWORD)  # holds whitespace, so the canary does not collect it on its own


def sent_forms(password: str) -> dict[str, str]:
    """Each form of ``password`` a pull sends, or a registry or engine may echo, by name."""
    config = Credentials(username=USER, password=password, registry=REGISTRY)
    header = docker_auth.encode_header(config.to_docker_auth_config())
    basic = f"{USER}:{password}".encode()
    return {
        "plain": password,
        "basic": base64.b64encode(basic).decode(),
        "basic-urlsafe": base64.urlsafe_b64encode(basic).decode(),
        "password-base64": base64.b64encode(password.encode()).decode(),
        "x-registry-auth": header.decode() if isinstance(header, bytes) else header,
        "quote": urllib.parse.quote(password),
        "quote-safe-none": urllib.parse.quote(password, safe=""),
        "quote_plus": urllib.parse.quote_plus(password),
    }


def echoing_message(password: str) -> str:
    """An engine message that echoes every form in which ``password`` was sent."""
    forms = sent_forms(password)
    return (
        f"unauthorized: authentication required; Authorization: Basic {forms['basic']}; "
        f"X-Registry-Auth: {forms['x-registry-auth']}; "
        f"token=({forms['basic-urlsafe']}) p={forms['password-base64']} "
        f"url https://{USER}:{forms['quote-safe-none']}@{REGISTRY}/v2/ "
        f"q={forms['quote']} f={forms['quote_plus']} plain {forms['plain']}"
    )


def assert_no_form(text: str, password: str = PASSWORD) -> None:
    for name, form in sent_forms(password).items():
        assert form not in text, f"the {name} form of the password shows"


@pytest.fixture
def engine(monkeypatch):
    """A FakeDocker behind the CLI's orchestrator that echoes the password when it fails."""
    fake = FakeDocker()
    fake.add_image(IMAGE, layers=1)
    fake.require_credentials(REGISTRY, {USER: PASSWORD})

    def make(resolver):
        return ContainerOrchestrator(fake, providers=resolver, sleep=lambda _s: None)

    monkeypatch.setattr(_cli, "_make_orchestrator", make)
    fake.fail_next(FakeFailure.WRONG_PASSWORD, message=echoing_message(PASSWORD))
    return fake


@pytest.fixture
def config_with_password(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[registries."{REGISTRY}"]\nprovider = "static"\nusername = "{USER}"\n'
        'password = { env = "LEAKS_TEST_PASSWORD" }\n'
    )
    path.chmod(0o600)
    monkeypatch.setenv("LEAKS_TEST_PASSWORD", PASSWORD)
    return path


def pull(monkeypatch, source, config, *options):
    """Run ``pull`` in process with the password from stdin or from the config file."""
    if source == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(PASSWORD.encode())))
        return _cli.main(
            [
                *("--config", os.devnull, *options),
                *("pull", "-q", IMAGE, "--username", USER, "--password-stdin"),
            ]
        )
    return _cli.main(["--config", str(config), *options, "pull", "-q", IMAGE])


@pytest.mark.parametrize("source", ["stdin", "config"])
def test_debug_traceback_masks_the_secret_in_every_chained_exception(
    engine, config_with_password, monkeypatch, capsys, source
):
    code = pull(monkeypatch, source, config_with_password, "--debug")
    out, err = capsys.readouterr()
    assert code == 4
    assert "Traceback" in err
    # The engine's own error is still shown, chained under ours, with its text masked.
    assert "docker.errors.APIError" in err
    assert "The above exception was the direct cause" in err
    assert "X-Registry-Auth: ********" in err
    assert_no_form(out + err)


@pytest.mark.parametrize("source", ["stdin", "config"])
def test_the_error_line_masks_every_encoding_of_the_secret(
    engine, config_with_password, monkeypatch, capsys, source
):
    code = pull(monkeypatch, source, config_with_password)
    assert code == 4
    out, err = capsys.readouterr()
    assert err.count("\n") == 1, err
    assert err.startswith("registry-auth: error: ")
    assert_no_form(out + err)
    assert "Basic ********" in err
    assert f"https://{USER}:********@" in err


def test_json_error_masks_the_secret(engine, config_with_password, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(PASSWORD.encode())))
    code = _cli.main(
        ["--config", os.devnull, "pull", "--json", IMAGE, "--username", USER, "--password-stdin"]
    )
    out, err = capsys.readouterr()
    assert code == 4
    message = json.loads(out)["error"]["message"]
    assert "X-Registry-Auth: ********" in message
    assert_no_form(out + err)


# --- user information in references and addresses ----------------------------------------------

USERINFO = "S3cret-userinfo-canary-52"


def script(name: str) -> str:
    exe = Path(sys.executable).parent / name
    assert exe.exists(), f"the {name} script is not installed"
    return str(exe)


def run_script(name: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script(name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["resolve", f"alice:{USERINFO}@registry.example.com/x"],
        ["resolve", "--json", f"alice:{USERINFO}@registry.example.com/x"],
        ["parse", f"https://alice:{USERINFO}@registry.example.com/x"],
        ["parse", "x", "--registry-url", f"alice:{USERINFO}@registry.example.com"],
        ["logout", f"alice:{USERINFO}@registry.example.com"],
    ],
)
def test_the_cli_never_quotes_user_information(args):
    result = run_script("registry-auth", "--config", os.devnull, *args)
    assert result.returncode == 2, result.stderr
    assert "error" in result.stderr
    assert USERINFO not in result.stdout + result.stderr
    assert "alice" not in result.stdout + result.stderr


def test_the_kubelet_plugin_never_writes_user_information_to_stderr():
    request = {
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": f"alice:{USERINFO}@registry.example.com/x",
    }
    result = run_script(
        "registry-auth", "--config", os.devnull, "kubelet-plugin", stdin=json.dumps(request)
    )
    assert result.returncode == 2
    assert "request image is invalid" in result.stderr
    assert USERINFO not in result.stdout + result.stderr
    assert "alice" not in result.stdout + result.stderr


@pytest.mark.parametrize("action", ["get", "erase"])
def test_the_credential_helper_never_quotes_user_information(action):
    result = run_script(
        "docker-credential-registry-auth",
        action,
        stdin=f"https://alice:{USERINFO}@registry.example.com/\n",
    )
    assert result.returncode == 1
    assert "user information" in result.stdout + result.stderr
    assert USERINFO not in result.stdout + result.stderr
    assert "alice" not in result.stdout + result.stderr
