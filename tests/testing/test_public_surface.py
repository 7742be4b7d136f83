import subprocess
import sys

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
