import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import registry_auth.testing

HEAVY = ("docker", "boto3", "botocore", "cryptography", "hypothesis", "requests", "moto", "keyring")


def test_all_is_sorted_and_unique():
    assert registry_auth.testing.__all__ == sorted(set(registry_auth.testing.__all__))


def test_every_public_name_resolves_from_its_module():
    for name in registry_auth.testing.__all__:
        value = getattr(registry_auth.testing, name)
        module = registry_auth.testing._MODULES[name]
        assert value is getattr(sys.modules[module], name), name
    assert set(registry_auth.testing._MODULES) == set(registry_auth.testing.__all__)
    assert set(registry_auth.testing.__all__) <= set(dir(registry_auth.testing))


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        registry_auth.testing.__getattr__("NoSuchThing")


def test_importing_the_package_is_light_and_names_load_on_demand():
    code = (
        "import sys, registry_auth.testing as t\n"
        f"heavy = {HEAVY!r}\n"
        "def loaded(): return sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "print(','.join(loaded()))\n"
        "t.FrozenClock, t.ProviderEntryPoints\n"
        "print(','.join(loaded()))\n"
        "t.image_references\n"
        "print(','.join(loaded()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out == ["", "", "hypothesis"]


def test_the_test_lab_is_not_shipped():
    # The local stack (dockerd, registries, network namespaces) is this project's own test lab,
    # in tests/lab; nothing installed with registry-auth starts an engine or a namespace.
    package = Path(registry_auth.testing.__file__).parents[1]
    for word in ("nsenter", "unshare", "--data-root", "LocalStack", "FaultProxy"):
        users = [
            str(path.relative_to(package))
            for path in sorted(package.rglob("*.py"))
            if word in path.read_text(encoding="utf-8")
        ]
        assert users == [], word
    for name in ("stack", "faults", "_lab", "_netns", "_daemon"):
        assert importlib.util.find_spec(f"registry_auth.testing.{name}") is None, name


def test_scanning_the_package_as_pytest_does_loads_nothing():
    # pytest registers registry_auth.testing as a plugin (-p, pytest_plugins) and scans it with
    # dir() and getattr(): dir() lists what is loaded, so the lazy names stay unloaded.
    code = (
        "import sys, registry_auth.testing as t\n"
        "for name in dir(t): getattr(t, name)\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & set(heavy)\n"
        "lazy = set(t._MODULES.values()) & set(sys.modules)\n"
        "print(','.join(sorted(loaded | lazy)))\n"
        "print(t.pytest_plugins)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out == ["", "['registry_auth.testing.pytest_plugin']"]


def test_nothing_shipped_needs_cryptography():
    # The testing extra leaves cryptography out: only the lab's certificates and tokens use it.
    code = (
        "import sys, registry_auth.testing as t, registry_auth.testing.pytest_plugin\n"
        "for name in t.__all__: getattr(t, name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert out == "[]"
