"""The lab's stack fixtures without a stack: they skip, or fail when the run demands the stack."""

from __future__ import annotations

import pytest

from tests.lab import pytest_plugin
from tests.lab.stack import LocalStack, MissingComponentError

pytest_plugins = ["pytester"]

# The runs below load the lab's plugin as tests/conftest.py does for this project's tests.
LAB = ("-p", "no:cacheprovider", "-p", "tests.lab.pytest_plugin")

STACK_TESTS = """
def test_stack(local_stack):
    pass

def test_engine(docker_engine):
    pass

def test_registry(local_registry):
    pass
"""


@pytest.fixture
def no_root(monkeypatch):
    monkeypatch.delenv(pytest_plugin.REQUIRE_STACK_ENV, raising=False)
    monkeypatch.setattr(pytest_plugin, "_missing_root", lambda: "it needs root, says the test")

    def start(self):
        raise AssertionError("the stack must not be started without root")

    monkeypatch.setattr(LocalStack, "start", start)


@pytest.fixture
def no_registry_binary(monkeypatch):
    monkeypatch.delenv(pytest_plugin.REQUIRE_STACK_ENV, raising=False)
    monkeypatch.setattr(pytest_plugin, "_missing_root", lambda: None)
    started = []

    def start(self):
        started.append(self)
        raise MissingComponentError("docker-registry", package="docker-registry")

    monkeypatch.setattr(LocalStack, "start", start)
    return started


def _skip_reasons(recorder):
    return {
        report.nodeid.split("::")[-1]: report.longrepr[2]
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.skipped
    }


def test_stack_fixtures_skip_without_root_and_say_why(pytester, no_root):
    pytester.makepyfile(test_stack=STACK_TESTS)
    recorder = pytester.inline_run(*LAB)
    recorder.assertoutcome(skipped=3)
    reasons = _skip_reasons(recorder)
    assert set(reasons) == {"test_stack", "test_engine", "test_registry"}
    for reason in reasons.values():
        assert "it needs root, says the test" in reason
        assert "--registry-auth-require-stack" in reason


def test_stack_fixtures_skip_without_a_program_and_name_its_package(pytester, no_registry_binary):
    pytester.makepyfile(test_stack=STACK_TESTS)
    recorder = pytester.inline_run(*LAB)
    recorder.assertoutcome(skipped=3)
    assert len(no_registry_binary) == 1  # one attempt per session, not one per test
    for reason in _skip_reasons(recorder).values():
        assert "docker-registry not found" in reason
        assert "apt-get install docker-registry" in reason


@pytest.mark.parametrize(
    "how",
    ["option", "environment", "ini"],
)
def test_a_required_stack_fails_instead(pytester, no_registry_binary, monkeypatch, how):
    pytester.makepyfile(test_stack=STACK_TESTS)
    args = list(LAB)
    if how == "option":
        args.append("--registry-auth-require-stack")
    elif how == "environment":
        monkeypatch.setenv("REGISTRY_AUTH_REQUIRE_STACK", "1")
    else:
        pytester.makeini("[pytest]\nregistry_auth_require_stack = true\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        ["*registry-auth's local stack is required but unavailable: docker-registry not found*"]
    )


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_a_false_environment_switch_still_skips(pytester, no_root, monkeypatch, value):
    monkeypatch.setenv("REGISTRY_AUTH_REQUIRE_STACK", value)
    pytester.makepyfile(test_stack=STACK_TESTS)
    pytester.inline_run(*LAB).assertoutcome(skipped=3)


def test_tests_without_the_stack_fixtures_never_start_it(pytester, no_root):
    pytester.makepyfile(
        test_plain="""
        def test_plain(fake_docker, static_provider, frozen_clock, provider_entry_points):
            pass
        """
    )
    pytester.inline_run(
        *LAB, "-p", "registry_auth.testing", "--registry-auth-require-stack"
    ).assertoutcome(passed=1)
