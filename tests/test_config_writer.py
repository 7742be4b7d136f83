"""The TOML writer and the editor of one registry entry in the configuration file."""

import datetime as dt
import os
import stat
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import ConfigurationError
from registry_auth._compat import tomllib
from registry_auth._config import load_config
from registry_auth._config_writer import (
    check_editable,
    dumps,
    remove_registry_entry,
    set_registry_entry,
)

ENTRY = {
    "provider": "static",
    "username": "alice",
    "password": {"keyring": "registry-auth:registry.example.com"},
}

HAND_WRITTEN = """\
# Written by hand: these comments must survive.
version = 1

[registries."docker.io"]
provider = "dockerhub"   # the hub account
username = "hubuser"
password = { env = "DOCKERHUB_TOKEN" }

# ECR: tokens fetched automatically
[registries."*.dkr.ecr.*.amazonaws.com"]
provider = "ecr"

[[providers]]
provider = "keyring"
"""


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- dumps -----------------------------------------------------------------------------------


def test_dumps_writes_the_configuration_layout():
    document = {
        "version": 1,
        "registries": {
            "docker.io": {"provider": "dockerhub", "username": "u", "password": {"env": "T"}},
            "[::1]:5000/team": {"provider": "static", "registries": ["a", "b"]},
        },
        "providers": [{"provider": "ecr"}, {"provider": "keyring", "registries": ["x.io"]}],
    }
    assert dumps(document) == (
        "version = 1\n"
        "\n"
        '[registries."docker.io"]\n'
        'provider = "dockerhub"\n'
        'username = "u"\n'
        'password = { env = "T" }\n'
        "\n"
        '[registries."[::1]:5000/team"]\n'
        'provider = "static"\n'
        'registries = ["a", "b"]\n'
        "\n"
        "[[providers]]\n"
        'provider = "ecr"\n'
        "\n"
        "[[providers]]\n"
        'provider = "keyring"\n'
        'registries = ["x.io"]\n'
    )
    assert tomllib.loads(dumps(document)) == document


def test_dumps_escapes_what_basic_strings_cannot_hold():
    text = 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f bell \x07 é ✓'
    document = {"weird key = ]": {"value": text}, "": 1}
    written = dumps(document)
    assert written == (
        '"" = 1\n'
        "\n"
        '["weird key = ]"]\n'
        'value = "quote \\" backslash \\\\ tab \\t newline \\n nul \\u0000 del \\u007f '
        'bell \\u0007 é ✓"\n'
    )
    assert tomllib.loads(written) == document


def test_dumps_writes_empty_tables_and_deep_tables():
    document = {"registries": {}, "a": {"b": {"c": {"d": [1, {"e": []}]}}, "f": {}}}
    written = dumps(document)
    assert "[registries]" in written
    assert "c = { d = [1, { e = [] }] }" in written
    assert tomllib.loads(written) == document


def test_dumps_writes_scalars():
    document = {
        "t": True,
        "f": False,
        "i": -42,
        "x": 1.5,
        "big": 1e300,
        "inf": float("inf"),
        "ninf": float("-inf"),
        "d": dt.date(2024, 2, 29),
        "ts": dt.datetime(2024, 2, 29, 12, 30, 1, 500, tzinfo=dt.timezone.utc),
        "local": dt.datetime(2024, 2, 29, 12, 30),
        "time": dt.time(7, 8, 9),
    }
    assert tomllib.loads(dumps(document)) == document
    assert tomllib.loads(dumps({"n": float("nan")}))["n"] != tomllib.loads(dumps({"n": 0.0}))["n"]


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"a": None}, TypeError),
        ({"a": b"bytes"}, TypeError),
        ({1: "x"}, TypeError),
        ({"a": "\ud800"}, ValueError),
        ({"a": dt.time(1, 2, tzinfo=dt.timezone.utc)}, ValueError),
    ],
)
def test_dumps_refuses_what_toml_cannot_say(document, error):
    with pytest.raises(error):
        dumps(document)


keys = st.text(max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)
documents = st.dictionaries(
    keys,
    values
    | st.lists(st.dictionaries(keys, values, max_size=3), min_size=1, max_size=3)
    | st.dictionaries(keys, st.dictionaries(keys, values, max_size=3), max_size=3),
    max_size=5,
)


@given(documents)
def test_dumps_round_trips_through_tomllib(document):
    assert tomllib.loads(dumps(document)) == document


# --- set_registry_entry ----------------------------------------------------------------------


def test_creates_the_file_private_from_the_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_TEST_PASSWORD", "x")
    path = tmp_path / "dir" / "config.toml"
    seed = {
        "version": 1,
        "providers": [
            {
                "provider": "static",
                "registry": "other.example",
                "username": "u",
                "password": {"env": "WRITER_TEST_PASSWORD"},
            }
        ],
    }
    entry = {"provider": "static", "username": "alice", "password": {"env": "WRITER_TEST_PASSWORD"}}
    edit = set_registry_entry(path, "registry.example.com", entry, seed=seed)
    assert edit.changed
    assert edit.created
    assert not edit.previous
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    data = tomllib.loads(path.read_text())
    assert data == {**seed, "registries": {"registry.example.com": entry}}
    # The entries come before the providers, as a person would write them.
    text = path.read_text()
    assert text.index("[registries.") < text.index("[[providers]]")
    config = load_config(path)
    assert [e.pattern.text if e.pattern else None for e in config.entries] == [
        "registry.example.com",
        None,
    ]


def test_the_seed_is_only_for_a_new_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[registries."a.example"]\nprovider = "ecr"\n')
    set_registry_entry(path, "b.example", ENTRY, seed={"providers": [{"provider": "keyring"}]})
    assert "providers" not in tomllib.loads(path.read_text())


def test_adds_an_entry_and_keeps_the_rest_verbatim(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    edit = set_registry_entry(path, "registry.example.com", ENTRY)
    assert edit.changed
    assert edit.layout_kept
    assert not edit.created
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.rstrip("\n"))
    assert text.endswith(
        '\n\n[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { keyring = "registry-auth:registry.example.com" }\n'
    )
    assert tomllib.loads(text)["registries"]["registry.example.com"] == ENTRY


def test_replaces_an_entry_in_place(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    new = {"provider": "static", "username": "other", "password": {"env": "X"}}
    edit = set_registry_entry(path, "docker.io", new)
    assert edit.previous
    assert edit.layout_kept
    text = path.read_text()
    assert text == HAND_WRITTEN.replace(
        'provider = "dockerhub"   # the hub account\nusername = "hubuser"\n'
        'password = { env = "DOCKERHUB_TOKEN" }\n',
        'provider = "static"\nusername = "other"\npassword = { env = "X" }\n',
    )
    # The comment above the next entry stays with it.
    assert "# ECR: tokens fetched automatically\n[registries." in text


def test_writing_the_same_entry_again_changes_nothing(tmp_path):
    path = tmp_path / "config.toml"
    set_registry_entry(path, "registry.example.com", ENTRY)
    before = os.stat(path).st_ino
    edit = set_registry_entry(path, "registry.example.com", ENTRY)
    assert not edit.changed
    assert os.stat(path).st_ino == before


def test_replaces_an_entry_with_sub_tables(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."r.example"]\nprovider = "static"\nusername = "a"\n\n'
        '[registries."r.example".password]\nenv = "OLD"\n\n'
        '[registries."s.example"]\nprovider = "ecr"\n'
    )
    edit = set_registry_entry(path, "r.example", ENTRY)
    assert edit.layout_kept
    data = tomllib.loads(path.read_text())
    assert data["registries"] == {"r.example": ENTRY, "s.example": {"provider": "ecr"}}
    assert "OLD" not in path.read_text()


def test_an_ipv6_registry_is_found_by_its_header(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# keep me\n[registries."[::1]:5000"]\nprovider = "ecr"\n')
    edit = set_registry_entry(path, "[::1]:5000", ENTRY)
    assert edit.previous
    assert edit.layout_kept
    assert path.read_text().startswith("# keep me\n")
    assert tomllib.loads(path.read_text())["registries"] == {"[::1]:5000": ENTRY}


def test_an_inline_registries_table_is_rewritten_from_its_data(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# lost\nregistries = { "a.example" = { provider = "ecr" } }\n')
    edit = set_registry_entry(path, "b.example", ENTRY)
    assert edit.changed
    assert not edit.layout_kept
    data = tomllib.loads(path.read_text())
    assert data["registries"] == {"a.example": {"provider": "ecr"}, "b.example": ENTRY}


def test_a_header_inside_a_multiline_string_does_not_fool_the_edit(tmp_path):
    path = tmp_path / "config.toml"
    original = (
        '[registries."a.example"]\nprovider = "static"\nusername = "u"\n'
        'password = """\n[registries."b.example"]\nprovider = "x"\n"""\n\n'
        '[registries."b.example"]\nprovider = "ecr"\n'
    )
    path.write_text(original)
    set_registry_entry(path, "b.example", ENTRY)
    data = tomllib.loads(path.read_text())
    assert data["registries"]["b.example"] == ENTRY
    assert data["registries"]["a.example"] == tomllib.loads(original)["registries"]["a.example"]


def test_invalid_toml_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[registries\n")
    with pytest.raises(ConfigurationError, match="not valid TOML") as info:
        set_registry_entry(path, "r.example", ENTRY)
    assert str(path) in info.value.message
    assert path.read_text() == "[registries\n"


def test_registries_of_the_wrong_type_are_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('registries = "no"\n')
    with pytest.raises(ConfigurationError, match="registries must be a table"):
        set_registry_entry(path, "r.example", ENTRY)


def test_an_unwritable_directory_is_a_configuration_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("")
        path = blocker / "dir" / "config.toml"  # inside a "directory" that is a file
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        path = locked / "config.toml"
    with pytest.raises(ConfigurationError, match=r"cannot write|cannot create"):
        set_registry_entry(path, "r.example", ENTRY)


def test_the_mode_becomes_0600_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    path.chmod(0o644)
    set_registry_entry(path, "r.example", ENTRY)
    assert mode_of(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_symbolic_link_is_followed(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text(HAND_WRITTEN)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    edit = set_registry_entry(link, "r.example", ENTRY)
    assert edit.path == real
    assert link.is_symlink()
    assert "r.example" in tomllib.loads(real.read_text())["registries"]


def test_concurrent_writers_lose_no_entry(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    names = [f"r{n}.example" for n in range(12)]
    errors = []

    def write(name):
        try:
            set_registry_entry(path, name, ENTRY)
        except Exception as exc:  # noqa: BLE001 - collected, and asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    registries = tomllib.loads(path.read_text())["registries"]
    assert set(names) <= set(registries)
    assert "docker.io" in registries


# --- remove_registry_entry -------------------------------------------------------------------


def test_removes_an_entry_and_keeps_the_rest(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    edit = remove_registry_entry(path, "docker.io")
    assert edit.changed
    assert edit.previous
    text = path.read_text()
    assert text == (
        "# Written by hand: these comments must survive.\nversion = 1\n\n"
        "# ECR: tokens fetched automatically\n"
        '[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\n\n'
        '[[providers]]\nprovider = "keyring"\n'
    )


def test_removing_the_last_entry_leaves_no_trailing_blank_lines(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('version = 1\n\n[registries."a.example"]\nprovider = "ecr"\n')
    remove_registry_entry(path, "a.example")
    assert path.read_text() == "version = 1\n"


def test_only_if_keeps_entries_it_rejects(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    seen = []

    def only_static(entry):
        seen.append(entry)
        return entry.get("provider") == "static"

    edit = remove_registry_entry(path, "docker.io", only_if=only_static)
    assert not edit.changed
    assert edit.previous
    assert seen == [tomllib.loads(HAND_WRITTEN)["registries"]["docker.io"]]
    assert path.read_text() == HAND_WRITTEN


def test_removing_what_is_not_there_changes_nothing(tmp_path):
    path = tmp_path / "config.toml"
    edit = remove_registry_entry(path, "r.example")
    assert not edit.changed
    assert not path.exists()
    path.write_text(HAND_WRITTEN)
    edit = remove_registry_entry(path, "r.example")
    assert not edit.changed
    assert not edit.previous
    assert path.read_text() == HAND_WRITTEN


# --- check_editable --------------------------------------------------------------------------


def test_check_editable_accepts_a_new_file_in_a_new_directory(tmp_path):
    path = tmp_path / "a" / "config.toml"
    assert check_editable(path) == path
    assert not (tmp_path / "a").exists()  # it checks, it does not create


def test_check_editable_refuses_what_set_registry_entry_would(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[registries\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        check_editable(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("registries = 1\n")
    with pytest.raises(ConfigurationError, match="registries must be a table"):
        check_editable(wrong)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match=r"config\.toml: cannot (read|write)"):
        check_editable(blocker / "config.toml")
