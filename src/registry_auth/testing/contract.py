"""The contract every credential provider keeps, as tests a plugin author inherits.

Subclass :class:`ProviderContractTests` in your test suite, say how to build your provider and
which reference it answers for, and pytest runs the contract against it::

    from registry_auth.testing import ProviderContractTests

    class TestVaultProviderContract(ProviderContractTests):
        matching_reference = "registry.example.com/team/app:1.0"
        entry_point = "vault"                          # optional: check the installed entry point
        entry_point_options = {"url": "https://vault.example"}

        def make_provider(self):
            return VaultProvider(url="https://vault.example", token="a-distinctive-secret")

What it checks:

- the object satisfies :class:`~registry_auth.CredentialProvider` (and, if it has an
  ``invalidate`` method, :class:`~registry_auth.InvalidatingProvider`), and its ``name`` is a
  non-empty ``str``;
- for ``matching_reference`` it answers with :class:`~registry_auth.Credentials` whose
  ``registry`` is the reference's, with a non-empty username and a :class:`~registry_auth.Secret`;
- for foreign registries (``foreign_references`` and a few defaults) and for lookalikes of its
  own host (``<host>.evil.example``, ``evil.example/<host>/...``, the host on another port) it
  answers ``None``, without raising;
- the secret it hands out shows in no repr or str of the provider or the credentials, and in
  no log record emitted while it answers;
- after ``invalidate(ref)`` it still answers (a fresh fetch for providers that cache), and
  invalidating a foreign reference is harmless;
- several threads asking at once all get the same answer, and none fails;
- with ``entry_point`` set, the name is listed by :func:`~registry_auth.available_providers`
  without a load error and :func:`~registry_auth.load_provider` builds the same class.

``make_provider`` may use state prepared by fixtures of your class (an ``autouse`` fixture that
sets environment variables, starts a moto mock, installs a keyring backend); or override the
``provider`` fixture itself to build the provider from other fixtures. Use a distinctive secret
of at least eight characters, so that the leak checks mean something.
"""

# ruff: noqa: S101 - these are tests: assertions are how they fail

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

import pytest

from registry_auth._credentials import Credentials, Secret
from registry_auth._discovery import available_providers, load_provider
from registry_auth._provider import CredentialProvider, InvalidatingProvider
from registry_auth._reference import DOCKER_HUB, ImageReference

__all__ = ["DEFAULT_FOREIGN_REFERENCES", "ProviderContractTests", "lookalike_references"]

DEFAULT_FOREIGN_REFERENCES: Final = (
    "registry.invalid/team/app:1.0",
    "localhost:5999/team/app",
    "127.0.0.2:5000/team/app:1.0",
    "quay.io/someone/app",
    "library/ubuntu:22.04",
)
"""References no provider under test should answer for (those on its own registry excepted)."""

_THREADS: Final = 8
_CALLS_PER_THREAD: Final = 5
_THREAD_WAIT: Final = 60.0  # a guard against a deadlocked provider, not a timing assertion
_MIN_SECRET: Final = 8
_MAX_PORT: Final = 65535


def _split_host(registry: str) -> tuple[str, int | None]:
    """``host``, ``port`` of a registry name (IPv6 literals keep their brackets)."""
    if registry.startswith("["):
        end = registry.index("]")
        rest = registry[end + 1 :]
        return registry[: end + 1], int(rest[1:]) if rest.startswith(":") else None
    host, colon, port = registry.rpartition(":")
    if colon and port.isdigit():
        return host, int(port)
    return registry, None


def _parses(text: str) -> ImageReference | None:
    try:
        return ImageReference.parse(text)
    except ValueError:
        return None


def lookalike_references(reference: str | ImageReference) -> list[ImageReference]:
    """References that resemble ``reference`` but point at another registry.

    The same repository under ``<host>.evil.example``, under ``evil.example/<host>/``, and on
    other ports of the same host (another port, no port, ``:443``). Forms that are not valid
    references for this host (an IPv6 literal as a path component) are left out.
    """
    ref = ImageReference.parse(reference) if isinstance(reference, str) else reference
    host, port = _split_host(ref.registry)
    rest = str(ref)[len(ref.registry) + 1 :]  # "repository[:tag][@digest]"
    port_text = "" if port is None else f":{port}"
    candidates = [
        f"{host}.evil.example{port_text}/{rest}",
        f"evil.example{port_text}/{host}/{rest}",
    ]
    if port is None:
        candidates += [f"{host}:5000/{rest}", f"{host}:443/{rest}"]
    else:
        candidates += [f"{host}/{rest}", f"{host}:{port + 1 if port < _MAX_PORT else 1}/{rest}"]
    found: list[ImageReference] = []
    for text in candidates:
        parsed = _parses(text)
        if (
            parsed is not None
            and parsed.registry.lower() != ref.registry.lower()
            and parsed not in found
        ):
            found.append(parsed)
    return found


class _SecretWatch(logging.Handler):
    """Collects every log record's formatted text while it is attached to the root logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


class ProviderContractTests:
    """Tests every credential provider must pass; subclass it as ``Test...`` to run them.

    Set on the subclass:

    Attributes:
        matching_reference: a reference the provider answers for (required).
        foreign_references: more references it must not answer for, on top of
            :data:`DEFAULT_FOREIGN_REFERENCES` (those on its own registry are dropped from the
            defaults) and of the lookalikes of ``matching_reference``.
        expected_username: if set, the username its credentials must carry.
        entry_point: if set, the ``registry_auth.providers`` name the provider is installed
            under; the entry-point test is skipped otherwise.
        entry_point_options: the options ``load_provider(entry_point, **options)`` needs.

    And define :meth:`make_provider`, or override the ``provider`` fixture.
    """

    matching_reference: ClassVar[str]
    foreign_references: ClassVar[Sequence[str]] = ()
    expected_username: ClassVar[str | None] = None
    entry_point: ClassVar[str | None] = None
    entry_point_options: ClassVar[Mapping[str, Any]] = {}

    def make_provider(self) -> CredentialProvider:
        """Build the provider under test, ready to answer for :attr:`matching_reference`."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_provider() or a 'provider' fixture"
        )

    @pytest.fixture
    def provider(self) -> CredentialProvider:
        """The provider under test: :meth:`make_provider`'s."""
        return self.make_provider()

    # -- helpers -----------------------------------------------------------------------------

    @property
    def _matching(self) -> ImageReference:
        text = getattr(self, "matching_reference", None)
        if not isinstance(text, str):
            raise TypeError(f"{type(self).__name__}.matching_reference must be a reference str")
        return ImageReference.parse(text)

    def _foreign(self) -> list[ImageReference]:
        own = self._matching.registry.lower()
        refs = [ImageReference.parse(text) for text in DEFAULT_FOREIGN_REFERENCES]
        refs = [ref for ref in refs if ref.registry.lower() != own]
        for text in self.foreign_references:
            ref = ImageReference.parse(text)
            if ref.registry.lower() == own:
                raise ValueError(
                    f"foreign reference {text!r} is on the provider's own registry {own!r}"
                )
            refs.append(ref)
        return refs

    def _answer(self, provider: CredentialProvider) -> Credentials:
        ref = self._matching
        credentials = provider.get_credentials(ref)
        assert credentials is not None, f"{provider.name} gave no credentials for {ref}"
        return credentials

    # -- the contract ------------------------------------------------------------------------

    def test_satisfies_the_protocol(self, provider: CredentialProvider) -> None:
        """It is a CredentialProvider; with an ``invalidate`` method, an InvalidatingProvider."""
        assert isinstance(provider, CredentialProvider)
        if hasattr(provider, "invalidate"):
            assert isinstance(provider, InvalidatingProvider)
            assert callable(provider.invalidate)

    def test_has_a_name(self, provider: CredentialProvider) -> None:
        """Its name is a non-empty str without surrounding blanks."""
        assert isinstance(provider.name, str)
        assert provider.name
        assert provider.name == provider.name.strip()

    def test_answers_for_its_registry(self, provider: CredentialProvider) -> None:
        """It answers for the matching reference, with credentials for that very registry."""
        ref = self._matching
        credentials = self._answer(provider)
        assert isinstance(credentials, Credentials)
        assert credentials.registry == ref.registry
        assert isinstance(credentials.username, str)
        assert credentials.username
        assert isinstance(credentials.password, Secret)
        if self.expected_username is not None:
            assert credentials.username == self.expected_username
        if credentials.provider is not None:
            assert credentials.provider == provider.name
        if ref.registry == DOCKER_HUB:
            assert credentials.server_address == "https://index.docker.io/v1/"

    def test_ignores_foreign_registries(self, provider: CredentialProvider) -> None:
        """It answers None for references to other registries, and does not raise."""
        foreign = self._foreign()
        assert foreign, "no foreign reference to check"
        answered = {str(ref): provider.get_credentials(ref) for ref in foreign}
        leaked = sorted(text for text, credentials in answered.items() if credentials is not None)
        assert not leaked, f"{provider.name} answered for foreign references {leaked}"

    def test_ignores_lookalike_hosts(self, provider: CredentialProvider) -> None:
        """It answers None for its own host as a subdomain, a path, or on another port."""
        lookalikes = lookalike_references(self._matching)
        assert lookalikes, f"no lookalike of {self._matching} could be built"
        leaked = sorted(str(ref) for ref in lookalikes if provider.get_credentials(ref) is not None)
        assert not leaked, f"{provider.name} answered for lookalike references {leaked}"

    def test_keeps_its_secret(self, provider: CredentialProvider) -> None:
        """The secret shows in no repr, str or log record of the provider or its credentials."""
        watch = _SecretWatch()
        root = logging.getLogger()
        previous = root.level
        root.addHandler(watch)
        root.setLevel(logging.DEBUG)
        try:
            credentials = self._answer(provider)
            for ref in self._foreign():
                provider.get_credentials(ref)
        finally:
            root.removeHandler(watch)
            root.setLevel(previous)
        secrets = [credentials.password.reveal()]
        if credentials.identity_token is not None:
            secrets.append(credentials.identity_token.reveal())
        for secret in secrets:
            assert len(secret) >= _MIN_SECRET, (
                "give the provider under test a distinctive secret of at least "
                f"{_MIN_SECRET} characters, so that leaks can be seen"
            )
            shown = {
                "repr(provider)": repr(provider),
                "str(provider)": str(provider),
                "repr(credentials)": repr(credentials),
                "str(credentials)": str(credentials),
                "log records": "\n".join(watch.texts),
            }
            leaks = sorted(where for where, text in shown.items() if secret in text)
            assert not leaks, f"the secret shows in {', '.join(leaks)}"

    def test_answers_again_after_invalidate(self, provider: CredentialProvider) -> None:
        """After ``invalidate`` it answers anew; invalidating a foreign reference is harmless."""
        ref = self._matching
        first = self._answer(provider)
        if isinstance(provider, InvalidatingProvider):
            for foreign in self._foreign():
                provider.invalidate(foreign)
            assert provider.get_credentials(ref) == first
            provider.invalidate(ref)
            provider.invalidate(ref)  # twice in a row is fine too
        again = provider.get_credentials(ref)
        assert again is not None, f"{provider.name} stopped answering for {ref}"
        assert again.registry == ref.registry
        assert again.username == first.username

    def test_answers_from_several_threads(self, provider: CredentialProvider) -> None:
        """Threads asking at once all get the same credentials, and none raises."""
        ref = self._matching
        foreign = self._foreign()[0]
        barrier = threading.Barrier(_THREADS)
        answers: list[Credentials | None] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def work() -> None:
            try:
                barrier.wait(_THREAD_WAIT)
                for _ in range(_CALLS_PER_THREAD):
                    mine = provider.get_credentials(ref)
                    other = provider.get_credentials(foreign)
                    with lock:
                        answers.append(mine)
                        if other is not None:
                            errors.append(AssertionError(f"answered for {foreign}"))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_THREAD_WAIT)
        assert not any(thread.is_alive() for thread in threads), "a thread never finished"
        assert not errors, f"{len(errors)} thread(s) failed, first: {errors[0]!r}"
        assert len(answers) == _THREADS * _CALLS_PER_THREAD
        assert all(answer is not None for answer in answers)
        assert all(answer == answers[0] for answer in answers)

    def test_is_installed_under_its_entry_point(self, provider: CredentialProvider) -> None:
        """``entry_point`` is listed, loads cleanly, and builds the same class."""
        if self.entry_point is None:
            pytest.skip("set entry_point (and entry_point_options) to check the installed plugin")
        infos = [info for info in available_providers() if info.name == self.entry_point]
        assert infos, f"no provider named {self.entry_point!r} in the registry_auth.providers group"
        assert len(infos) == 1, f"{self.entry_point!r} is registered more than once: {infos}"
        assert infos[0].error is None, f"{self.entry_point!r} failed to load: {infos[0].error}"
        loaded = load_provider(self.entry_point, **self.entry_point_options)
        assert type(loaded) is type(provider)
        assert isinstance(loaded, CredentialProvider)
