"""The lab's stack fixtures without a stack: they fail, and say what is missing."""

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
    monkeypatch.setattr(pytest_plugin, "_missing_root", lambda: "it needs root, says the test")

    def start(self):
        raise AssertionError("the stack must not be started without root")

    monkeypatch.setattr(LocalStack, "start", start)


@pytest.fixture
def no_registry_binary(monkeypatch):
    monkeypatch.setattr(pytest_plugin, "_missing_root", lambda: None)
    started = []

    def start(self):
        started.append(self)
        raise MissingComponentError("docker-registry", package="docker-registry")

    monkeypatch.setattr(LocalStack, "start", start)
    return started


def test_stack_fixtures_fail_without_root_and_say_why(pytester, no_root):
    pytester.makepyfile(test_stack=STACK_TESTS)
    result = pytester.runpytest(*LAB)
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        ["*registry-auth's local stack is unavailable: it needs root, says the test*"]
    )


def test_stack_fixtures_fail_without_a_program_and_name_its_package(pytester, no_registry_binary):
    pytester.makepyfile(test_stack=STACK_TESTS)
    result = pytester.runpytest_inprocess(*LAB)
    result.assert_outcomes(errors=3)
    assert len(no_registry_binary) == 1  # one attempt per session, not one per test
    result.stdout.fnmatch_lines(
        ["*registry-auth's local stack is unavailable: docker-registry not found*"]
    )
    assert "apt-get install docker-registry" in result.stdout.str()


def test_tests_without_the_stack_fixtures_never_start_it(pytester, no_root):
    pytester.makepyfile(
        test_plain="""
        def test_plain(fake_docker, static_provider, frozen_clock, provider_entry_points):
            pass
        """
    )
    pytester.inline_run(*LAB, "-p", "registry_auth.testing").assertoutcome(passed=1)
