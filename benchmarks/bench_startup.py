"""Start-up: ``import registry_auth``, and the credential helper answering from a warm cache.

Every process is started through the virtualenv's own interpreter (``sys.executable`` of the
environment running the benchmarks, checked to be a real binary, not a pyenv shim).

The credential-helper benchmark runs Docker's ``get`` against Amazon's Go helper
(``docker-credential-ecr-login``, Debian's amazon-ecr-credential-helper) and ours, both with a
warm on-disk cache holding the same token. The Go helper only talks to real ECR hosts and has no
endpoint override, so its cache file is written here in its own format (a JSON file
``cache.json`` under ``AWS_ECR_CACHE_DIR``: ``{"Registries": {KEY: entry}, "Version": "1.0"}``,
an entry holding ``AuthorizationToken``, ``RequestedAt``, ``ExpiresAt`` and ``ProxyEndpoint``,
KEY being ``<region>-<hash of the access key>-<registry id>``); ours is warmed as a first run
would warm it, fetching the token from a moto server.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    EMPTY_PROGRAM,
    Command,
    Row,
    check_real_interpreter,
    median,
    time_commands,
)

__all__ = [
    "ECR_HOST",
    "go_helper_cache",
    "go_helper_cache_keys",
    "heavy_modules_after",
    "run_helper",
    "run_import",
]

SUITE = "startup"
ACCESS_KEY = "AKIABENCHMARKEXAMPLE"
SECRET_KEY = "benchmark-secret-key"  # noqa: S105 - a fake AWS key for moto
ECR_ACCOUNT = "123456789012"
ECR_REGION = "us-east-1"
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"
_HEAVY = ("docker", "boto3", "botocore", "requests", "urllib3")
# What the helper's get cannot do without: the interpreter, attrs, re and a TOML reader.
FLOOR = "import attrs, re, tomllib" if sys.version_info >= (3, 11) else "import attrs, re, tomli"


def _base_env(home: Path) -> dict[str, str]:
    """A small, fixed environment, the same for every contender."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    if os.environ.get("PYTHONPATH"):  # comparing against another source tree
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def heavy_modules_after(code: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The heavy top-level modules (docker, boto3, ...) a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(_HEAVY)!r})))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=None if env is None else dict(env),
        timeout=120,
    ).stdout.strip()
    return [name for name in out.split(",") if name]


def run_import(*, runs: int = 40, use_hyperfine: bool = False) -> list[Row]:
    """``import registry_auth`` against a bare interpreter start."""
    real = check_real_interpreter()
    python = sys.executable
    commands = {
        "bare": Command((python, "-c", "pass")),
        "import": Command((python, "-c", "import registry_auth")),
        "value objects": Command(
            (python, "-c", "from registry_auth import ImageReference, CredentialResolver")
        ),
        "orchestrator": Command((python, "-c", "from registry_auth import ContainerOrchestrator")),
    }
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        env = _base_env(Path(scratch))
        heavy = heavy_modules_after("import registry_auth", env)
        heavy_full = heavy_modules_after(
            "from registry_auth import ContainerOrchestrator, EcrProvider, DockerConfigProvider",
            env,
        )
        times, method = time_commands(commands, runs=runs, env=env, use_hyperfine=use_hyperfine)
    ms = {name: median(values) * 1000 for name, values in times.items()}
    details = {"method": method, "runs": runs, "interpreter": python, "real_interpreter": real}
    return [
        Row(
            suite=SUITE,
            name="import registry_auth",
            ours=ms["import"],
            peer=ms["bare"],
            unit="ms",
            peer_name="python -c pass",
            target="<= 1.3x; no docker, no boto3",
            met=ms["import"] <= 1.3 * ms["bare"] and not heavy,
            note=f"heavy modules imported: {', '.join(heavy) or 'none'}",
            details=details,
        ),
        Row(
            suite=SUITE,
            name="from registry_auth import ImageReference, CredentialResolver",
            ours=ms["value objects"],
            peer=ms["bare"],
            unit="ms",
            peer_name="python -c pass",
            note="what using the value objects costs: attrs and re",
            details=details,
        ),
        Row(
            suite=SUITE,
            name="from registry_auth import ContainerOrchestrator",
            ours=ms["orchestrator"],
            peer=ms["bare"],
            unit="ms",
            peer_name="python -c pass",
            note=(
                "with EcrProvider and DockerConfigProvider too, heavy modules imported: "
                f"{', '.join(heavy_full) or 'none'}"
            ),
            details=details,
        ),
    ]


# --- the credential helper ----------------------------------------------------------------------


def go_helper_cache_keys(registry_id: str, region: str, access_key: str) -> list[str]:
    """The keys amazon-ecr-credential-helper files a registry's token under, old and new.

    0.6 (Debian 12) prefixes ``<region>-<base64(access key + MD5 of nothing)>-``, the result of
    its ``checksum`` (it appends the MD5 of an empty input to the text); later versions use
    base64(SHA-256) of the account id the credentials report (none, for plain access keys).
    """
    legacy = base64.b64encode(access_key.encode() + hashlib.md5(b"").digest()).decode()  # noqa: S324 - its key format
    current = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    return [f"{region}-{legacy}-{registry_id}", f"{region}-{current}-{registry_id}"]


def go_helper_cache(
    *, token: str, registry_id: str, region: str, access_key: str, now: dt.datetime
) -> dict[str, Any]:
    """The Go helper's ``cache.json`` holding ``token`` (base64 ``AWS:password``), fresh."""
    entry = {
        "AuthorizationToken": token,
        "RequestedAt": now.isoformat(),
        "ExpiresAt": (now + dt.timedelta(hours=12)).isoformat(),
        "ProxyEndpoint": f"https://{registry_id}.dkr.ecr.{region}.amazonaws.com",
    }
    keys = go_helper_cache_keys(registry_id, region, access_key)
    return {"Registries": dict.fromkeys(keys, entry), "Version": "1.0"}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """This process's environment as the helpers' (for what decides the cache key), then back.

    The token cache files tokens under a digest of the AWS identity, read from ``AWS_*``
    variables: an ``AWS_PROFILE`` of the caller's would file the token where the helper, run in
    ``values`` alone, does not look.
    """
    saved = dict(os.environ)
    for name in saved:
        if name.startswith(("AWS_", "REGISTRY_AUTH_", "DOCKER_")):
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _twelve_hours(parsed: dict[str, Any], **_: object) -> None:
    # moto dates every token 2015-01-01; a real one lives 12 hours.
    for entry in parsed.get("authorizationData", []):
        entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)


def _warm_our_cache(config: Path, env: Mapping[str, str]) -> str:
    """Fetch a token through our configuration, as a first run does; the password."""
    import botocore.handlers  # noqa: PLC0415 - only this benchmark needs AWS

    from registry_auth._config import load_resolver  # noqa: PLC0415

    handlers = botocore.handlers.BUILTIN_HANDLERS
    hook = ("after-call.ecr.GetAuthorizationToken", _twelve_hours)
    handlers.append(hook)
    try:
        with _environment({k: v for k, v in env.items() if k not in {"PATH", "LANG"}}):
            credentials = load_resolver(config).resolve_registry(ECR_HOST)
    finally:
        handlers.remove(hook)
    if credentials is None:
        raise RuntimeError("the ECR provider gave no token while warming the cache")
    return credentials.password.reveal()


def _answer(argv: list[str], env: Mapping[str, str], address: str = ECR_HOST) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - the helpers under test
        argv,
        input=f"{address}\n".encode(),
        capture_output=True,
        env=dict(env),
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} get failed (exit {result.returncode})")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


STATIC_HOST = "registry.example.com"
STATIC_PASSWORD = "benchmark-static-password"  # noqa: S105 - a benchmark value
_PASSWORD_VARIABLE = "BENCH_REGISTRY_PASSWORD"  # noqa: S105 - a variable's name


def _floor_row(name: str, ours: float, floor: float, details: Mapping[str, Any]) -> Row:
    return Row(
        suite=SUITE,
        name=name,
        ours=ours,
        peer=floor,
        unit="ms",
        peer_name=f"python -c {FLOOR!r}",
        target="<= 1.25x",
        met=ours <= 1.25 * floor,
        note=(
            "the floor: the interpreter importing what any answer needs "
            f"(each time less the {details['empty_program_ms']:.2f} ms of `true`)"
        ),
        details=details,
    )


def run_helper(*, runs: int = 30) -> list[Row]:
    """``get``, cold but for the token cache: two scenarios against their floor and the Go helper.

    The static scenario reads a password from the environment (``{ env = ... }``); the ECR one
    answers from a warm token cache, without boto3. Each run is a new process with nothing in
    memory, as Docker starts it.
    """
    from tests.lab.stack import MotoServer  # noqa: PLC0415 - only this benchmark needs it

    check_real_interpreter()
    go_helper = shutil.which("docker-credential-ecr-login")
    if go_helper is None:
        raise RuntimeError(
            "docker-credential-ecr-login is not installed (Debian package "
            "amazon-ecr-credential-helper)"
        )
    bin_dir = Path(sys.executable).parent
    ours = str(bin_dir / "docker-credential-registry-auth")
    with tempfile.TemporaryDirectory(prefix="bench-helper-") as scratch:
        base = Path(scratch)
        ecr_config = base / "ecr.toml"
        static_config = base / "static.toml"
        static_config.write_text(
            f'[registries."{STATIC_HOST}"]\nprovider = "static"\nusername = "alice"\n'
            f'password = {{ env = "{_PASSWORD_VARIABLE}" }}\n'
        )
        moto = MotoServer(directory=base / "moto")
        moto.launch()
        try:
            moto.wait_ready(60)
            ecr_config.write_text(
                '[registries."*.dkr.ecr.*.amazonaws.com"]\n'
                f'provider = "ecr"\nendpoint_url = "{moto.endpoint_url}"\n'
            )
            env = {
                **_base_env(base / "home"),
                "REGISTRY_AUTH_CACHE_DIR": str(base / "registry-auth-cache"),
                "AWS_ECR_CACHE_DIR": str(base / "ecr-login-cache"),
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            (base / "home").mkdir()
            password = _warm_our_cache(ecr_config, {**env, "REGISTRY_AUTH_CONFIG": str(ecr_config)})
        finally:
            moto.stop()  # from here on, only the caches answer
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        cache_dir = base / "ecr-login-cache"
        cache_dir.mkdir(mode=0o700)
        (cache_dir / "cache.json").write_text(
            json.dumps(
                go_helper_cache(
                    token=token,
                    registry_id=ECR_ACCOUNT,
                    region=ECR_REGION,
                    access_key=ACCESS_KEY,
                    now=dt.datetime.now(dt.timezone.utc),
                )
            )
        )
        ecr_env = {"REGISTRY_AUTH_CONFIG": str(ecr_config)}
        static_env = {
            "REGISTRY_AUTH_CONFIG": str(static_config),
            _PASSWORD_VARIABLE: STATIC_PASSWORD,
        }
        checks = [
            ([go_helper, "get"], env, ECR_HOST, ("AWS", password)),
            ([ours, "get"], {**env, **ecr_env}, ECR_HOST, ("AWS", password)),
            ([ours, "get"], {**env, **static_env}, STATIC_HOST, ("alice", STATIC_PASSWORD)),
        ]
        for argv, check_env, address, expected in checks:
            answer = _answer(argv, check_env, address)
            if (answer.get("Username"), answer.get("Secret")) != expected:
                raise RuntimeError(f"{argv[0]} did not answer {address} as configured")
        commands = {
            "go": Command((go_helper, "get"), stdin=f"{ECR_HOST}\n".encode()),
            "ecr": Command((ours, "get"), stdin=f"{ECR_HOST}\n".encode(), env=ecr_env),
            "static": Command((ours, "get"), stdin=f"{STATIC_HOST}\n".encode(), env=static_env),
            "floor": Command((sys.executable, "-c", FLOOR)),
            "bare": Command((sys.executable, "-c", "pass")),
        }
        times, method = time_commands(commands, runs=runs, env=env)
    ms = {name: median(values) * 1000 for name, values in times.items()}
    start = ms[EMPTY_PROGRAM]
    whole = {name: ms[name] + start for name in commands}
    details = {
        "method": method,
        "runs": runs,
        "floor_ms": ms["floor"],
        "bare_python_ms": ms["bare"],
        "empty_program_ms": start,
        "less_empty_program_ms": {name: ms[name] for name in commands},
        "whole_process_ms": whole,
        "samples_s": {name: times[name] for name in (*commands, EMPTY_PROGRAM)},
    }
    return [
        _floor_row(
            "credential helper get, static provider, password { env = ... }, against its floor",
            ms["static"],
            ms["floor"],
            details,
        ),
        _floor_row(
            "credential helper get, ECR from a warm token cache (no boto3), against its floor",
            ms["ecr"],
            ms["floor"],
            details,
        ),
        Row(
            suite=SUITE,
            name="python -c pass, against the same floor",
            ours=ms["bare"],
            peer=ms["floor"],
            unit="ms",
            peer_name=f"python -c {FLOOR!r}",
            note="what the interpreter alone costs; the floor adds attrs, re and tomllib",
            details=details,
        ),
        Row(
            suite=SUITE,
            name="credential helper get, warm ECR token cache, against the Go helper (whole runs)",
            ours=whole["ecr"],
            peer=whole["go"],
            unit="ms",
            peer_name="docker-credential-ecr-login 0.6 (Go)",
            note=(
                f"a Python process cannot start as fast as a Go binary: `python -c pass` alone "
                f"takes {whole['bare']:.1f} ms here, the Go helper's whole answer "
                f"{whole['go']:.1f} ms (less the {start:.2f} ms of `true`: ours "
                f"{ms['ecr']:.1f} ms, Go {ms['go']:.1f} ms)"
            ),
            details=details,
        ),
    ]
