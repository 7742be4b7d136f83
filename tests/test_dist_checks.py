"""The release session's checks of built distributions (tests/dist_checks.py) catch what they
are there to catch."""

from __future__ import annotations

import email.message
import zipfile

import pytest

from tests import dist_checks

VERSION = "1.2.3"
DIST_INFO = f"registry_auth-{VERSION}.dist-info"
LICENSE = b"Apache License\nVersion 2.0, January 2004\n"


def metadata(description: str, **overrides: str) -> email.message.Message:
    message = email.message.Message()
    message["Metadata-Version"] = "2.4"
    message["Name"] = "registry-auth"
    message["Version"] = VERSION
    message["License-Expression"] = "Apache-2.0"
    message["License-File"] = "LICENSE"
    for label, url in dist_checks.PROJECT_URLS.items():
        message["Project-URL"] = f"{label}, {url}"
    message["Description-Content-Type"] = "text/markdown"
    for name, value in overrides.items():
        del message[name]
        message[name] = value
    message.set_payload(description)
    return message


def write_wheel(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def good_members(**changes: bytes | None) -> dict[str, bytes]:
    members: dict[str, bytes | None] = {
        "registry_auth/__init__.py": b"",
        "registry_auth/py.typed": b"",
        f"{DIST_INFO}/licenses/LICENSE": LICENSE,
        f"{DIST_INFO}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{DIST_INFO}/METADATA": metadata("# registry-auth\n").as_bytes(),
    }
    members.update(changes)
    return {name: data for name, data in members.items() if data is not None}


def test_a_good_wheel_passes(tmp_path):
    wheel = write_wheel(tmp_path / f"registry_auth-{VERSION}-py3-none-any.whl", good_members())
    assert dist_checks.wheel_problems(wheel, VERSION) == []


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        ("registry_auth-1.2.3-cp311-cp311-linux_x86_64.whl", {}, "py3-none-any"),
        (None, {"registry_auth/_speedups.so": b"\x7fELF"}, "compiled"),
        (None, {"registry_auth/_speedups.c": b"int x;"}, "compiled"),
        (None, {f"{DIST_INFO}/licenses/LICENSE": None}, "Apache License 2.0"),
        (None, {"registry_auth/py.typed": None}, "py.typed"),
    ],
)
def test_a_bad_wheel_is_named(tmp_path, name, changes, expected):
    path = tmp_path / (name or f"registry_auth-{VERSION}-py3-none-any.whl")
    wheel = write_wheel(path, good_members(**changes))
    problems = dist_checks.wheel_problems(wheel, VERSION)
    assert len(problems) == 1
    assert expected in problems[0]


def test_relative_links_in_the_long_description_are_reported():
    text = (
        "# registry-auth\n\nSee [the docs](docs/index.md), [LICENSE](LICENSE) and "
        "[nox](https://nox.thea.codes/), [below](#install), [mail](mailto:a@example.com).\n"
    )
    problems = dist_checks.metadata_problems(metadata(text), VERSION)
    assert problems == ["relative links in the long description: ['docs/index.md', 'LICENSE']"]


def test_absolute_links_pass():
    text = f"# registry-auth\n\n[docs]({dist_checks.PROJECT}/blob/main/docs/index.md)\n"
    assert dist_checks.metadata_problems(metadata(text), VERSION) == []


def test_wrong_project_urls_and_version_are_reported():
    message = metadata("# registry-auth\n", Version="9.9")
    del message["Project-URL"]
    message["Project-URL"] = "Homepage, https://example.com/"
    problems = dist_checks.metadata_problems(message, VERSION)
    assert any("Version is '9.9'" in p for p in problems)
    assert any("Project-URL entries" in p for p in problems)


def test_equal_wheels_compare_equal(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_wheel(tmp_path / "a" / "x.whl", good_members())
    second = write_wheel(tmp_path / "b" / "x.whl", good_members())
    assert dist_checks.compare_wheels(first, second) == []


def test_wheels_that_differ_are_reported_member_by_member(tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "sdist").mkdir()
    first = write_wheel(tmp_path / "tree" / "x.whl", good_members())
    second = write_wheel(
        tmp_path / "sdist" / "x.whl",
        good_members(**{"registry_auth/__init__.py": b"changed", "registry_auth/extra.py": b""}),
    )
    assert dist_checks.compare_wheels(first, second) == [
        "only in x.whl (sdist): registry_auth/extra.py",
        "registry_auth/__init__.py differs",
    ]


def test_an_sdist_missing_what_its_tests_read_is_reported(tmp_path):
    import tarfile

    root = f"registry_auth-{VERSION}"
    sdist = tmp_path / f"{root}.tar.gz"
    source = tmp_path / root
    for wanted in dist_checks.SDIST_CONTENTS:
        target = source / (wanted + "placeholder" if wanted.endswith("/") else wanted)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    (source / "mkdocs.yml").unlink()
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(source, arcname=root)
    assert dist_checks.sdist_problems(sdist, VERSION) == ["the sdist has no mkdocs.yml"]
