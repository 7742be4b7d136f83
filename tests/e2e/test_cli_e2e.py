"""The registry-auth command against the local stack: real dockerd, real registries, moto.

Every test runs the installed ``registry-auth`` script as a user would, with DOCKER_HOST on the
stack's dockerd, a private HOME, and keyrings.alt's file keyring under that HOME.
"""

from __future__ import annotations

import json
import os
import pty
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.stack import ECR_ACCOUNT, ECR_REGION, Image, LocalStack, PushedImage
from tests.test_progress import render_screen

pytestmark = pytest.mark.e2e

EXE = Path(sys.executable).parent / "registry-auth"
LAYER_BYTES = 3_000_000  # random, so gzip keeps it large: the engine reports download progress
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"


@pytest.fixture
def cli_env(tmp_path, local_stack: LocalStack):
    home = tmp_path / "home"
    for made in (".config", ".cache"):  # as in a user's home; registry-auth makes neither
        (home / made).mkdir(parents=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "REGISTRY_AUTH_", "DOCKER_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        REGISTRY_AUTH_CACHE_DIR=str(home / ".cache" / "registry-auth"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        DOCKER_HOST=local_stack.docker_base_url,
        DOCKER_CONFIG=str(home / ".docker"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        AWS_CONFIG_FILE=str(home / "no-aws-config"),
    )
    return env


def cli(env, *args, stdin=None):
    return subprocess.run(
        [str(EXE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=180,
    )


def one_line(stderr):
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr


def fresh_image(
    local_stack: LocalStack, request, repository: str, *, registry: str = "private"
) -> tuple[Image, PushedImage]:
    """A new image, never pulled before, with a layer big enough to report progress."""
    seed = random.Random(request.node.nodeid)  # noqa: S311 - test data, not a secret
    image = Image.build(files={"payload.bin": seed.randbytes(LAYER_BYTES)})
    return image, local_stack.registries[registry].push(image, repository, "v1")


def alice(local_stack: LocalStack) -> str:
    return local_stack.private.password("alice")


def pull_json(env, reference, *extra, stdin=None):
    result = cli(env, "pull", "--json", reference, *extra, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pull_draws_a_line_per_layer_on_a_terminal(local_stack, cli_env, request):
    image, pushed = fresh_image(local_stack, request, "cli/terminal")
    layer = image.layers[0].digest.removeprefix("sha256:")[:12]
    master, slave = pty.openpty()
    with subprocess.Popen(
        [str(EXE), "pull", pushed.reference, "--username", "alice", "--password-stdin"],
        stdin=subprocess.PIPE,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**cli_env, "TERM": "xterm", "COLUMNS": "120"},
    ) as process:
        os.close(slave)
        assert process.stdin is not None
        process.stdin.write(alice(local_stack).encode() + b"\n")
        process.stdin.close()
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=180) == 0
        os.close(master)
    output = b"".join(chunks).decode()
    assert "\x1b[" in output  # lines redrawn in place
    screen = render_screen(output)
    assert screen.count(f"{layer}: Pull complete") == 1
    assert f"Digest: {pushed.digest}" in screen
    assert f"digest     {pushed.digest}" in screen
    # While it downloaded, the layer's line carried a bar and byte counts.
    assert f"{layer}: Downloading [" in output
    assert alice(local_stack) not in output


def test_pull_plain_progress_then_json_result(local_stack, cli_env, docker_client, request):
    image, pushed = fresh_image(local_stack, request, "cli/plain")
    layer = image.layers[0].digest.removeprefix("sha256:")[:12]
    result = cli(
        cli_env,
        "pull",
        pushed.reference,
        "--username",
        "alice",
        "--password-stdin",
        stdin=alice(local_stack) + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert f"{layer}: Pull complete" in lines
    assert f"Digest: {pushed.digest}" in lines
    assert "provider   explicit" in lines

    data = pull_json(
        cli_env,
        pushed.reference,
        "--policy",
        "always",
        "--username",
        "alice",
        "--password-stdin",
        stdin=alice(local_stack),
    )
    assert data == {
        "reference": pushed.reference,
        "image_id": docker_client.api.inspect_image(pushed.reference)["Id"],
        "digest": pushed.digest,
        "pulled": True,
        "provider": "explicit",
        "attempts": 1,
    }


def test_wrong_password_exits_4_with_one_line_and_no_secret(local_stack, cli_env, request):
    _image, pushed = fresh_image(local_stack, request, "cli/wrong")
    wrong = "not-alices-password-31"
    result = cli(
        cli_env, "pull", pushed.reference, "--username", "alice", "--password-stdin", stdin=wrong
    )
    assert result.returncode == 4
    assert one_line(result.stderr).startswith("registry-auth: error: ")
    assert wrong not in result.stdout + result.stderr
    assert alice(local_stack) not in result.stdout + result.stderr


# Logged out, the pull is anonymous. The local Docker Hub (token auth, TLS verified) then says
# "pull access denied", as the real one does. (The stack's 127.0.0.1 registries are "insecure"
# to dockerd, which falls back to plain HTTP and reports that fallback's error instead.)


def test_login_to_the_keyring_then_pull_then_logout(local_stack, cli_env, request):
    _image, pushed = fresh_image(local_stack, request, "hubuser/cli-keyring", registry="hub")
    password = local_stack.hub.password("hubuser")
    login = cli(cli_env, "login", "docker.io", "-u", "hubuser", "--password-stdin", stdin=password)
    assert login.returncode == 0, login.stderr
    assert login.stderr == ""
    data = pull_json(cli_env, pushed.reference)
    assert data["provider"] == "keyring"
    assert data["digest"] == pushed.digest

    logout = cli(cli_env, "logout", "docker.io")
    assert logout.returncode == 0, logout.stderr
    result = cli(cli_env, "pull", "-q", "--policy", "always", pushed.reference)
    assert result.returncode == 4
    assert "registry-auth: error:" in one_line(result.stderr)
    assert password not in result.stdout + result.stderr


def test_login_store_config_then_pull(local_stack, cli_env, request):
    _image, pushed = fresh_image(local_stack, request, "hubuser/cli-config", registry="hub")
    password = local_stack.hub.password("hubuser")
    login = cli(
        cli_env,
        "login",
        "https://index.docker.io/v1/",
        "-u",
        "hubuser",
        "--password-stdin",
        "--store",
        "config",
        stdin=password,
    )
    assert login.returncode == 0, login.stderr
    config = Path(cli_env["XDG_CONFIG_HOME"]) / "registry-auth" / "config.toml"
    assert '[registries."docker.io"]' in config.read_text()
    assert password not in config.read_text()
    assert pull_json(cli_env, pushed.reference)["provider"] == "static"
    assert cli(cli_env, "logout", "docker.io").returncode == 0
    assert "docker.io" not in config.read_text()
    assert cli(cli_env, "pull", "-q", "--policy", "always", pushed.reference).returncode == 4


def test_login_verify_checks_with_the_registry(local_stack, cli_env):
    host = local_stack.private.host
    wrong = cli(
        cli_env, "login", host, "-u", "alice", "--password-stdin", "--verify", stdin="bad-pw-5"
    )
    assert wrong.returncode == 4
    assert "bad-pw-5" not in wrong.stdout + one_line(wrong.stderr)
    assert cli(cli_env, "resolve", f"{host}/team/app").returncode == 1  # nothing stored
    right = cli(
        cli_env,
        "login",
        host,
        "-u",
        "alice",
        "--password-stdin",
        "--verify",
        stdin=alice(local_stack),
    )
    assert right.returncode == 0, right.stderr
    assert cli(cli_env, "resolve", f"{host}/team/app").returncode == 0


def test_pull_ecr_with_tokens_from_the_config(local_stack, sample_images, cli_env):
    config = Path(cli_env["HOME"]) / "ecr.toml"
    config.write_text(
        f'[registries."{ECR_HOST}"]\nprovider = "ecr"\n'
        f'endpoint_url = "{local_stack.moto_endpoint_url}"\n'
    )
    env = {**cli_env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    local_stack.forget_images()
    result = cli(env, "--config", str(config), "pull", "--json", sample_images.ecr.reference)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["provider"] == "ecr"
    assert data["digest"] == sample_images.ecr.digest


@pytest.mark.parametrize(
    ("target", "code"),
    [("missing", 1), ("foreign", 7), ("down", 5)],
)
def test_pull_failures_exit_with_their_codes(local_stack, sample_images, cli_env, target, code):
    reference = {
        "missing": f"{local_stack.private.host}/team/never-pushed:1.0",
        "foreign": sample_images.foreign.reference,
        "down": sample_images.private.reference,
    }[target]
    args = [
        "pull",
        "-q",
        "--policy",
        "always",
        "--retries",
        "1",
        reference,
        "--username",
        "alice",
        "--password-stdin",
    ]
    if target == "down":
        with local_stack.private.down():
            result = cli(cli_env, *args, stdin=alice(local_stack))
    else:
        result = cli(cli_env, *args, stdin=alice(local_stack))
    assert result.returncode == code, result.stderr
    one_line(result.stderr)


def test_diagnose_reaches_the_engine(local_stack, cli_env):
    result = cli(cli_env, "diagnose", "--json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["engine"]["reachable"] is True
    assert report["engine"]["docker_host"] == local_stack.docker_base_url
    assert report["engine"]["api_version"]
    assert report["engine"]["version"]
    text = cli(cli_env, "diagnose").stdout
    assert f"answered at {local_stack.docker_base_url}" in text


def test_a_login_made_by_skopeo_is_used_with_no_configuration_file(local_stack, cli_env, request):
    """What `skopeo login` (Podman's tools) writes to auth.json is a default source of logins."""
    _image, pushed = fresh_image(local_stack, request, "cli/skopeo-login")
    authfile = Path(cli_env["HOME"]) / "auth.json"
    # skopeo runs in the lab's network namespace, where the registry is.
    local_stack.lab.run(
        [
            "skopeo",
            "login",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            "--username",
            "alice",
            "--password-stdin",
            local_stack.private.host,
        ],
        input_data=alice(local_stack).encode(),
        env={"HOME": cli_env["HOME"]},
    )
    assert local_stack.private.host in json.loads(authfile.read_text())["auths"]
    env = {**cli_env, "REGISTRY_AUTH_FILE": str(authfile)}

    resolved = cli(env, "resolve", "--json", pushed.reference)
    assert resolved.returncode == 0, resolved.stderr
    found = json.loads(resolved.stdout)
    assert (found["provider"], found["username"]) == ("docker-config", "alice")
    assert alice(local_stack) not in resolved.stdout + resolved.stderr
    data = pull_json(env, pushed.reference)
    assert (data["provider"], data["digest"]) == ("docker-config", pushed.digest)
