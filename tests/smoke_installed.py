"""Smoke test of an installed registry-auth, run by ``nox -s release`` with each venv's Python.

Usage: ``<venv>/bin/python tests/smoke_installed.py EXPECTED_VERSION``

It needs nothing but the standard library and the installed distribution, and it checks what a
user of that install gets: a light ``import registry_auth`` with the right ``__version__``,
executable console scripts, the Docker credential helper and the kubelet plugin answering from a
configuration file, and a package with no compiled file and no trace of the test lab. Every
check runs; the failures are listed at the end and the exit status is 1 if there was any.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

DISTRIBUTION = "registry-auth"
REGISTRY = "registry.example.com:5000"
USERNAME = "smoke"
PASSWORD = "smoke-password-7c1e"
KUBELET_API = "credentialprovider.kubelet.k8s.io/v1"
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".o", ".pyx")
LAB_WORDS = (b"dockerd", b"nsenter", b"unshare")

_failures: list[str] = []


def check(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run the decorated check later, recording an ``AssertionError`` as a failure of ``name``."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        def run(*args: object) -> None:
            try:
                function(*args)
            except AssertionError as exc:
                _failures.append(f"{name}: {exc}")
                print(f"FAIL {name}: {exc}")
            else:
                print(f"ok   {name}")

        return run

    return decorate


def scripts_dir() -> Path:
    return Path(sysconfig.get_path("scripts"))


def console_scripts() -> list[str]:
    entry_points = importlib.metadata.distribution(DISTRIBUTION).entry_points
    return sorted(ep.name for ep in entry_points if ep.group == "console_scripts")


def package_files() -> dict[str, Path]:
    """The installed files of the package itself (not its metadata), by their name in the wheel."""
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    files = distribution.files or []
    return {
        str(f): Path(str(distribution.locate_file(f)))
        for f in files
        if f.parts and f.parts[0] == "registry_auth"
    }


def run(argv: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@check("import registry_auth")
def check_import(expected_version: str) -> None:
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import registry_auth\n"
        "print(json.dumps({'version': registry_auth.__version__,"
        " 'file': registry_auth.__file__, 'prefix': sys.prefix,"
        " 'loaded': sorted(set(sys.modules) - before)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip()
    facts = json.loads(result.stdout)
    assert facts["version"] == expected_version, f"__version__ is {facts['version']!r}"
    assert Path(facts["file"]).is_relative_to(facts["prefix"]), (
        f"imported {facts['file']}, not the installed package"
    )
    heavy = [m for m in facts["loaded"] if m.split(".")[0] in {"docker", "boto3", "botocore"}]
    assert not heavy, f"the import loaded {heavy}"


@check("console scripts are executable")
def check_scripts() -> None:
    names = console_scripts()
    assert {"registry-auth", "docker-credential-registry-auth"} <= set(names), names
    for name in names:
        path = scripts_dir() / name
        assert path.is_file(), f"{path} is missing"
        mode = path.stat().st_mode
        assert mode & stat.S_IXUSR, f"{path} is not executable (mode {stat.filemode(mode)})"
        assert os.access(path, os.X_OK), f"{path} cannot be executed"


@check("registry-auth --version")
def check_cli_version(expected_version: str, env: dict[str, str]) -> None:
    result = run([str(scripts_dir() / "registry-auth"), "--version"], env)
    assert result.returncode == 0, result.stderr.strip()
    assert result.stdout == f"registry-auth {expected_version}\n", result.stdout


@check("docker-credential-registry-auth version")
def check_helper_version(expected_version: str, env: dict[str, str]) -> None:
    helper = str(scripts_dir() / "docker-credential-registry-auth")
    result = run([helper, "version"], env)
    assert result.returncode == 0, result.stdout.strip()
    assert result.stdout.split() == [
        "docker-credential-registry-auth",
        "(registry-auth)",
        expected_version,
    ], result.stdout


@check("docker-credential-registry-auth get")
def check_helper_get(env: dict[str, str]) -> None:
    helper = str(scripts_dir() / "docker-credential-registry-auth")
    result = run([helper, "get"], env, stdin=f"https://{REGISTRY}\n")
    assert result.returncode == 0, result.stdout.strip().replace(PASSWORD, "***")
    answer = json.loads(result.stdout)
    expected = {"ServerURL": f"https://{REGISTRY}", "Username": USERNAME, "Secret": PASSWORD}
    assert answer == expected, "the helper answered other credentials"
    other = run([helper, "get"], env, stdin="other.example.com\n")
    assert (other.returncode, other.stdout) == (
        1,
        "credentials not found in native keychain\n",
    ), f"an unconfigured registry got: {other.stdout!r}"


@check("registry-auth kubelet-plugin")
def check_kubelet_plugin(env: dict[str, str]) -> None:
    request = {
        "apiVersion": KUBELET_API,
        "kind": "CredentialProviderRequest",
        "image": f"{REGISTRY}/team/app:1.0",
    }
    result = run(
        [str(scripts_dir() / "registry-auth"), "kubelet-plugin"], env, stdin=json.dumps(request)
    )
    assert result.returncode == 0, result.stderr.strip()
    response = json.loads(result.stdout)
    assert response["apiVersion"] == KUBELET_API, response["apiVersion"]
    assert response["kind"] == "CredentialProviderResponse", response["kind"]
    assert response["auth"] == {REGISTRY: {"username": USERNAME, "password": PASSWORD}}, (
        "the plugin answered other credentials"
    )


@check("no compiled file in the package")
def check_not_compiled() -> None:
    files = package_files()
    assert files, "the distribution lists no installed files"
    compiled = [name for name in files if name.endswith(COMPILED_SUFFIXES)]
    assert not compiled, compiled


@check("no test-lab program named in the package")
def check_no_lab() -> None:
    mentions = [
        name
        for name, path in package_files().items()
        if path.suffix != ".pyc" and any(word in path.read_bytes() for word in LAB_WORDS)
    ]
    assert not mentions, f"these files mention {b', '.join(LAB_WORDS).decode()}: {mentions}"


def tool_environment(home: Path) -> dict[str, str]:
    """A clean environment: a temporary home, a configuration file, no inherited settings."""
    config = home / "config.toml"
    config.write_text(
        f'[registries."{REGISTRY}"]\n'
        'provider = "static"\n'
        f'username = "{USERNAME}"\n'
        'password = { env = "SMOKE_REGISTRY_PASSWORD" }\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    return {
        "PATH": os.pathsep.join([str(scripts_dir()), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "REGISTRY_AUTH_CONFIG": str(config),
        "REGISTRY_AUTH_CACHE_DIR": str(home / "cache"),
        "SMOKE_REGISTRY_PASSWORD": PASSWORD,
        "LANG": "C.UTF-8",
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: smoke_installed.py EXPECTED_VERSION", file=sys.stderr)
        return 2
    expected_version = argv[0]
    print(f"smoke test of {DISTRIBUTION} on Python {sys.version.split()[0]} ({sys.prefix})")
    with tempfile.TemporaryDirectory(prefix="registry-auth-smoke-") as tmp:
        env = tool_environment(Path(tmp))
        check_import(expected_version)
        check_scripts()
        check_cli_version(expected_version, env)
        check_helper_version(expected_version, env)
        check_helper_get(env)
        check_kubelet_plugin(env)
        check_not_compiled()
        check_no_lab()
    if _failures:
        print(f"{len(_failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
