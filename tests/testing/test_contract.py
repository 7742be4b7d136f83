"""ProviderContractTests catches providers that break the contract, and passes those that keep it."""

from __future__ import annotations

import textwrap

import pytest

from registry_auth import ImageReference
from registry_auth.testing import lookalike_references

pytest_plugins = ["pytester"]

PROVIDERS = textwrap.dedent(
    """
    import logging
    import threading

    import attrs

    from registry_auth import Credentials, ImageReference
    from registry_auth.testing import ProviderContractTests

    HOST = "registry.example.com"
    SECRET = "contract-secret-4711"
    log = logging.getLogger("bad.provider")


    class Good:
        name = "good"

        def get_credentials(self, ref):
            if ref.registry.lower() != HOST:
                return None
            return Credentials(username="u", password=SECRET, registry=ref.registry, provider=self.name)

        def __repr__(self):
            return "Good()"


    class LeakyRepr(Good):
        def __repr__(self):
            return f"LeakyRepr(password={SECRET!r})"


    class LeakyLog(Good):
        def get_credentials(self, ref):
            log.debug("answering %s with %s", ref, SECRET)
            return super().get_credentials(ref)


    class Greedy(Good):
        def get_credentials(self, ref):
            return Credentials(username="u", password=SECRET, registry=ref.registry, provider=self.name)


    class PrefixMatcher(Good):
        def get_credentials(self, ref):
            if not ref.registry.startswith(HOST):
                return None
            return Credentials(username="u", password=SECRET, registry=ref.registry, provider=self.name)


    class PathMatcher(Good):
        def get_credentials(self, ref):
            if HOST not in str(ref):
                return None
            return Credentials(username="u", password=SECRET, registry=ref.registry, provider=self.name)


    class WrongRegistry(Good):
        def get_credentials(self, ref):
            found = super().get_credentials(ref)
            return None if found is None else attrs.evolve(found, registry="docker.io")


    class BadName(Good):
        name = 42


    class ForgetsAfterInvalidate(Good):
        def __init__(self):
            self.forgotten = False

        def get_credentials(self, ref):
            return None if self.forgotten else super().get_credentials(ref)

        def invalidate(self, ref):
            self.forgotten = True


    class Racy(Good):
        # Fails when two threads are inside at once: the first waits (bounded) for a second.
        def __init__(self):
            self.inside = 0
            self.lock = threading.Lock()
            self.second = threading.Event()

        def get_credentials(self, ref):
            with self.lock:
                self.inside += 1
                crowded = self.inside > 1
            try:
                if crowded:
                    self.second.set()
                    raise RuntimeError("shared state corrupted")
                if threading.current_thread() is not threading.main_thread():
                    self.second.wait(5)
                return super().get_credentials(ref)
            finally:
                with self.lock:
                    self.inside -= 1


    class ShortSecret(Good):
        def get_credentials(self, ref):
            found = super().get_credentials(ref)
            return None if found is None else attrs.evolve(found, password="pw")


    def contract(cls):
        return type(
            f"Test{cls.__name__}",
            (ProviderContractTests,),
            {"matching_reference": f"{HOST}/team/app:1.0", "make_provider": lambda self: cls()},
        )


    for _cls in [Good, LeakyRepr, LeakyLog, Greedy, PrefixMatcher, PathMatcher, WrongRegistry,
                 BadName, ForgetsAfterInvalidate, Racy, ShortSecret]:
        globals()[f"Test{_cls.__name__}"] = contract(_cls)
    """
)

CONTRACT = [
    "test_satisfies_the_protocol",
    "test_has_a_name",
    "test_answers_for_its_registry",
    "test_ignores_foreign_registries",
    "test_ignores_lookalike_hosts",
    "test_keeps_its_secret",
    "test_answers_again_after_invalidate",
    "test_answers_from_several_threads",
    "test_is_installed_under_its_entry_point",
]

EXPECTED_FAILURES = {
    "Good": set(),
    "LeakyRepr": {"test_keeps_its_secret"},
    "LeakyLog": {"test_keeps_its_secret"},
    "Greedy": {
        "test_ignores_foreign_registries",
        "test_ignores_lookalike_hosts",
        "test_answers_from_several_threads",
    },
    "PrefixMatcher": {"test_ignores_lookalike_hosts"},
    "PathMatcher": {"test_ignores_lookalike_hosts"},
    "WrongRegistry": {"test_answers_for_its_registry", "test_answers_again_after_invalidate"},
    "BadName": {"test_has_a_name"},
    "ForgetsAfterInvalidate": {"test_answers_again_after_invalidate"},
    "Racy": {"test_answers_from_several_threads"},
    "ShortSecret": {"test_keeps_its_secret"},
}


def test_the_contract_tells_broken_providers_from_good_ones(pytester):
    pytester.makepyfile(test_providers=PROVIDERS)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    outcomes: dict[tuple[str, str], str] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            _, cls, test = report.nodeid.split("::")
            outcomes[cls.removeprefix("Test"), test] = report.outcome
    failed = {
        cls: {
            test
            for (name, test), outcome in outcomes.items()
            if name == cls and outcome == "failed"
        }
        for cls in EXPECTED_FAILURES
    }
    assert failed == EXPECTED_FAILURES
    # Without entry_point, the entry-point check is skipped (with its reason), nothing else is.
    skipped = {key for key, outcome in outcomes.items() if outcome == "skipped"}
    assert skipped == {
        (cls, "test_is_installed_under_its_entry_point") for cls in EXPECTED_FAILURES
    }
    assert {test for _, test in outcomes} == set(CONTRACT)


def test_the_entry_point_check_fails_for_a_missing_or_broken_entry_point(pytester):
    pytester.makepyfile(
        test_entry=textwrap.dedent(
            """
            import pytest

            from registry_auth import StaticPasswordProvider
            from registry_auth.testing import ProviderContractTests


            class Base(ProviderContractTests):
                matching_reference = "registry.example.com/app"

                def make_provider(self):
                    return StaticPasswordProvider(
                        registry="registry.example.com", username="u", password="long-enough-pw"
                    )


            class TestMissing(Base):
                entry_point = "not-installed"


            class TestBroken(Base):
                entry_point = "broken"

                @pytest.fixture(autouse=True)
                def _broken(self, provider_entry_points):
                    provider_entry_points.register("broken", "no_such_module_anywhere:Provider")


            class TestOtherClass(Base):
                entry_point = "dockerhub"
                entry_point_options = {"username": "u", "password": "p"}


            class TestInstalled(Base):
                entry_point = "static"
                entry_point_options = {"registry": "x.example", "username": "u", "password": "p"}
            """
        )
    )
    # TestBroken uses provider_entry_points: the plugin is turned on as a user's suite does.
    recorder = pytester.inline_run(
        "-p", "no:cacheprovider", "-p", "registry_auth.testing", "-k", "entry_point"
    )
    outcomes = {
        report.nodeid.split("::")[1]: report.outcome
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.when == "call"
    }
    assert outcomes == {
        "TestMissing": "failed",
        "TestBroken": "failed",
        "TestOtherClass": "failed",
        "TestInstalled": "passed",
    }


def test_a_subclass_without_make_provider_says_what_is_missing(pytester):
    pytester.makepyfile(
        test_empty=textwrap.dedent(
            """
            from registry_auth.testing import ProviderContractTests


            class TestNothing(ProviderContractTests):
                matching_reference = "registry.example.com/app"
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "has_a_name")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*TestNothing must define make_provider() or a 'provider' fixture*"]
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            "ghcr.io/org/app:1.0",
            [
                "ghcr.io.evil.example/org/app:1.0",
                "evil.example/ghcr.io/org/app:1.0",
                "ghcr.io:5000/org/app:1.0",
                "ghcr.io:443/org/app:1.0",
            ],
        ),
        (
            "hubuser/hello",
            [
                "docker.io.evil.example/hubuser/hello",
                "evil.example/docker.io/hubuser/hello",
                "docker.io:5000/hubuser/hello",
                "docker.io:443/hubuser/hello",
            ],
        ),
        (
            "localhost:5000/team/app@sha256:" + "a" * 64,
            [
                "localhost.evil.example:5000/team/app@sha256:" + "a" * 64,
                "evil.example:5000/localhost/team/app@sha256:" + "a" * 64,
                "localhost/team/app@sha256:" + "a" * 64,
                "localhost:5001/team/app@sha256:" + "a" * 64,
            ],
        ),
        ("[::1]:5000/app", ["[::1]/app", "[::1]:5001/app"]),
    ],
)
def test_lookalike_references(reference, expected):
    found = lookalike_references(reference)
    assert [str(ref) for ref in found] == [str(ImageReference.parse(text)) for text in expected]
    assert all(ref.registry != ImageReference.parse(reference).registry for ref in found)
