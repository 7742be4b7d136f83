import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import ConfigurationError, ImageReference, image_matches
from registry_auth.matching import RegistryPattern

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    [
        ("docker.io", "ubuntu", True),
        ("docker.io", "hubuser/hello:v1", True),
        ("index.docker.io", "hubuser/hello", True),
        ("https://index.docker.io/v1/", "hubuser/hello", True),
        ("registry-1.docker.io", "docker.io/hubuser/hello", True),
        ("docker.io/hubuser", "hubuser/hello", True),
        ("docker.io/hubuser", "otheruser/hello", False),
        ("docker.io", "docker.io.evil.example/hubuser/hello", False),
        ("*.dkr.ecr.*.amazonaws.com", f"{ECR}/team/app:1", True),
        ("*.dkr.ecr.*.amazonaws.com", f"{ECR}.evil.example/team/app", False),
        (
            "*.dkr.ecr.*.amazonaws.com",
            "evil.example/123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
            False,
        ),
        (ECR, f"{ECR}/team/app", True),
        (f"https://{ECR}/team/", f"{ECR}/team/app", True),
        (f"{ECR}/team", f"{ECR}/teamx/app", False),
        (f"{ECR}/team", f"{ECR}/team", True),
        (f"{ECR}/team/app", f"{ECR}/team", False),
        ("*.example.com", "a.example.com/x", True),
        ("*.example.com", "a.b.example.com/x", False),  # one label per *
        ("*.example.com", "example.com/x", False),
        ("a*.example.com", "abc.example.com/x", True),
        ("localhost:5000", "localhost:5000/app", True),
        ("localhost:5000", "localhost:5001/app", False),
        ("localhost:5000", "localhost/app", False),
        ("localhost", "localhost:5000/app", False),  # ports must be equal
        ("LOCALHOST:5000", "localhost:5000/app", True),
        ("Registry.Example.com", "registry.example.com/app", True),
        ("[::1]:5000", "[::1]:5000/app", True),
        ("[::1]:5000", "[::1]:5001/app", False),
        ("r.example.com/team/*", "r.example.com/team/app/x", True),
        ("r.example.com/team/*", "r.example.com/team", False),
    ],
)
def test_image_matches(pattern, image, expected):
    assert image_matches(pattern, image) is expected


def test_accepts_parsed_references():
    assert image_matches("docker.io", ImageReference.parse("ubuntu"))


@pytest.mark.parametrize(
    "pattern", ["", ":5000", "host:port", "[::1", "a..b", "a.b/UPPER", "a_b.com"]
)
def test_bad_patterns_raise(pattern):
    with pytest.raises(ConfigurationError):
        RegistryPattern.parse(pattern)


def test_specificity_prefers_longer_paths_then_fewer_globs():
    ordered = sorted(
        [
            RegistryPattern.parse("*.dkr.ecr.*.amazonaws.com"),
            RegistryPattern.parse(f"{ECR}/team/app"),
            RegistryPattern.parse(ECR),
            RegistryPattern.parse(f"{ECR}/team"),
        ],
        key=lambda p: p.specificity,
        reverse=True,
    )
    assert [p.text for p in ordered] == [
        f"{ECR}/team/app",
        f"{ECR}/team",
        ECR,
        "*.dkr.ecr.*.amazonaws.com",
    ]


labels = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
hosts = st.lists(labels, min_size=2, max_size=5).map(".".join)
paths = st.lists(labels, min_size=1, max_size=4).map("/".join)


@given(host=hosts, path=paths)
def test_a_host_matches_its_own_references(host, path):
    assert image_matches(host, f"{host}/{path}")
    assert image_matches(f"{host}/{path}", f"{host}/{path}")
    assert image_matches(f"{host}/{path}", f"{host}/{path}/sub")


@given(host=hosts, path=paths, suffix=labels)
def test_lookalike_hosts_never_match(host, path, suffix):
    assert not image_matches(host, f"{host}.{suffix}/{path}")
    assert not image_matches(host, f"{suffix}.{host}/{path}")
    assert not image_matches(host, f"{suffix}.example/{host}/{path}")


@given(host=hosts, path=paths, extra=labels)
def test_path_prefix_respects_component_boundaries(host, path, extra):
    assert not image_matches(f"{host}/{path}", f"{host}/{path}{extra}")


@given(host=hosts, index=st.integers(min_value=0, max_value=4), path=paths)
def test_a_star_covers_exactly_one_label(host, index, path):
    parts = host.split(".")
    index %= len(parts)
    globbed = ".".join("*" if i == index else p for i, p in enumerate(parts))
    assert image_matches(globbed, f"{host}/{path}")
    assert not image_matches(globbed, f"x.{host}/{path}")


# -- keys that match (almost) nothing, and patterns that share a registry ----------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", "matches only the registry localhost"),
        ("local*", "matches only the registry localhost"),
        ("myregistry", "can never match: a name without a dot or a port"),
        ("reg*", "can never match: a glob covers exactly one label"),
        ("localhost", None),
        ("localhost:5000", None),
        ("*:5000", None),
        ("*.example.com", None),
        ("docker.io", None),
        ("[::1]", None),
    ],
)
def test_reach_problem(pattern, expected):
    problem = RegistryPattern.parse(pattern).reach_problem()
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert expected in problem


def test_the_star_key_explains_labels_and_ports():
    problem = RegistryPattern.parse("*").reach_problem()
    assert problem is not None
    assert "the port must match exactly" in problem
    assert "[[providers]]" in problem
    # What the message says is so: "*" matches localhost and none of the others.
    assert image_matches("*", "localhost/app")
    for image in ("ubuntu", "registry.example.com/app", "localhost:5000/app"):
        assert not image_matches("*", image)


@pytest.mark.parametrize(
    ("one", "other", "expected"),
    [
        ("docker.io", "docker.io", True),
        ("docker.io", "index.docker.io/team", True),
        ("docker.io", "quay.io", False),
        ("*.io", "docker.io", True),
        ("docker.io", "*.io", True),
        ("*.io", "*.com", None),
        ("*.example.com", "registry.example.com:5000", False),
        ("registry.example.com:5000", "registry.example.com:5000/team", True),
        ("registry.example.com", "registry.example.com:5000", False),
        ("a.example.com", "*.*.example.com", False),
    ],
)
def test_overlaps(one, other, expected):
    first, second = RegistryPattern.parse(one), RegistryPattern.parse(other)
    assert first.overlaps(second) is expected
    assert second.overlaps(first) is expected


def test_registry_is_the_host_and_port_without_the_path():
    assert RegistryPattern.parse("https://Registry.Example.com:5000/team/").registry == (
        "registry.example.com:5000"
    )
    assert RegistryPattern.parse("index.docker.io").registry == "docker.io"
