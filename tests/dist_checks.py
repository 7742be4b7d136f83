"""Checks of the built distributions, run by ``nox -s release``.

Usage: ``python tests/dist_checks.py VERSION WHEEL SDIST WHEEL_FROM_SDIST``

The wheel must be pure Python, carry the license and the metadata an index page shows (project
links, a README whose links work there); the sdist must hold what its own tests and sessions
read; and the wheel built from the sdist must equal the wheel built from the tree, member by
member, byte for byte. Every problem is printed; the exit status is 1 if there was any.
"""

from __future__ import annotations

import email.parser
import re
import sys
import tarfile
import zipfile
from pathlib import Path

PROJECT = "https://github.com/registry-auth/registry-auth"
PROJECT_URLS = {
    "Homepage": PROJECT,
    "Documentation": f"{PROJECT}/tree/main/docs",
    "Changelog": f"{PROJECT}/blob/main/CHANGELOG.md",
    "Source": PROJECT,
    "Issues": f"{PROJECT}/issues",
}
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".o", ".pyx")
# What the sdist's tests, docs build and nox sessions read from the source tree.
SDIST_CONTENTS = (
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "pyproject.toml",
    "noxfile.py",
    "mkdocs.yml",
    "src/registry_auth/__init__.py",
    "src/registry_auth/_version.py",
    "src/registry_auth/py.typed",
    "tests/conftest.py",
    "tests/smoke_installed.py",
    "tests/dist_checks.py",
    "tests/e2e/conftest.py",
    "tests/plugins/",
    "benchmarks/__init__.py",
    "docs/index.md",
    "examples/",
    "scripts/test",
    "scripts/bootstrap",
)
# A Markdown link or image whose target has no scheme (and is not an anchor on the page).
RELATIVE_LINK = re.compile(r"\]\((?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^)\s]*)\)")


def wheel_members(path: Path) -> dict[str, bytes]:
    """Every member of a wheel, by name, with its bytes."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def compare_wheels(first: Path, second: Path) -> list[str]:
    """How two wheels differ: members only in one of them, and members whose bytes differ."""
    a, b = wheel_members(first), wheel_members(second)
    problems = [f"only in {first.name} ({first.parent.name}): {n}" for n in sorted(a.keys() - b)]
    problems += [f"only in {second.name} ({second.parent.name}): {n}" for n in sorted(b.keys() - a)]
    problems += [f"{n} differs" for n in sorted(a.keys() & b.keys()) if a[n] != b[n]]
    return problems


def _metadata(members: dict[str, bytes]) -> email.message.Message:
    names = [n for n in members if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
    if len(names) != 1:
        raise ValueError(f"expected one .dist-info/METADATA, found {names}")
    return email.parser.BytesParser().parsebytes(members[names[0]])


def metadata_problems(metadata: email.message.Message, version: str) -> list[str]:
    """What is wrong with the core metadata an index shows."""
    problems = []
    if metadata["Version"] != version:
        problems.append(f"Version is {metadata['Version']!r}, not {version!r}")
    if metadata["License-Expression"] != "Apache-2.0":
        problems.append(f"License-Expression is {metadata['License-Expression']!r}")
    if "LICENSE" not in (metadata.get_all("License-File") or []):
        problems.append("no License-File: LICENSE")
    urls = {}
    for entry in metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls[label.strip()] = url.strip()
    if urls != PROJECT_URLS:
        problems.append(f"Project-URL entries are {urls}, expected {PROJECT_URLS}")
    if metadata["Description-Content-Type"] != "text/markdown":
        problems.append(f"Description-Content-Type is {metadata['Description-Content-Type']!r}")
    description = metadata.get_payload()
    if not isinstance(description, str) or not description.startswith("# registry-auth\n"):
        problems.append("the long description is not the README")
    else:
        relative = RELATIVE_LINK.findall(description)
        if relative:
            problems.append(f"relative links in the long description: {relative}")
    return problems


def wheel_problems(path: Path, version: str) -> list[str]:
    """What is wrong with the wheel: its tags, compiled files, license, typing marker."""
    problems = []
    if path.name != f"registry_auth-{version}-py3-none-any.whl":
        problems.append(f"{path.name} is not registry_auth-{version}-py3-none-any.whl")
    members = wheel_members(path)
    compiled = sorted(n for n in members if n.endswith(COMPILED_SUFFIXES))
    if compiled:
        problems.append(f"compiled or C files in the wheel: {compiled}")
    dist_info = f"registry_auth-{version}.dist-info"
    license_text = members.get(f"{dist_info}/licenses/LICENSE", b"")
    if b"Apache License" not in license_text or b"Version 2.0, January 2004" not in license_text:
        problems.append(f"{dist_info}/licenses/LICENSE is not the Apache License 2.0")
    if "registry_auth/py.typed" not in members:
        problems.append("registry_auth/py.typed is missing")
    if (
        f"{dist_info}/WHEEL" in members
        and b"Root-Is-Purelib: true" not in members[f"{dist_info}/WHEEL"]
    ):
        problems.append("the WHEEL file does not say Root-Is-Purelib: true")
    try:
        problems += metadata_problems(_metadata(members), version)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def sdist_problems(path: Path, version: str) -> list[str]:
    """What the sdist lacks of what its own tests and sessions read."""
    root = f"registry_auth-{version}"
    if path.name != f"{root}.tar.gz":
        return [f"{path.name} is not {root}.tar.gz"]
    with tarfile.open(path) as archive:
        names = archive.getnames()
    problems = []
    for wanted in SDIST_CONTENTS:
        target = f"{root}/{wanted}"
        found = (
            any(n.startswith(target) for n in names) if wanted.endswith("/") else (target in names)
        )
        if not found:
            problems.append(f"the sdist has no {wanted}")
    caches = sorted(n for n in names if "/__pycache__/" in n or "/.nox/" in n)
    if caches:
        problems.append(f"the sdist holds caches: {caches[:5]}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: dist_checks.py VERSION WHEEL SDIST WHEEL_FROM_SDIST", file=sys.stderr)
        return 2
    version = argv[0]
    wheel, sdist, rebuilt = (Path(a) for a in argv[1:])
    checks = {
        "wheel": wheel_problems(wheel, version),
        "sdist": sdist_problems(sdist, version),
        "wheel rebuilt from the sdist equals the wheel": compare_wheels(wheel, rebuilt),
    }
    for name, problems in checks.items():
        print(("ok   " if not problems else "FAIL ") + name)
        for problem in problems:
            print(f"     {problem}")
    return 1 if any(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
