"""Development sessions: ``nox -s tests e2e lint typecheck`` (``nox -l`` lists them)."""

from __future__ import annotations

import os
import shutil

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
E2E_BINARIES = {
    "dockerd": "docker.io",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "skopeo": "skopeo",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "ip": "iproute2",
    "openssl": "openssl",
}


def install(session: nox.Session, *groups: str, extras: str = "all") -> None:
    requirements: list[str] = []
    for group in groups:
        requirements.extend(nox.project.dependency_groups(PYPROJECT, group))
    session.install("-e", f".[{extras}]", *requirements)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests (no engine, no root)."""
    install(session, "test")
    session.run("pytest", "-m", "not e2e", *session.posargs)


@nox.session
def e2e(session: nox.Session) -> None:
    """End-to-end tests against a real dockerd, docker-registry and moto server (root)."""
    missing = {name: pkg for name, pkg in E2E_BINARIES.items() if shutil.which(name) is None}
    if missing:
        session.error(
            "end-to-end tests need these programs: "
            + ", ".join(f"{name} (Debian package {pkg})" for name, pkg in missing.items())
            + "; run scripts/bootstrap as root"
        )
    if os.geteuid() != 0:
        session.error("end-to-end tests start dockerd and network namespaces: run them as root")
    install(session, "test")
    # The stack is required here: a missing component fails the run instead of skipping tests.
    session.run(
        "pytest",
        "-m",
        "e2e",
        "--registry-auth-require-stack",
        "tests/e2e",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy, strict."""
    install(session, "typecheck", "test")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; any warning fails the build."""
    install(session, "docs")
    site = os.path.join(session.create_tmp(), "site")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--site-dir",
        site,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def plugin_example(session: nox.Session) -> None:
    """The example plugin (examples/ghcr-plugin), installed as a user would, and its tests."""
    session.install("-e", ".[testing]")
    session.install("./examples/ghcr-plugin[test]")
    session.chdir("examples/ghcr-plugin")
    session.run("pytest", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against docker-py and the Go ECR helper; see docs/performance.md (root)."""
    install(session, "test")
    args = list(session.posargs)
    if os.geteuid() != 0 and "--only" not in args:
        session.warn("not root: skipping the pull benchmarks, which start dockerd")
        args += ["--skip", "pull"]
    session.run("python", "-m", "benchmarks.run", *args)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job end to end: authenticated pulls against a local stack (root)."""
    if os.geteuid() != 0:
        session.error("the demo starts dockerd and a network namespace: run it as root")
    install(session, "test")
    session.run("python", "examples/demo.py")


@nox.session
def package(session: nox.Session) -> None:
    """Build the wheel, install it into a clean venv, and check what `import` pulls in."""
    session.install("build")
    dist = os.path.join(session.create_tmp(), "dist")
    shutil.rmtree(dist, ignore_errors=True)  # a wheel of an earlier run is not this one
    session.run("python", "-m", "build", "--wheel", "--outdir", dist, silent=True)
    wheels = [name for name in os.listdir(dist) if name.endswith(".whl")]
    if len(wheels) != 1:
        session.error(f"expected one wheel in {dist}, found {wheels}")
    wheel = os.path.join(dist, wheels[0])
    if not wheels[0].endswith("-py3-none-any.whl"):
        session.error(f"{wheels[0]} is not a pure-Python (py3-none-any) wheel")
    session.run("python", "-m", "zipfile", "-l", wheel, silent=True)
    check = (
        "import sys, zipfile, registry_auth\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(roots & {'docker', 'boto3', 'botocore', 'requests'})\n"
        "assert not heavy, heavy\n"
        f"names = zipfile.ZipFile({wheel!r}).namelist()\n"
        "assert 'registry_auth/py.typed' in names, 'py.typed missing from the wheel'\n"
        "assert not [n for n in names if n.endswith('.c')], 'C sources in the wheel'\n"
        "assert not [n for n in names if n.endswith(('.so', '.pyd'))], 'compiled files'\n"
        "import os, stat, subprocess, sysconfig\n"
        "scripts = sysconfig.get_path('scripts')\n"
        "helper = os.path.join(scripts, 'docker-credential-registry-auth')\n"
        "assert os.stat(helper).st_mode & stat.S_IXUSR, 'the helper is not executable'\n"
        "out = subprocess.run([helper, 'version'], capture_output=True, text=True, check=True)\n"
        "assert out.stdout.startswith('docker-credential-registry-auth (registry-auth) '), out\n"
        "print('clean install OK:', registry_auth.__name__, len(registry_auth.__all__), 'names')\n"
    )
    venv = os.path.join(session.create_tmp(), "clean")
    session.run("python", "-m", "venv", "--clear", venv)
    session.run(
        os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", wheel, external=True
    )
    session.run(os.path.join(venv, "bin", "python"), "-c", check, external=True)
