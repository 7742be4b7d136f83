"""Development sessions: ``nox -s tests e2e lint typecheck`` (``nox -l`` lists them)."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True  # a Python not found fails; it is never skipped
nox.options.download_python = "never"

# The Pythons registry-auth supports (its classifiers); the unit tests and the release checks run
# on each. Sessions that need one Python (the stack, the demo, the benchmarks) use MAIN_PYTHON.
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
MAIN_PYTHON = "3.11"

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


_PROBE = "import os, sys; print('%d.%d' % sys.version_info[:2], os.path.realpath(sys.executable))"


def _python_version(executable: str) -> tuple[str, str] | None:
    """(``X.Y``, the real executable) of a Python that runs, or None (a pyenv shim may not)."""
    try:
        probe = subprocess.run(  # noqa: S603 - a candidate interpreter, asked for its version
            [executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version, _, path = probe.stdout.strip().partition(" ")
    return (version, path) if probe.returncode == 0 and path else None


def _pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def find_python(version: str) -> str | None:
    """A working ``pythonX.Y``: from PATH first, then the newest of pyenv's ``X.Y.*`` builds."""
    candidates = [found] if (found := shutil.which(f"python{version}")) else []
    pattern = os.path.join(_pyenv_root(), "versions", f"{version}.*", "bin", f"python{version}")

    def patch_level(path: str) -> tuple[int, ...]:
        release = os.path.basename(os.path.dirname(os.path.dirname(path)))
        return tuple(int(part) for part in re.findall(r"\d+", release))

    candidates += sorted(glob.glob(pattern), key=patch_level, reverse=True)
    for candidate in candidates:
        answer = _python_version(candidate)
        if answer is not None and answer[0] == version:
            return answer[1]
    return None


def _not_found(version: str) -> str:
    return (
        f"Python {version} not found: registry-auth supports {', '.join(PYTHONS)}, and"
        f" neither python{version} on PATH nor {_pyenv_root()}/versions/{version}.*"
        f"/bin/python{version} runs (install it, e.g. `pyenv install {version}`)"
    )


def require_python(session: nox.Session, version: str) -> str:
    found = find_python(version)
    if found is None:
        session.error(_not_found(version))
    return found


def _expose_pythons() -> None:
    """Let nox find every supported Python by name, even those only pyenv holds.

    Each one found is linked as ``pythonX.Y`` in a directory put first on PATH, so a pyenv shim
    that cannot run that version (pyenv answers only for its selected ones) is not picked.
    """
    links = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".nox", "pythons")
    os.makedirs(links, exist_ok=True)
    for version in PYTHONS:
        found = find_python(version)
        link = os.path.join(links, f"python{version}")
        if found is None:
            # Sessions on this version fail (error_on_missing_interpreters); this says why.
            print(f"noxfile: {_not_found(version)}", file=sys.stderr)
            with contextlib.suppress(FileNotFoundError):
                os.remove(link)
            continue
        # Replaced in one step: another nox run may be reading or writing the same link.
        staged = f"{link}.{os.getpid()}"
        os.symlink(found, staged)
        os.replace(staged, link)
    os.environ["PATH"] = os.pathsep.join([links, os.environ.get("PATH", os.defpath)])


_expose_pythons()


def install(session: nox.Session, *groups: str, extras: str = "all") -> None:
    requirements: list[str] = []
    for group in groups:
        requirements.extend(nox.project.dependency_groups(PYPROJECT, group))
    session.install("-e", f".[{extras}]", *requirements)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit tests (no engine, no root), on every supported Python."""
    install(session, "test")
    session.run("pytest", "-m", "not e2e", *session.posargs)


@nox.session(python=MAIN_PYTHON)
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
    # A missing component of the stack fails the tests that need it (tests/lab/pytest_plugin.py).
    session.run(
        "pytest",
        "-m",
        "e2e",
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


@nox.session(python=MAIN_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against docker-py and the Go ECR helper; see docs/performance.md (root)."""
    install(session, "test")
    args = list(session.posargs)
    if os.geteuid() != 0 and "--only" not in args:
        session.warn("not root: skipping the pull benchmarks, which start dockerd")
        args += ["--skip", "pull"]
    session.run("python", "-m", "benchmarks.run", *args)


@nox.session(python=MAIN_PYTHON)
def demo(session: nox.Session) -> None:
    """The main job end to end: authenticated pulls against a local stack (root)."""
    if os.geteuid() != 0:
        session.error("the demo starts dockerd and a network namespace: run it as root")
    install(session, "test")
    session.run("python", "examples/demo.py")


def _source_date_epoch() -> str:
    """The last commit's time, so that two builds of one commit date their files alike."""
    try:
        stamp = subprocess.run(
            ["git", "log", "-1", "--format=%ct"],  # noqa: S607 - git from PATH, as developers run it
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        stamp = ""
    return stamp if stamp.isdigit() else "315532800"  # outside a clone (an sdist): 1980-01-01


def _version() -> str:
    with open("src/registry_auth/_version.py", encoding="utf-8") as file:
        found = re.search(r'^__version__ = "([^"]+)"$', file.read(), re.MULTILINE)
    if found is None:
        raise RuntimeError("src/registry_auth/_version.py has no __version__ literal")
    return found.group(1)


def _one(directory: str, suffix: str) -> str:
    names = [name for name in os.listdir(directory) if name.endswith(suffix)]
    if len(names) != 1:
        raise RuntimeError(f"expected one {suffix} in {directory}, found {names}")
    return os.path.join(directory, names[0])


@nox.session(python=MAIN_PYTHON)
def release(session: nox.Session) -> None:
    """Build the sdist and wheel as published, check them, and install each on every Python.

    The wheel must be pure Python with its license and index metadata, the sdist must rebuild
    the same wheel, and each artifact must install without a compiler on 3.10 to 3.13 and pass
    tests/smoke_installed.py there.
    """
    pythons = {version: require_python(session, version) for version in PYTHONS}
    session.install("build", "twine")
    version = _version()
    out = os.path.join(session.create_tmp(), "release")
    shutil.rmtree(out, ignore_errors=True)  # artifacts of an earlier run are not this one's
    dist, unpacked, rebuilt = (os.path.join(out, name) for name in ("dist", "sdist", "rebuilt"))
    build_env = {"SOURCE_DATE_EPOCH": _source_date_epoch()}
    session.run("python", "-m", "build", "--sdist", "--wheel", "--outdir", dist, env=build_env)
    wheel, sdist = _one(dist, ".whl"), _one(dist, ".tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    source = os.path.join(unpacked, f"registry_auth-{version}")
    session.run("python", "-m", "build", "--wheel", "--outdir", rebuilt, source, env=build_env)
    session.run("twine", "check", "--strict", wheel, sdist)
    session.run("python", "tests/dist_checks.py", version, wheel, sdist, _one(rebuilt, ".whl"))

    smoke = os.path.abspath("tests/smoke_installed.py")
    no_compiler = {"CC": "/bin/false", "CXX": "/bin/false", "PIP_NO_INPUT": "1"}
    for python_version, python in pythons.items():
        for kind, artifact in (("wheel", wheel), ("sdist", sdist)):
            session.log(f"Python {python_version}: installing the {kind} without a compiler")
            venv = os.path.join(out, f"venv-{python_version}-{kind}")
            session.run(python, "-m", "venv", venv, external=True)
            venv_python = os.path.join(venv, "bin", "python")
            session.run(
                venv_python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                artifact,
                env=no_compiler,
                external=True,
            )
            session.run(venv_python, "-I", smoke, version, external=True)


@nox.session(python=False)
def package(session: nox.Session) -> None:
    """Alias of ``release``, the session that builds and checks what gets published."""
    session.notify("release")
