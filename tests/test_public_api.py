import subprocess
import sys

import registry_auth


def test_all_is_sorted_and_unique():
    assert registry_auth.__all__ == sorted(set(registry_auth.__all__))


def test_all_is_complete():
    public = {
        name
        for name, value in vars(registry_auth).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "registry_auth").startswith("registry_auth")
        and not isinstance(value, type(registry_auth))
    }
    assert public <= set(registry_auth.__all__), public - set(registry_auth.__all__)
    for name in registry_auth.__all__:
        assert hasattr(registry_auth, name), name


def test_import_is_light():
    code = (
        "import sys, registry_auth, registry_auth.providers.static, "
        "registry_auth.providers.dockerhub\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'docker', 'boto3', 'botocore', 'requests', 'urllib3', 'keyring'})\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert out == ""


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("registry_auth").joinpath("py.typed").is_file()
