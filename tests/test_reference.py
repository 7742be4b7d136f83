"""Tests for ImageReference: Docker's reference grammar and normalization, and the gateway form.

The tables named GO_* carry the cases of the canonical Go implementation's own test tables
(github.com/distribution/reference: reference_test.go, normalize_test.go, regexp_test.go; and
the older reference package of docker/distribution). Only inputs and expected outcomes are
taken over. Docker reads every reference through ParseNormalizedNamed, so each case is stated
as that function sees it; where a Go test exercises another function, a comment says how the
case maps onto ImageReference.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry_auth import InvalidReferenceError, RegistryAuthError
from registry_auth._credentials import Credentials, Secret
from registry_auth._reference import (
    DOCKER_HUB,
    ImageReference,
    registry_of_address,
    without_userinfo,
)
from registry_auth.testing.strategies import credentials, image_references, registries

HUB = DOCKER_HUB
F64 = "f" * 64
F128 = "f" * 128
BE17 = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
DBCC_HEX = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
DBCC = "sha256:" + DBCC_HEX
BUSYBOX = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
E669 = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"
# A digest of 37 hex digits: Go's WithDigest accepts it (it only checks the grammar, 32+ hex
# digits), but Go's Parse rejects any reference that carries it (sha256 has exactly 64).
SHORT37 = "sha256:1234567890098765432112345667890098765"
IMAGE_ID = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
DA30 = "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821"
LONG_NAMESPACE = "_".join(
    ["this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255"] * 4
)
SONG = "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

# Valid references: (input, registry, repository, tag, digest).
GO_VALID: list[tuple[str, str, str, str | None, str | None]] = [
    # reference_test.go, TestReferenceParse. That test calls Parse, which keeps a first
    # component such as "test_com" or "a" as the domain; Docker's normalization reads every
    # first component without ".", ":" or uppercase (and not "localhost") as a Docker Hub
    # namespace, and puts single names under library/. Expectations here are the normalized ones.
    ("test_com", HUB, "library/test_com", None, None),
    ("test.com:tag", HUB, "library/test.com", "tag", None),
    ("test.com:5000", HUB, "library/test.com", "5000", None),
    ("test.com/repo:tag", "test.com", "repo", "tag", None),
    ("test:5000/repo", "test:5000", "repo", None, None),
    ("test:5000/repo:tag", "test:5000", "repo", "tag", None),
    (f"test:5000/repo@sha256:{F64}", "test:5000", "repo", None, f"sha256:{F64}"),
    (f"test:5000/repo:tag@sha256:{F64}", "test:5000", "repo", "tag", f"sha256:{F64}"),
    ("lowercase:Uppercase", HUB, "library/lowercase", "Uppercase", None),
    # 255 characters of path: the limit applies to the path, not to docker.io/ in front of it.
    (
        "a/" * 127 + "a:tag-puts-this-over-max",
        HUB,
        "a/" * 127 + "a",
        "tag-puts-this-over-max",
        None,
    ),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", None, None),
    (
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        "sub-dom1.foo.com",
        "bar/baz/quux",
        "some-long-tag",
        None,
    ),
    (
        "b.gcr.io/test.example.com/my-app:test.example.com",
        "b.gcr.io",
        "test.example.com/my-app",
        "test.example.com",
        None,
    ),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", None),
    (
        f"xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F128}",
        "xn--7o8h.com",
        "myimage",
        "xn--7o8h.com",
        f"sha512:{F128}",
    ),
    ("foo_bar.com:8080", HUB, "library/foo_bar.com", "8080", None),
    ("foo/foo_bar.com:8080", HUB, "foo/foo_bar.com", "8080", None),
    ("192.168.1.1", HUB, "library/192.168.1.1", None, None),
    ("192.168.1.1:tag", HUB, "library/192.168.1.1", "tag", None),
    ("192.168.1.1:5000", HUB, "library/192.168.1.1", "5000", None),
    ("192.168.1.1/repo", "192.168.1.1", "repo", None, None),
    ("192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", None, None),
    ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", None),
    ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", None),
    ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", None, None),
    ("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", None),
    (
        f"[2001:db8::1]:5000/repo@sha256:{F64}",
        "[2001:db8::1]:5000",
        "repo",
        None,
        f"sha256:{F64}",
    ),
    (
        f"[2001:db8::1]:5000/repo:tag@sha256:{F64}",
        "[2001:db8::1]:5000",
        "repo",
        "tag",
        f"sha256:{F64}",
    ),
    ("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", None, None),
    ("[::1]:5000/repo", "[::1]:5000", "repo", None, None),
    # reference_test.go, TestDomainAndPath (WithName; normalized as above).
    ("test.com/foo", "test.com", "foo", None, None),
    ("test_com/foo", HUB, "test_com/foo", None, None),
    ("test:8080/foo", "test:8080", "foo", None, None),
    ("test.com:8080/foo", "test.com:8080", "foo", None, None),
    ("test-com:8080/foo", "test-com:8080", "foo", None, None),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", None, None),
    # reference_test.go, TestSerialization (the JSON round trip is Parse and String).
    ("example.com:8000/named", "example.com:8000", "named", None, None),
    ("example.com:8000/named:tagged", "example.com:8000", "named", "tagged", None),
    (
        "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112",
        "other.com",
        "named",
        None,
        "sha256:1234567890098765432112345667890098765432112345667890098765432112",
    ),
    # normalize_test.go, TestValidateReferenceName.
    ("docker/docker", HUB, "docker/docker", None, None),
    ("library/debian", HUB, "library/debian", None, None),
    ("debian", HUB, "library/debian", None, None),
    ("docker.io/docker/docker", HUB, "docker/docker", None, None),
    ("docker.io/library/debian", HUB, "library/debian", None, None),
    ("docker.io/debian", HUB, "library/debian", None, None),
    ("index.docker.io/docker/docker", HUB, "docker/docker", None, None),
    ("index.docker.io/library/debian", HUB, "library/debian", None, None),
    ("index.docker.io/debian", HUB, "library/debian", None, None),
    ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", None, None),
    ("127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", None, None),
    ("127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", None, None),
    ("192.168.0.1", HUB, "library/192.168.0.1", None, None),
    ("192.168.0.1:80", HUB, "library/192.168.0.1", "80", None),
    ("192.168.0.1:8/debian", "192.168.0.1:8", "debian", None, None),
    ("192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", None, None),
    (SONG, HUB, f"library/{SONG}", None, None),
    ("[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", None, None),
    ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", None, None),
    (
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "[fc00:1:2:3:4:5:6:7]:5000",
        "library/debian",
        None,
        None,
    ),
    (f"docker.io/{IMAGE_ID}", HUB, f"library/{IMAGE_ID}", None, None),
    # A first component that is not lowercase is read as a registry host.
    ("Docker/docker", "Docker", "docker", None, None),
    ("DOCKER/docker", "DOCKER", "docker", None, None),
    # normalize_test.go, TestValidateRemoteName.
    ("docker-rules/docker", HUB, "docker-rules/docker", None, None),
    ("docker---rules/docker", HUB, "docker---rules/docker", None, None),
    ("doc/docker", HUB, "doc/docker", None, None),
    ("d/docker", HUB, "d/docker", None, None),
    ("jess/t", HUB, "jess/t", None, None),
    ("dock__er/docker", HUB, "dock__er/docker", None, None),
    # normalize_test.go, TestParseReferenceWithTagAndDigest.
    (f"busybox:latest@{BUSYBOX}", HUB, "library/busybox", "latest", BUSYBOX),
    # normalize_test.go, TestParseAnyReference. ParseAnyReference also reads a bare 64-hex
    # string and "sha256:<hex>" as digest-only references; we have no such thing: the first
    # is refused (GO_INVALID) and the second is what ParseNormalizedNamed makes of it, the
    # image "sha256" with a 64-character tag. The older package's short-ID lookups in a digest
    # set ("dbcc1c") become plain names likewise.
    ("redis", HUB, "library/redis", None, None),
    ("redis:latest", HUB, "library/redis", "latest", None),
    ("docker.io/library/redis:latest", HUB, "library/redis", "latest", None),
    (f"redis@{DBCC}", HUB, "library/redis", None, DBCC),
    (f"docker.io/library/redis@{DBCC}", HUB, "library/redis", None, DBCC),
    ("dmcgowan/myapp", HUB, "dmcgowan/myapp", None, None),
    ("dmcgowan/myapp:latest", HUB, "dmcgowan/myapp", "latest", None),
    ("docker.io/mcgowan/myapp:latest", HUB, "mcgowan/myapp", "latest", None),
    (f"dmcgowan/myapp@{DBCC}", HUB, "dmcgowan/myapp", None, DBCC),
    (f"docker.io/dmcgowan/myapp@{DBCC}", HUB, "dmcgowan/myapp", None, DBCC),
    (DBCC, HUB, "library/sha256", DBCC_HEX, None),
    (DBCC_HEX[:63], HUB, f"library/{DBCC_HEX[:63]}", None, None),
    ("dbcc1", HUB, "library/dbcc1", None, None),
    ("dbcc1c", HUB, "library/dbcc1c", None, None),
    # normalize_test.go, TestNormalizedSplitHostname.
    ("docker/migrator", HUB, "docker/migrator", None, None),
    ("foo", HUB, "library/foo", None, None),
    ("xn--n3h.com/foo", "xn--n3h.com", "foo", None, None),
    ("docker.io/foo", HUB, "library/foo", None, None),
    ("docker.io/library/foo", HUB, "library/foo", None, None),
    ("docker.io/library/foo/bar", HUB, "library/foo/bar", None, None),
    # normalize_test.go, TestMatch: its references (FamiliarMatch has no counterpart here).
    ("foo/any/bat", HUB, "foo/any/bat", None, None),
    ("foo/a/bar", HUB, "foo/a/bar", None, None),
    ("foo/b/baz", HUB, "foo/b/baz", None, None),
    ("foo/c/baz:tag", HUB, "foo/c/baz", "tag", None),
    ("example.com/foo/c/baz:tag", "example.com", "foo/c/baz", "tag", None),
    # regexp_test.go, TestFullNameRegexp (the name grammar; normalized as above).
    ("short", HUB, "library/short", None, None),
    ("simple/name", HUB, "simple/name", None, None),
    ("library/ubuntu", HUB, "library/ubuntu", None, None),
    ("docker/stevvooe/app", HUB, "docker/stevvooe/app", None, None),
    (
        "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
        HUB,
        "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
        None,
        None,
    ),
    ("aa/aa/bb/bb/bb", HUB, "aa/aa/bb/bb/bb", None, None),
    ("a/a/a/a", HUB, "a/a/a/a", None, None),
    ("a", HUB, "library/a", None, None),
    ("a/aa", HUB, "a/aa", None, None),
    ("a/aa/a", HUB, "a/aa/a", None, None),
    ("foo.com", HUB, "library/foo.com", None, None),
    ("foo.com:8080/bar", "foo.com:8080", "bar", None, None),
    ("foo.com/bar", "foo.com", "bar", None, None),
    ("foo.com/bar/baz", "foo.com", "bar/baz", None, None),
    ("localhost:8080/bar", "localhost:8080", "bar", None, None),
    ("blog.foo.com/bar/baz", "blog.foo.com", "bar/baz", None, None),
    ("aa-a/a", HUB, "aa-a/a", None, None),
    ("foo_bar", HUB, "library/foo_bar", None, None),
    ("foo_bar.com", HUB, "library/foo_bar.com", None, None),
    ("foo.com/foo_bar", "foo.com", "foo_bar", None, None),
    ("b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com/my-app", None, None),
    ("xn--n3h.com/myimage", "xn--n3h.com", "myimage", None, None),
    ("xn--7o8h.com/myimage", "xn--7o8h.com", "myimage", None, None),
    ("example.com/xn--7o8h.com/myimage", "example.com", "xn--7o8h.com/myimage", None, None),
    (
        "example.com/some_separator__underscore/myimage",
        "example.com",
        "some_separator__underscore/myimage",
        None,
        None,
    ),
    ("do__cker/docker", HUB, "do__cker/docker", None, None),
    (
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io",
        "foo/project--id.module--name.ver---sion--name",
        None,
        None,
    ),
    ("Asdf.com/foo/bar", "Asdf.com", "foo/bar", None, None),
    # regexp_test.go, TestReferenceRegexp.
    ("registry.com:8080/myapp:tag", "registry.com:8080", "myapp", "tag", None),
    (f"registry.com:8080/myapp@{BE17}", "registry.com:8080", "myapp", None, BE17),
    (f"registry.com:8080/myapp:tag2@{BE17}", "registry.com:8080", "myapp", "tag2", BE17),
    # Without a "/", localhost is a name and 8080 its tag.
    (f"localhost:8080@{BE17}", HUB, "library/localhost", "8080", BE17),
    (f"localhost:8080/name@{BE17}", "localhost:8080", "name", None, BE17),
    (f"localhost@{BE17}", HUB, "library/localhost", None, BE17),
    # regexp_test.go, TestIdentifierRegexp: what is no image ID is an ordinary name.
    (DA30[:60], HUB, f"library/{DA30[:60]}", None, None),
    (f"sha256:{DA30}", HUB, "library/sha256", DA30, None),
    (DA30 + "8482", HUB, f"library/{DA30}8482", None, None),
]

# Invalid references: (input, a fragment of the expected message).
GO_INVALID: list[tuple[str, str]] = [
    # reference_test.go, TestReferenceParse (and TestWithNameFailure, which repeats its errors).
    ("", "empty"),
    (":justtag", "repository name is missing"),
    (f"@sha256:{F64}", "repository name is missing"),
    ("repo@sha256:" + "f" * 34, "64 hex digits, not 34"),
    (f"validname@invaliddigest:{F64}", "unsupported digest algorithm 'invaliddigest'"),
    ("Uppercase:tag", "must be lowercase"),
    ("test:5000/Uppercase/lowercase:tag", "must be lowercase"),
    ("a/" * 128 + "a:tag", "257 characters long"),
    ("aa/asdf$$^/aa", "path component 'asdf$$^'"),
    ("[2001:db8::1]", "path component"),
    ("[2001:db8::1]:5000", "path component"),
    ("[2001:db8::1]:tag", "path component"),
    ("[fe80::1%eth0]:5000/repo", "invalid registry"),
    ("[fe80::1%@invalidzone]:5000/repo", "user information"),
    # reference_test.go, TestWithTag and TestWithDigest: the combined strings they build with a
    # 37-digit sha256 digest, which Parse (and so docker pull) refuses.
    (f"test.com:8000/foo:TAG5@{SHORT37}", "64 hex digits, not 37"),
    (f"test.com/foo@{SHORT37}", "64 hex digits, not 37"),
    (f"foo@{SHORT37}", "64 hex digits, not 37"),
    (f"test.com:8000/foo@{SHORT37}", "64 hex digits, not 37"),
    (f"test.com:8000/foo:latest@{SHORT37}", "64 hex digits, not 37"),
    # The older package accepted these (its digest check ignored the length, and an early
    # grammar allowed IPv6 zones); current Go refuses them, and so do we.
    (f"other.com/named@{SHORT37}", "64 hex digits, not 37"),
    (f"xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F64}", "128 hex digits, not 64"),
    ("[fc00::1%eth0]:5000/docker/docker", "invalid registry"),
    ("[fc00::1%eth0]:5000/library/debian", "invalid registry"),
    ("[fc00::1%eth0]:5000/debian", "invalid registry"),
    # normalize_test.go, TestValidateReferenceName.
    ("https://github.com/docker/docker", "no URL scheme"),
    ("docker/Docker", "must be lowercase"),
    ("-docker", "path component '-docker'"),
    ("-docker/docker", "path component '-docker'"),
    ("-docker.io/docker/docker", "invalid registry '-docker.io'"),
    ("docker///docker", "empty path component"),
    ("docker.io/docker/Docker", "must be lowercase"),
    ("docker.io/docker///docker", "empty path component"),
    ("[fc00::1]", "path component"),
    ("[fc00::1]:5000", "path component"),
    ("fc00::1:5000/debian", "invalid registry"),
    ("[fe80::1%eth0]:5000/debian", "invalid registry"),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry"),
    (IMAGE_ID, "image ID"),
    # normalize_test.go, TestValidateRemoteName.
    ("docker-/docker", "path component 'docker-'"),
    ("-docker-/docker", "path component '-docker-'"),
    ("____/____", "path component '____'"),
    ("_docker/_docker", "path component '_docker'"),
    # A "." in the first component makes it a registry, and these are no host names.
    ("dock..er/docker", "invalid registry 'dock..er'"),
    ("dock_.er/docker", "invalid registry 'dock_.er'"),
    ("dock-.er/docker", "invalid registry 'dock-.er'"),
    ("docker/", "empty path component"),
    (f"{LONG_NAMESPACE}/docker", "278 characters long"),
    # normalize_test.go, TestInvalidReferenceComponents. Its WithDigest(ref, "foo") check maps
    # to a reference carrying that digest; its WithTag check is in test_with_tag_go_invalid.
    ("-foo", "path component '-foo'"),
    ("busybox@foo", "invalid digest 'foo'"),
    # normalize_test.go, TestParseAnyReference: a bare 64-hex string is an image ID.
    (DBCC_HEX, "image ID"),
    # regexp_test.go, TestFullNameRegexp.
    ("a/a/a/a/", "empty path component"),
    ("a//a/a", "empty path component"),
    ("foo.com/", "repository name is missing"),
    ("foo.com:http/bar", "invalid registry 'foo.com:http'"),
    ("a^a", "path component 'a^a'"),
    ("asdf$$^/aa", "path component 'asdf$$^'"),
    # The name grammar matches 128 components; the 255-character limit then refuses them.
    ("a/" * 128 + "a", "257 characters long"),
    ("a-/a/a/a", "path component 'a-'"),
    ("foo.com/a-/a/a", "path component 'a-'"),
    ("-foo/bar", "path component '-foo'"),
    ("foo/bar-", "path component 'bar-'"),
    ("foo-/bar", "path component 'foo-'"),
    ("foo/-bar", "path component '-bar'"),
    ("_foo/bar", "path component '_foo'"),
    # (TestFullNameRegexp's "foo_bar.com:8080" fails the name grammar only: as a reference,
    # ":8080" is a tag, and it is valid; see GO_VALID.)
    ("foo_bar.com:8080/app", "invalid registry 'foo_bar.com:8080'"),
    ("docker_/docker_", "path component 'docker_'"),
    ("example.com/__underscore/myimage", "path component '__underscore'"),
    ("example.com/..dots/myimage", "path component '..dots'"),
    ("example.com/.dots/myimage", "path component '.dots'"),
    ("example.com/nodouble..dots/myimage", "path component 'nodouble..dots'"),
    ("docker./docker", "invalid registry 'docker.'"),
    (".docker/docker", "invalid registry '.docker'"),
    ("do..cker/docker", "invalid registry 'do..cker'"),
    ("do__cker:8080/docker", "invalid registry 'do__cker:8080'"),
    ("Foo/FarB", "must be lowercase"),
    # regexp_test.go, TestReferenceRegexp.
    ("registry.com:8080/myapp@sha256:badbadbadbad", "64 hex digits, not 12"),
    ("registry.com:8080/myapp:invalid~tag", "invalid tag 'invalid~tag'"),
    ("bad_hostname.com:8080/myapp:tag", "invalid registry 'bad_hostname.com:8080'"),
    (f"localhost:http/name@{BE17}", "invalid registry 'localhost:http'"),
    ("registry.com:8080/myapp@bad", "invalid digest 'bad'"),
    ("registry.com:8080/myapp@2bad", "invalid digest '2bad'"),
    # regexp_test.go, TestIdentifierRegexp: an image ID is refused; uppercase hex is no ID
    # but no valid name either.
    (DA30, "image ID"),
    ("7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", "must be lowercase"),
]

# normalize_test.go, TestParseRepositoryInfo: (path, familiar, full, ambiguous, domain). The
# familiar, full and ambiguous spellings all parse to the same reference.
GO_REPOSITORY_INFO: list[tuple[str, str, str, str | None, str]] = [
    ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", HUB),
    ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", HUB),
    ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", None, HUB),
    ("other/library", "other/library", "docker.io/other/library", None, HUB),
    (
        "private/moonbase",
        "127.0.0.1:8000/private/moonbase",
        "127.0.0.1:8000/private/moonbase",
        None,
        "127.0.0.1:8000",
    ),
    (
        "privatebase",
        "127.0.0.1:8000/privatebase",
        "127.0.0.1:8000/privatebase",
        None,
        "127.0.0.1:8000",
    ),
    (
        "private/moonbase",
        "example.com/private/moonbase",
        "example.com/private/moonbase",
        None,
        "example.com",
    ),
    ("privatebase", "example.com/privatebase", "example.com/privatebase", None, "example.com"),
    (
        "private/moonbase",
        "example.com:8000/private/moonbase",
        "example.com:8000/private/moonbase",
        None,
        "example.com:8000",
    ),
    (
        "privatebasee",
        "example.com:8000/privatebasee",
        "example.com:8000/privatebasee",
        None,
        "example.com:8000",
    ),
    (
        "library/ubuntu-12.04-base",
        "ubuntu-12.04-base",
        "docker.io/library/ubuntu-12.04-base",
        "index.docker.io/library/ubuntu-12.04-base",
        HUB,
    ),
    ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", HUB),
    ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", None, HUB),
    ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", None, HUB),
    ("bar", "Foo/bar", "Foo/bar", None, "Foo"),
    ("bar", "FOO/bar", "FOO/bar", None, "FOO"),
]

# reference_test.go, TestParseNamed: ParseNamed accepts only the canonical (fully normalized)
# spelling. We accept every spelling Docker does; the case maps onto "str(ref) is the input".
GO_CANONICAL: list[tuple[str, bool]] = [
    ("test.com/foo", True),
    ("test:8080/foo", True),
    ("test_com/foo", False),
    ("test.com", False),
    ("foo", False),
    ("library/foo", False),
    ("docker.io/library/foo", True),
    ("docker.io/foo", False),
]

# reference_test.go, TestWithTag (the rows without a digest): name + tag = combined.
GO_WITH_TAG: list[tuple[str, str, str]] = [
    ("test.com/foo", "tag", "test.com/foo:tag"),
    ("foo", "tag2", "foo:tag2"),
    ("test.com:8000/foo", "tag4", "test.com:8000/foo:tag4"),
    ("test.com:8000/foo", "TAG5", "test.com:8000/foo:TAG5"),
]

# normalize_test.go, TestParseDockerRef: what gets pulled. ParseDockerRef adds ":latest" to a
# bare name and drops the tag of a reference that also has a digest; here that is
# with_default_tag() and pull_tag (the digest wins).
GO_DOCKER_REF: list[tuple[str, str]] = [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:latest", "docker.io/library/busybox:latest"),
    (f"busybox@{E669}", f"docker.io/library/busybox@{E669}"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox:latest", "docker.io/library/busybox:latest"),
    ("library/busybox:latest", "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
    ("gcr.io/library/busybox", "gcr.io/library/busybox:latest"),
    (f"gcr.io/library/busybox:latest@{E669}", f"gcr.io/library/busybox@{E669}"),
]

# regexp_test.go, TestDomainRegexp: (registry, valid). The grammar checks no port range and
# no IPv6 address form, and neither does Docker's parser: such registries are accepted.
GO_DOMAINS: list[tuple[str, bool]] = [
    ("test.com", True),
    ("test.com:10304", True),
    ("test.com:http", False),
    ("localhost", True),
    ("localhost:8080", True),
    ("a", True),
    ("a.b", True),
    ("ab.cd.com", True),
    ("a-b.com", True),
    ("-ab.com", False),
    ("ab-.com", False),
    ("ab.c-om", True),
    ("ab.-com", False),
    ("ab.com-", False),
    ("0101.com", True),
    ("001a.com", True),
    ("b.gbc.io:443", True),
    ("b.gbc.io", True),
    ("xn--n3h.com", True),
    ("Asdf.com", True),
    ("192.168.1.1:75050", True),
    ("192.168.1.1:750050", True),
    ("[fd00:1:2::3]:75050", True),
    ("[fd00:1:2::3]75050", False),
    ("[fd00:1:2::3]::75050", False),
    ("[fd00:1:2::3%eth0]:75050", False),
    ("[fd00123123123]:75050", True),
    ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", True),
    ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505", True),
    ("fd00:1:2::3:75050", False),
]

# regexp_test.go of docker/distribution, TestAnchoredTagRegexp: (tag, valid). That revision's
# grammar allowed "+" in tags; it was reverted, and neither Go's current grammar nor Docker
# accepts it, so the "+" rows are refused here (a deliberate difference from that table).
GO_TAGS: list[tuple[str, bool]] = [
    ("0.0.0-alpha.1.beta.2+abc.def.123-456", False),
    ("0.0.0-alpha.1.beta.2+abc.def.123", False),
    ("0.0.0-alpha.1.beta.2", True),
    ("0.0.0-alpha.1.beta", True),
    ("0.0.0-alpha.1", True),
    ("0.0.0", True),
    ("10001345563.34532.1234", True),
    ("10001345563.34532.1234+hello-world", False),
    ("v0.0.0-alpha.1.beta.2+abc.def.123-456", False),
    ("v0.0.0-alpha.1.beta.2+abc.def.123", False),
    ("v0.0.0-alpha.1.beta.2", True),
    ("v0.0.0-alpha.1.beta", True),
    ("v0.0.0-alpha.1", True),
    ("v0.0.0", True),
    ("v10001345563.34532.1234", True),
    ("v10001345563.34532.1234+hello-world", False),
    ("some-valid-tag", True),
    ("a", True),
    ("0", True),
    ("hi", True),
    ("no, siree", False),
    ("-nope", False),
    ("yep-", True),
    ("nah-±-mate", False),
    ("grrr-👹", False),
    ("erm;no", False),
    ("stop:it", False),
    ("bored,now", False),
]


def _short(text: str) -> str:
    """A readable pytest id for long inputs."""
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


def _ids(rows: Sequence[tuple[object, ...]]) -> list[str]:
    return [_short(str(row[0])) for row in rows]


def test_go_tables_have_no_duplicate_inputs():
    inputs = [row[0] for row in GO_VALID] + [row[0] for row in GO_INVALID]
    assert len(inputs) == len(set(inputs))


# -- ParseNormalizedNamed cases ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"), GO_VALID, ids=_ids(GO_VALID)
)
def test_go_valid(text, registry, repository, tag, digest):
    ref = ImageReference.parse(text)

    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    suffix = ("" if tag is None else f":{tag}") + ("" if digest is None else f"@{digest}")
    assert str(ref) == f"{registry}/{repository}{suffix}"
    assert ImageReference.parse(str(ref)) == ref
    assert ImageReference.parse(ref.familiar) == ref


@pytest.mark.parametrize(("text", "fragment"), GO_INVALID, ids=_ids(GO_INVALID))
def test_go_invalid(text, fragment):
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.parse(text)

    message = str(info.value)
    assert fragment in message
    shown = without_userinfo(text)  # user information is never quoted
    assert info.value.text == shown
    if text:
        assert repr(shown) in message
    # The message speaks of what the user typed, not of the normalized form.
    for normalized in ("library/", "docker.io/"):
        if normalized not in text:
            assert normalized not in message


@pytest.mark.parametrize(
    ("path", "familiar", "full", "ambiguous", "domain"),
    GO_REPOSITORY_INFO,
    ids=[row[2] for row in GO_REPOSITORY_INFO],
)
def test_go_repository_info(path, familiar, full, ambiguous, domain):
    spellings = [familiar, full] + ([ambiguous] if ambiguous else [])
    refs = [ImageReference.parse(text) for text in spellings]

    for ref in refs:
        assert (ref.registry, ref.repository) == (domain, path)
        assert str(ref) == full
        assert ref.name == full
        assert ref.familiar == familiar
        assert ref.is_docker_hub is (domain == HUB)
    assert len(set(refs)) == 1


def test_go_familiar_keeps_tag_and_digest():
    text = f"busybox:latest@{BUSYBOX}"
    ref = ImageReference.parse(text)

    assert str(ref) == f"docker.io/library/{text}"
    assert ref.familiar == text


@pytest.mark.parametrize(("text", "canonical"), GO_CANONICAL, ids=_ids(GO_CANONICAL))
def test_go_canonical_form(text, canonical):
    assert (str(ImageReference.parse(text)) == text) is canonical


@pytest.mark.parametrize(("name", "tag", "combined"), GO_WITH_TAG, ids=_ids(GO_WITH_TAG))
def test_go_with_tag(name, tag, combined):
    assert ImageReference.parse(name).with_tag(tag) == ImageReference.parse(combined)


def test_with_tag_go_invalid():
    with pytest.raises(InvalidReferenceError, match="invalid tag '-foo'"):
        ImageReference.parse("busybox").with_tag("-foo")


@pytest.mark.parametrize(("text", "expected"), GO_DOCKER_REF, ids=_ids(GO_DOCKER_REF))
def test_go_docker_ref(text, expected):
    ref = ImageReference.parse(text).with_default_tag()

    pulled = f"{ref.name}@{ref.pull_tag}" if ref.digest else f"{ref.name}:{ref.pull_tag}"
    assert pulled == expected


def _read_as_registry(domain: str) -> bool:
    return domain == "localhost" or "." in domain or ":" in domain or domain.lower() != domain


@pytest.mark.parametrize(("domain", "valid"), GO_DOMAINS, ids=_ids(GO_DOMAINS))
def test_go_domains(domain, valid):
    if valid and _read_as_registry(domain):
        assert ImageReference.parse(f"{domain}/app").registry == domain
        assert ImageReference.from_fields("app", registry_url=domain).registry == domain
    elif valid:
        # The grammar allows a bare word ("a") as a host, but Docker reads it as a Docker Hub
        # namespace, so no reference can name it as a registry; a registry URL cannot either.
        assert ImageReference.parse(f"{domain}/app").repository == f"{domain}/app"
        with pytest.raises(InvalidReferenceError, match="Docker Hub namespace"):
            ImageReference.from_fields("app", registry_url=domain)
    else:
        with pytest.raises(InvalidReferenceError, match="registry"):
            ImageReference.from_fields("app", registry_url=domain)
        with pytest.raises(InvalidReferenceError, match="invalid registry"):
            ImageReference.parse(f"{domain}/app")


@pytest.mark.parametrize(("tag", "valid"), GO_TAGS, ids=_ids(GO_TAGS))
def test_go_tags(tag, valid):
    base = ImageReference.parse("example.com/app")
    if valid:
        assert ImageReference.parse(f"example.com/app:{tag}").tag == tag
        assert base.with_tag(tag).tag == tag
    else:
        with pytest.raises(InvalidReferenceError):
            ImageReference.parse(f"example.com/app:{tag}")
        with pytest.raises(InvalidReferenceError, match="invalid tag"):
            base.with_tag(tag)


# -- Our own cases ---------------------------------------------------------------------------


def test_error_is_value_error_and_registry_auth_error():
    with pytest.raises(ValueError, match="empty"):
        ImageReference.parse("")
    with pytest.raises(RegistryAuthError, match="empty"):
        ImageReference.parse("")
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.parse("")
    assert info.value.reference == ""
    assert info.value.text == ""


def test_parse_refuses_non_strings():
    with pytest.raises(TypeError, match="bytes"):
        ImageReference.parse(b"ubuntu")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["ubuntu\n", " ubuntu", "ubuntu ", "ubu ntu", "ubuntu:22.04\t"])
def test_whitespace_is_refused(text):
    with pytest.raises(InvalidReferenceError, match="whitespace"):
        ImageReference.parse(text)


def test_uppercase_message_quotes_what_the_user_typed():
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.parse("Ubuntu:22.04")
    assert str(info.value) == (
        "invalid image reference 'Ubuntu:22.04': the repository name 'Ubuntu' must be lowercase"
    )


def test_too_long_counts_the_library_prefix():
    name = "a" * 250  # library/ + 250 = 258 characters of path
    with pytest.raises(InvalidReferenceError, match="258 characters long, more than the 255"):
        ImageReference.parse(name)
    assert ImageReference.parse("a" * 247).repository == "library/" + "a" * 247


@pytest.mark.parametrize(
    ("digest", "fragment"),
    [
        ("sha256:" + "F" * 64, "hex digits must be lowercase"),
        ("sha256:" + "f" * 63, "64 hex digits, not 63"),
        ("sha256:" + "f" * 65, "64 hex digits, not 65"),
        ("sha384:" + "f" * 64, "96 hex digits, not 64"),
        ("sha512:" + "f" * 96, "128 hex digits, not 96"),
        ("md5:" + "f" * 32, "unsupported digest algorithm 'md5'"),
        ("SHA256:" + "f" * 64, "unsupported digest algorithm 'SHA256'"),
        ("sha256:" + "g" * 64, "is not hexadecimal"),
        ("sha256:", "algorithm:hex"),
        ("sha256", "algorithm:hex"),
        ("", "algorithm:hex"),
    ],
)
def test_digest_rules(digest, fragment):
    text = f"example.com/app@{digest}"
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.parse(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(("algorithm", "length"), [("sha256", 64), ("sha384", 96), ("sha512", 128)])
def test_supported_digests(algorithm, length):
    digest = f"{algorithm}:{'0a' * (length // 2)}"
    ref = ImageReference.parse(f"app@{digest}")
    assert ref.digest == digest
    assert ref.pull_tag == digest


def test_a_registry_that_is_no_host_is_refused():
    # Go's parser reads "foo_bar.com/app" as the path "foo_bar.com/app" on an empty registry
    # (the registry split off is no host name, and the whole text is a valid path). Docker
    # cannot pull that; we refuse it with a clear reason (a deliberate difference).
    with pytest.raises(InvalidReferenceError, match=r"invalid registry 'foo_bar\.com'"):
        ImageReference.parse("foo_bar.com/app")


def test_tag_length_limit():
    assert ImageReference.parse("app:" + "t" * 128).tag == "t" * 128
    with pytest.raises(InvalidReferenceError, match="invalid tag"):
        ImageReference.parse("app:" + "t" * 129)


def test_str_with_tag_and_digest():
    ref = ImageReference.parse(f"localhost:5000/app:1.0@{BE17}")
    assert str(ref) == f"localhost:5000/app:1.0@{BE17}"
    assert ref.familiar == str(ref)
    assert repr(ref) == f"ImageReference('localhost:5000/app:1.0@{BE17}')"


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("ubuntu:22.04", "ubuntu:22.04"),
        ("eclipse/kura:5.4", "eclipse/kura:5.4"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("index.docker.io/library/ubuntu", "ubuntu"),
        # Docker would print these without docker.io/, which reads back as another registry.
        ("docker.io/a.b/c", "docker.io/a.b/c"),
        ("docker.io/localhost/app:1", "docker.io/localhost/app:1"),
        # Bare, 64 hex digits would read back as an image ID.
        (f"docker.io/library/{IMAGE_ID}", f"library/{IMAGE_ID}"),
        (f"{IMAGE_ID}:1", f"{IMAGE_ID}:1"),
    ],
)
def test_familiar(text, familiar):
    ref = ImageReference.parse(text)
    assert ref.familiar == familiar
    assert ImageReference.parse(familiar) == ref


def test_properties_and_helpers():
    ref = ImageReference.parse("eclipse/kura")
    assert ref.name == "docker.io/eclipse/kura"
    assert ref.is_docker_hub
    assert ref.pull_tag == "latest"
    assert ref.with_default_tag().tag == "latest"
    assert ref.with_tag("5.4").with_default_tag().tag == "5.4"
    pinned = ImageReference.parse(f"eclipse/kura@{BE17}")
    assert pinned.with_default_tag() is pinned
    assert pinned.with_tag("5.4").digest == BE17
    assert not ImageReference.parse("quay.io/eclipse/kura").is_docker_hub
    assert hash(ref) == hash(ImageReference.parse("docker.io/eclipse/kura"))


def test_pathological_inputs_are_quick():
    inputs = [
        "a" * 100_000 + "!",
        "a" + "-" * 100_000 + "!",
        "a." * 50_000 + "/x!",
        "a/" * 50_000 + "!",
        "[" + ":" * 100_000,
        "a@sha256:" + "f" * 100_000 + "g",
    ]
    start = time.perf_counter()
    for text in inputs:
        with pytest.raises(InvalidReferenceError):
            ImageReference.parse(text)
    assert time.perf_counter() - start < 2.0


# -- from_fields: the gateway form -----------------------------------------------------------


def test_fields_docker_hub_with_blank_url():
    for url in ("", None, "   "):
        ref = ImageReference.from_fields("hubuser/hello", "1.0", url)
        assert str(ref) == "docker.io/hubuser/hello:1.0"
        assert ref.familiar == "hubuser/hello:1.0"


def test_fields_official_image():
    assert str(ImageReference.from_fields("ubuntu", "22.04")) == "docker.io/library/ubuntu:22.04"


def test_fields_ecr_full_uri_and_directory_url():
    ref = ImageReference.from_fields(f"{ECR}/team/app", "v2", f"{ECR}/team/")
    assert (ref.registry, ref.repository, ref.tag) == (ECR, "team/app", "v2")


def test_fields_ecr_bare_name_under_directory_url():
    ref = ImageReference.from_fields("app", "v2", f"{ECR}/team/")
    assert str(ref) == f"{ECR}/team/app:v2"
    assert str(ImageReference.from_fields("app", "v2", f"{ECR}/team/sub/")) == (
        f"{ECR}/team/sub/app:v2"
    )
    assert str(ImageReference.from_fields("app", "v2", ECR)) == f"{ECR}/app:v2"


def test_fields_the_url_directory_is_always_prefixed():
    # The name is what comes after the URL, even when it looks like it repeats the directory.
    ref = ImageReference.from_fields("team/app", None, f"{ECR}/team/")
    assert ref.repository == "team/team/app"


@pytest.mark.parametrize("scheme", ["https://", "http://", "HTTPS://"])
def test_fields_url_scheme(scheme):
    ref = ImageReference.from_fields("app", "1", f"{scheme}{ECR}/team/")
    assert str(ref) == f"{ECR}/team/app:1"


@pytest.mark.parametrize(
    "url",
    [
        "https://index.docker.io/v1/",
        "https://index.docker.io/v1",
        "index.docker.io",
        "docker.io",
        "https://registry-1.docker.io/",
    ],
)
def test_fields_docker_hub_urls(url):
    assert str(ImageReference.from_fields("hubuser/hello", "1", url)) == (
        "docker.io/hubuser/hello:1"
    )
    assert str(ImageReference.from_fields("ubuntu", None, url)) == "docker.io/library/ubuntu"
    assert str(ImageReference.from_fields("docker.io/hubuser/hello", None, url)) == (
        "docker.io/hubuser/hello"
    )


def test_fields_docker_hub_namespace_in_url():
    ref = ImageReference.from_fields("hello", None, "https://index.docker.io/v1/hubuser/")
    assert str(ref) == "docker.io/hubuser/hello"


def test_fields_private_registry_with_port():
    assert str(ImageReference.from_fields("app", "1", "localhost:5000")) == "localhost:5000/app:1"
    assert str(ImageReference.from_fields("app", None, "https://[::1]:5000/")) == "[::1]:5000/app"


def test_fields_registry_mismatch_names_both():
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.from_fields(f"{ECR}/team/app", "v2", "https://quay.io/team/")
    message = str(info.value)
    assert ECR in message
    assert "quay.io" in message
    assert info.value.registry == "quay.io"


def test_fields_hub_name_against_private_url():
    with pytest.raises(InvalidReferenceError, match=r"names registry 'docker\.io'"):
        ImageReference.from_fields("docker.io/hubuser/hello", None, ECR)


def test_fields_registry_hosts_compare_case_insensitively():
    ref = ImageReference.from_fields("Registry.Example.com/app", None, "registry.example.com")
    assert ref.registry == "Registry.Example.com"


def test_fields_name_outside_url_directory():
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.from_fields(f"{ECR}/other/app", None, f"{ECR}/team/")
    assert "'team'" in str(info.value)
    assert f"{ECR}/other/app" in str(info.value)
    # The directory is matched at a component boundary.
    with pytest.raises(InvalidReferenceError, match="not under"):
        ImageReference.from_fields(f"{ECR}/teamx/app", None, f"{ECR}/team/")


def test_fields_tag_in_name_and_field():
    assert ImageReference.from_fields("app:1.0", "1.0", ECR).tag == "1.0"
    assert ImageReference.from_fields("app:1.0", "", ECR).tag == "1.0"
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.from_fields("app:1.0", "2.0", ECR)
    assert "'1.0'" in str(info.value)
    assert "'2.0'" in str(info.value)


def test_fields_whitespace_around_fields():
    ref = ImageReference.from_fields("  app \n", " v2 ", f"  https://{ECR}/team/  ")
    assert str(ref) == f"{ECR}/team/app:v2"


@pytest.mark.parametrize("tag", ["", "   ", None])
def test_fields_blank_tag(tag):
    ref = ImageReference.from_fields("hubuser/hello", tag)
    assert ref.tag is None
    assert ref.pull_tag == "latest"


@pytest.mark.parametrize("tag", ["-bad", ":1.0", "1.0 beta", "a" * 129])
def test_fields_invalid_tag(tag):
    with pytest.raises(InvalidReferenceError, match="invalid image tag") as info:
        ImageReference.from_fields("hubuser/hello", tag)
    assert repr(tag.strip()) in str(info.value)


def test_fields_digest_in_name_with_tag_field():
    ref = ImageReference.from_fields(f"app@{BE17}", "1.0", ECR)
    assert str(ref) == f"{ECR}/app:1.0@{BE17}"
    assert ref.pull_tag == BE17


@pytest.mark.parametrize("name", ["", "   "])
def test_fields_empty_name(name):
    with pytest.raises(InvalidReferenceError, match="image name is empty"):
        ImageReference.from_fields(name, "1", ECR)


def test_fields_invalid_name_quotes_the_name():
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.from_fields("Hello", "1")
    assert str(info.value) == (
        "invalid image name 'Hello': the repository name 'Hello' must be lowercase"
    )
    with pytest.raises(InvalidReferenceError) as info:
        ImageReference.from_fields("He!lo", "1", f"{ECR}/team/")
    message = str(info.value)
    assert message.startswith(f"invalid image name 'He!lo' under registry URL '{ECR}/team/'")
    assert "library/" not in message


def test_fields_url_with_credentials_never_shows_them():
    with pytest.raises(InvalidReferenceError, match="credentials") as info:
        ImageReference.from_fields("app", "1", "https://robot:s3cr3t-token@registry.example.com/")
    error = info.value
    assert "s3cr3t" not in str(error)
    assert "s3cr3t" not in repr(error)
    assert all("s3cr3t" not in str(value) for value in vars(error).values())


def test_fields_url_with_query_never_shows_it():
    with pytest.raises(InvalidReferenceError, match="query") as info:
        ImageReference.from_fields("app", "1", "https://registry.example.com/?token=s3cr3t")
    assert "s3cr3t" not in repr(info.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://registry.example.com/", "expected host[:port]"),
        ("https://", "is not a registry host"),
        ("bad_host.example.com", "'bad_host.example.com' is not a registry host"),
        ("registry.example.com:http/", "is not a registry host"),
        ("registry.example.com/Team/", "must be lowercase"),
        ("registry.example.com/team//sub/", "empty path component"),
        ("myregistry", "Docker Hub namespace"),
    ],
)
def test_fields_invalid_url(url, fragment):
    with pytest.raises(InvalidReferenceError, match="invalid registry URL") as info:
        ImageReference.from_fields("app", "1", url)
    assert fragment in str(info.value)


# -- Properties ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(image_references())
def test_round_trip(ref):
    assert ImageReference.parse(str(ref)) == ref
    assert ImageReference.parse(ref.familiar) == ref
    assert ImageReference.parse(ref.name).with_default_tag().pull_tag == "latest"


@settings(max_examples=200, deadline=None)
@given(image_references())
def test_from_fields_round_trip(ref):
    untagged = ref.name + ("" if ref.digest is None else f"@{ref.digest}")
    assert ImageReference.from_fields(untagged, ref.tag) == ref
    assert ImageReference.from_fields(untagged, ref.tag, f"https://{ref.registry}/") == ref
    directory, slash, rest = ref.repository.partition("/")
    first, inner_slash, _ = rest.partition("/")
    # (A rest such as "a.b/c" names a registry of its own, so it cannot go under a URL.)
    if slash and not (inner_slash and _read_as_registry(first)):
        url = f"https://{ref.registry}/{directory}/"
        bare = rest + ("" if ref.digest is None else f"@{ref.digest}")
        assert ImageReference.from_fields(bare, ref.tag, url) == ref


@settings(max_examples=200, deadline=None)
@given(registries())
def test_registries_are_what_parse_returns(registry):
    assert ImageReference.parse(f"{registry}/app").registry == registry
    assert ImageReference.from_fields("app", None, registry).registry == registry


@settings(max_examples=100, deadline=None)
@given(credentials())
def test_credentials_strategy(creds):
    assert isinstance(creds, Credentials)
    assert isinstance(creds.password, Secret)
    assert ":" not in creds.username
    assert "Secret('********')" in repr(creds)
    assert creds.expires_at is None or creds.expires_at.utcoffset() is not None
    assert ImageReference.parse(f"{creds.registry}/app").registry == creds.registry


def _check_any_text(text: str) -> None:
    try:
        ref = ImageReference.parse(text)
    except InvalidReferenceError as exc:
        error = exc
    else:
        assert ImageReference.parse(str(ref)) == ref
        assert ImageReference.parse(ref.familiar) == ref
        return
    message = str(error)
    shown = without_userinfo(text)  # user information is never quoted
    assert error.text == shown
    if text:
        assert repr(shown) in message
    for normalized in ("library/", "docker.io/"):
        if normalized not in text:
            assert normalized not in message


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_invalid_reference(text):
    _check_any_text(text)


# Text made of the pieces references are made of, so that most of it is nearly valid.
_PIECES = [
    "a", "b1", "Z", "x9", ".", "-", "--", "_", "__", "/", "/", ":", ":", "@", "5000",
    "localhost", "docker.io", "index.docker.io", "library", "[::1]", "[fe80::1%", "]",
    "foo_bar.com", "Ex.com", "sha256:", DBCC_HEX, DBCC_HEX[:32], "sha512:" + F128, " ", "\n",
]  # fmt: skip
_near_references = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_near_references)
def test_near_references_parse_or_raise_invalid_reference(text):
    _check_any_text(text)


# An independent model of Go's ParseNormalizedNamed, step by step: reject an image ID, split
# off Docker's domain, refuse uppercase up to the first ":", match the reference grammar, split
# the name again with the name grammar, check the path length and the digest. It returns
# (domain, path, tag, digest), with an empty domain where Go ends up with none.
_GO_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_GO_HOST = rf"(?:{_GO_HOST_PART}(?:\.{_GO_HOST_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_GO_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_GO_PATH = rf"{_GO_PART}(?:/{_GO_PART})*"
_GO_NAME = re.compile(rf"(?:({_GO_HOST})/)?({_GO_PATH})")
_GO_REFERENCE = re.compile(
    rf"((?:{_GO_HOST}/)?{_GO_PATH})(?::([0-9A-Za-z_][0-9A-Za-z_.-]{{0,127}}))?"
    r"(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
_GO_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


def _go_model(text: str) -> tuple[str, str, str | None, str | None] | None:
    if re.fullmatch(r"[a-f0-9]{64}", text):
        return None
    first, slash, rest = text.partition("/")
    if not slash:
        domain, remote = "docker.io", "library/" + text
    elif first == "index.docker.io":
        domain, remote = "docker.io", rest
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remote = first, rest
    else:
        domain, remote = "docker.io", text
    if domain == "docker.io" and "/" not in remote:
        remote = "library/" + remote
    before_colon = remote.split(":", 1)[0]
    if before_colon.lower() != before_colon:
        return None
    match = _GO_REFERENCE.fullmatch(f"{domain}/{remote}")
    if match is None:
        return None
    name = _GO_NAME.fullmatch(match[1])
    assert name is not None
    if len(name[2]) > 255:
        return None
    digest = match[3]
    if digest is not None:
        algorithm, _, encoded = digest.partition(":")
        size = _GO_DIGEST_SIZES.get(algorithm)
        if size is None or not re.fullmatch(f"[a-f0-9]{{{size}}}", encoded):
            return None
    return (name[1] or "", name[2], match[2], digest)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_near_references, st.text(alphabet="aZ0._-/:@[]f", max_size=24)))
def test_agrees_with_a_model_of_the_go_parser(text):
    expected = _go_model(text)
    if expected is None or expected[0] == "":
        # (An empty domain is Go's reading of "foo_bar.com/app"; we refuse it on purpose.)
        with pytest.raises(InvalidReferenceError):
            ImageReference.parse(text)
    else:
        ref = ImageReference.parse(text)
        assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


def test_go_model_agrees_with_the_go_tables():
    # The model is itself checked against the transcribed cases.
    for text, registry, repository, tag, digest in GO_VALID:
        assert _go_model(text) == (registry, repository, tag, digest), text
    for text, _ in GO_INVALID:
        assert _go_model(text) is None, text
    assert _go_model("foo_bar.com/app") == ("", "foo_bar.com/app", None, None)


USERINFO_SECRET = "S3cret-userinfo-canary"


@pytest.mark.parametrize(
    "call",
    [
        lambda: ImageReference.parse(f"alice:{USERINFO_SECRET}@registry.example.com/x"),
        lambda: ImageReference.parse(f"alice:{USERINFO_SECRET}@registry.example.com"),
        lambda: ImageReference.parse(f"https://alice:{USERINFO_SECRET}@registry.example.com/x"),
        lambda: ImageReference.parse(f"alice:{USERINFO_SECRET}@localhost:5000/x:1"),
        lambda: ImageReference.from_fields(f"alice:{USERINFO_SECRET}@registry.example.com/x"),
        lambda: ImageReference.from_fields(
            f"alice:{USERINFO_SECRET}@registry.example.com/x", "1.0"
        ),
        lambda: ImageReference.from_fields(
            f"alice:{USERINFO_SECRET}@registry.example.com/x", None, "registry.example.com"
        ),
        lambda: ImageReference.from_fields(
            "team/app", None, f"https://alice:{USERINFO_SECRET}@registry.example.com/"
        ),
        lambda: registry_of_address(f"https://alice:{USERINFO_SECRET}@registry.example.com/"),
        lambda: registry_of_address(f"alice:{USERINFO_SECRET}@bad_host!"),
    ],
)
def test_errors_quote_nothing_before_an_at_in_the_host_part(call):
    with pytest.raises(InvalidReferenceError) as caught:
        call()
    error = caught.value
    for text in (str(error), repr(error), error.text, error.reference or ""):
        assert USERINFO_SECRET not in text
        assert "alice" not in text


def test_a_digest_without_a_path_is_not_taken_for_user_information():
    digest = "sha256:" + "a" * 64
    assert without_userinfo(f"ubuntu@{digest}") == f"ubuntu@{digest}"
    assert without_userinfo("ubuntu@sha256:abc") == "ubuntu@sha256:abc"
    assert without_userinfo("u:pw@localhost:5000") == "********@localhost:5000"
    assert without_userinfo("team/app@x") == "team/app@x"  # not in the host part
    assert without_userinfo("busybox@foo") == "busybox@foo"  # "foo" is no host: a bad digest
    assert without_userinfo("u:pw@registry.example.com") == "********@registry.example.com"
    with pytest.raises(InvalidReferenceError, match="ubuntu"):
        ImageReference.parse("ubuntu@sha256:abc")
