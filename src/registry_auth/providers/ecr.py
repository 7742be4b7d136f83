"""Amazon ECR: registry tokens from ``GetAuthorizationToken``, cached and refreshed.

Private registries are named ``<account>.dkr.ecr[-fips].<region>.<suffix>`` (or the dual-stack
``<account>.dkr-ecr[-fips].<region>.on.aws``); :func:`parse_ecr_host` reads such a name and
refuses everything else, lookalikes included. :class:`EcrProvider` answers for those hosts and
for ECR Public (``public.ecr.aws``) with a 12-hour token, asked for in the registry's own region
and account (so cross-account pulls work), kept in a :class:`~registry_auth._cache.TokenCache`
and refreshed at half its lifetime.

boto3 is imported only when a token is fetched: importing this module costs nothing when ECR is
not used. It comes with the ``registry-auth[ecr]`` extra.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import functools
import importlib.util
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from registry_auth._cache import CacheKey, Clock, TokenCache, identity_digest
from registry_auth._credentials import Credentials
from registry_auth._errors import (
    ConfigurationError,
    ProviderError,
    RegistryAuthError,
    TokenFetchError,
)
from registry_auth.matching import RegistryPattern

if TYPE_CHECKING:
    import logging

    import boto3.session

    from registry_auth._options import OptionTypes
    from registry_auth._reference import ImageReference

__all__ = ["ClientFactory", "EcrHost", "EcrProvider", "EcrSettings", "parse_ecr_host"]

ClientFactory = Callable[[str, str, bool], Any]
"""Builds an AWS client: ``factory(service_name, region, fips) -> client``.

``service_name`` is ``ecr`` or ``ecr-public``; the client needs only a boto3-compatible
``get_authorization_token(**params)`` method.
"""


def _logger() -> logging.Logger:
    # Only a token fetch logs, and botocore imports logging then anyway: a lookup answered
    # from the token cache never does.
    import logging  # noqa: PLC0415

    return logging.getLogger("registry_auth.providers.ecr")


_PROVIDER_NAME: Final = "ecr"
_EXTRA_HINT: Final = "install it with: pip install 'registry-auth[ecr]'"
_PUBLIC_HOSTS: Final = {"public.ecr.aws": False, "ecr-public.aws.com": True}  # host -> dual-stack
_PUBLIC_REGION: Final = "us-east-1"
_TOKEN_LIFETIME: Final = dt.timedelta(hours=12)
_DEFAULT_SESSION_NAME: Final = "registry-auth"

# Which DNS suffixes each partition serves ECR under: (IPv4-only "dkr.ecr", dual-stack
# "dkr-ecr"), keyed by the region-name prefix that selects the partition. Regions with no
# special prefix (commercial and GovCloud) use the last row.
_PARTITION_SUFFIXES: Final[tuple[tuple[str, frozenset[str], frozenset[str]], ...]] = (
    ("cn-", frozenset({"amazonaws.com.cn"}), frozenset({"on.amazonwebservices.com.cn"})),
    ("eusc-", frozenset({"amazonaws.eu"}), frozenset()),
    ("us-iso-", frozenset({"c2s.ic.gov"}), frozenset()),
    ("us-isob-", frozenset({"sc2s.sgov.gov"}), frozenset()),
    ("eu-isoe-", frozenset({"cloud.adc-e.uk"}), frozenset()),
    ("us-isof-", frozenset({"csp.hci.ic.gov"}), frozenset()),
    ("", frozenset({"amazonaws.com"}), frozenset({"on.aws"})),
)
_ALL_SUFFIXES: Final = sorted(
    {suffix for _, ipv4, dual in _PARTITION_SUFFIXES for suffix in ipv4 | dual},
    key=len,
    reverse=True,
)
_PRIVATE_HOST_RE: Final = re.compile(
    r"(?P<id>[0-9]{12})\.(?P<kind>dkr\.ecr|dkr-ecr)(?P<fips>-fips)?\."
    r"(?P<region>[a-z]{2,}(?:-[a-z]+)+-[0-9]+)\."
    rf"(?P<suffix>{'|'.join(re.escape(s) for s in _ALL_SUFFIXES)})",
    re.ASCII,
)
_ACCOUNT_RE: Final = re.compile(r"[0-9]{12}", re.ASCII)
_ROLE_ARN_RE: Final = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+", re.ASCII)
_SESSION_NAME_RE: Final = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


@attrs.frozen(kw_only=True)
class EcrHost:
    """What an ECR registry host says about itself.

    Attributes:
        host: the host name, lowercased (``123456789012.dkr.ecr.eu-west-1.amazonaws.com``).
        registry_id: the 12-digit account id of a private registry; None for ECR Public.
        region: the region of a private registry; None for ECR Public.
        fips: whether the host is a FIPS endpoint (``dkr.ecr-fips``, ``dkr-ecr-fips``).
        dual_stack: whether the host answers over IPv6 too (``dkr-ecr...on.aws``,
            ``ecr-public.aws.com``).
        public: whether this is ECR Public.
        dns_suffix: the partition's DNS suffix (``amazonaws.com``, ``amazonaws.com.cn``,
            ``on.aws``...); None for ECR Public.
    """

    host: str
    registry_id: str | None
    region: str | None
    fips: bool = False
    dual_stack: bool = False
    public: bool = False
    dns_suffix: str | None = None

    @property
    def api_region(self) -> str:
        """The region whose API issues tokens for this registry (``us-east-1`` for Public)."""
        return self.region if self.region is not None else _PUBLIC_REGION


def _host_of(text: str) -> str | None:
    """The host of a bare host, ``host/path`` or ``https://host/path``; None if malformed."""
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if sep:
        if scheme.lower() not in {"http", "https"}:
            return None
        rest = after
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not authority or "@" in authority or ":" in authority or "\\" in authority:
        return None  # user info (``ecr-host@evil``), a port, or an IPv6 literal: not ECR
    return authority


def parse_ecr_host(host: str) -> EcrHost | None:
    """Read an ECR registry host; None for anything that is not exactly one.

    ``host`` may be a bare host, ``host/path``, or a URL with ``http(s)://`` and a path. The
    match is anchored at both ends and case-insensitive; a port, user info, a trailing dot or
    a non-ASCII character makes the host not ECR, and so does a suffix that does not belong to
    the region's partition (``cn-north-1`` is served under ``amazonaws.com.cn`` only).

    >>> parse_ecr_host("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/team/app")
    EcrHost(host='123456789012.dkr.ecr.eu-west-1.amazonaws.com', registry_id='123456789012', region='eu-west-1', fips=False, dual_stack=False, public=False, dns_suffix='amazonaws.com')
    >>> parse_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example") is None
    True
    >>> parse_ecr_host("public.ecr.aws").public
    True
    """  # noqa: E501 - a doctest line cannot wrap
    if not isinstance(host, str):
        raise TypeError(f"parse_ecr_host takes a str, not {type(host).__name__}")
    return _parse_ecr_host(host)


@functools.lru_cache(maxsize=256)
def _parse_ecr_host(host: str) -> EcrHost | None:
    """parse_ecr_host(), remembered: a process meets few hosts, and asks about them often."""
    raw = _host_of(host)
    if raw is None or not raw.isascii():
        # Non-ASCII first: str.lower() folds some lookalikes (KELVIN SIGN) into ASCII letters.
        return None
    name = raw.lower()
    if name in _PUBLIC_HOSTS:
        return EcrHost(
            host=name, registry_id=None, region=None, dual_stack=_PUBLIC_HOSTS[name], public=True
        )
    match = _PRIVATE_HOST_RE.fullmatch(name)
    if match is None:
        return None
    region, suffix = match["region"], match["suffix"]
    dual_stack = match["kind"] == "dkr-ecr"
    for prefix, ipv4_suffixes, dual_suffixes in _PARTITION_SUFFIXES:
        if region.startswith(prefix):
            if suffix not in (dual_suffixes if dual_stack else ipv4_suffixes):
                return None
            break
    return EcrHost(
        host=name,
        registry_id=match["id"],
        region=region,
        fips=match["fips"] is not None,
        dual_stack=dual_stack,
        public=False,
        dns_suffix=suffix,
    )


# --- settings -------------------------------------------------------------------------------


def _mask(value: str | None) -> str | None:
    return None if value is None else "********"


def _masked_repr(value: str | None) -> str:
    return repr(_mask(value))


@attrs.frozen(kw_only=True)
class EcrSettings:
    """How to obtain AWS credentials for some registries. Unset fields inherit the defaults.

    Attributes:
        profile: the AWS profile (from ``~/.aws/config``) to sign the request with.
        role_arn: a role to assume (STS ``AssumeRole``) before asking ECR.
        role_session_name: the session name for the assumed role (``registry-auth``).
        external_id: the external id the role's trust policy requires, if any.
    """

    profile: str | None = None
    role_arn: str | None = None
    role_session_name: str | None = None
    external_id: str | None = attrs.field(default=None, repr=_masked_repr)

    def __attrs_post_init__(self) -> None:
        if self.profile is not None and not self.profile.strip():
            raise ConfigurationError("ecr: the profile name is empty", provider=_PROVIDER_NAME)
        if self.role_arn is not None and not _ROLE_ARN_RE.fullmatch(self.role_arn):
            raise ConfigurationError(
                f"ecr: role_arn {self.role_arn!r} is not an IAM role ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>)",
                provider=_PROVIDER_NAME,
            )
        if self.role_session_name is not None and not _SESSION_NAME_RE.fullmatch(
            self.role_session_name
        ):
            raise ConfigurationError(
                f"ecr: role_session_name {self.role_session_name!r} must be 2 to 64 letters, "
                "digits or any of + = , . @ - _",
                provider=_PROVIDER_NAME,
            )
        if self.external_id is not None and not 2 <= len(self.external_id) <= 1224:  # noqa: PLR2004 - STS limits
            raise ConfigurationError(
                "ecr: external_id must be 2 to 1224 characters long", provider=_PROVIDER_NAME
            )
        if self.role_arn is None and (
            self.role_session_name is not None or self.external_id is not None
        ):
            raise ConfigurationError(
                "ecr: role_session_name and external_id need a role_arn", provider=_PROVIDER_NAME
            )

    @classmethod
    def coerce(cls, value: EcrSettings | Mapping[str, Any], *, where: str) -> EcrSettings:
        """Build settings from an instance or a mapping (as read from a configuration file).

        Raises:
            ConfigurationError: an unknown key or a value of the wrong type; ``where`` names
                the place in the message.
        """
        if isinstance(value, EcrSettings):
            return value
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"ecr: the settings for {where} must be a table of options, "
                f"not {type(value).__name__}",
                provider=_PROVIDER_NAME,
            )
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigurationError(
                f"ecr: unknown option(s) {', '.join(map(repr, unknown))} for {where}; "
                f"known: {', '.join(sorted(known))}",
                provider=_PROVIDER_NAME,
            )
        for key, item in value.items():
            if item is not None and not isinstance(item, str):
                raise ConfigurationError(
                    f"ecr: option {key!r} for {where} must be a string", provider=_PROVIDER_NAME
                )
        return cls(**value)

    def over(self, defaults: EcrSettings) -> EcrSettings:
        """These settings, with unset fields taken from ``defaults``."""
        if self.role_arn is not None and defaults.role_arn != self.role_arn:
            # A different role: its session name and external id are not inherited.
            inherit_role = False
        else:
            inherit_role = True
        return EcrSettings(
            profile=self.profile if self.profile is not None else defaults.profile,
            role_arn=self.role_arn if self.role_arn is not None else defaults.role_arn,
            role_session_name=(
                self.role_session_name
                if self.role_session_name is not None or not inherit_role
                else defaults.role_session_name
            ),
            external_id=(
                self.external_id
                if self.external_id is not None or not inherit_role
                else defaults.external_id
            ),
        )


def _host_pattern(text: str) -> RegistryPattern:
    """A host pattern for per-registry settings: globs allowed, no scheme, port or path."""
    try:
        pattern = RegistryPattern.parse(text)
    except ConfigurationError:
        pattern = None
    if pattern is None or pattern.port is not None or pattern.path or "/" in text or ":" in text:
        raise ConfigurationError(
            f"ecr: registry pattern {text!r} must be a host name whose labels may use "
            "globs, as in '*.dkr.ecr.*.amazonaws.com' (no scheme, port or path)",
            provider=_PROVIDER_NAME,
        )
    return pattern


# --- registries under other names, and which patterns could be ECR ---------------------------

_REGION_RE: Final = re.compile(r"[a-z]{2,}(?:-[a-z]+)+-[0-9]+", re.ASCII)


@attrs.frozen(kw_only=True)
class _Alias:
    """A private registry reached under a name of its own (a VPC endpoint, a DNS alias)."""

    pattern: RegistryPattern
    registry_id: str
    region: str


def _alias(registry: str | None, registry_id: str | None, region: str | None) -> _Alias | None:
    if registry is None and registry_id is None and region is None:
        return None
    if registry is None or registry_id is None or region is None:
        given = [
            name
            for name, value in (
                ("registry", registry),
                ("registry_id", registry_id),
                ("region", region),
            )
            if value is not None
        ]
        raise ConfigurationError(
            f"ecr: {' and '.join(given)} given alone: a registry reached under another name "
            "needs registry (the host), registry_id and region together",
            provider=_PROVIDER_NAME,
        )
    # The values may come from a configuration file: check their types as well.
    if not _fullmatch(_ACCOUNT_RE, registry_id):
        raise ConfigurationError(
            f"ecr: registry_id must be a 12-digit account id, not {registry_id!r}",
            provider=_PROVIDER_NAME,
        )
    if not _fullmatch(_REGION_RE, region):
        raise ConfigurationError(
            f"ecr: region {region!r} is not an AWS region name (such as eu-west-1)",
            provider=_PROVIDER_NAME,
        )
    if not _fullmatch(_ANY_RE, registry):
        raise ConfigurationError(
            f"ecr: registry must be a host name, not {type(registry).__name__}",
            provider=_PROVIDER_NAME,
        )
    # A path (a config key such as "ecr.internal.example.com/team") is the route's business:
    # the alias is the host.
    return _Alias(pattern=RegistryPattern.parse(registry), registry_id=registry_id, region=region)


def _fullmatch(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


_ANY_RE: Final = re.compile(r".+", re.DOTALL)


def _ecr_templates() -> tuple[tuple[str, ...], ...]:
    """The label shapes of ECR hosts; ``{id}`` and ``{region}`` stand for variable labels."""
    ipv4_kinds = (("dkr", "ecr"), ("dkr", "ecr-fips"))
    dual_kinds = (("dkr-ecr",), ("dkr-ecr-fips",))
    return tuple(
        ("{id}", *kind, "{region}", *suffix.split("."))
        for _prefix, ipv4, dual in _PARTITION_SUFFIXES
        for suffixes, kinds in ((ipv4, ipv4_kinds), (dual, dual_kinds))
        for suffix in sorted(suffixes)
        for kind in kinds
    )


_ECR_TEMPLATES: Final = _ecr_templates()
_VARIABLE_LABELS: Final = {"{id}": _ACCOUNT_RE, "{region}": _REGION_RE}


def _label_fits(glob: str, template: str) -> bool:
    variable = _VARIABLE_LABELS.get(template)
    if variable is None:
        return fnmatch.fnmatchcase(template, glob)
    return any(ch in glob for ch in "*?[") or variable.fullmatch(glob) is not None


def _could_be_ecr(pattern: RegistryPattern, *, public: bool) -> bool:
    """Whether ``pattern`` matches some ECR host (judged label by label, globs included)."""
    if pattern.port is not None:
        return False  # ECR hosts are never named with a port
    if public and any(pattern.matches_registry(host) for host in _PUBLIC_HOSTS):
        return True
    labels = pattern.labels
    return any(
        len(template) == len(labels)
        and all(_label_fits(glob, label) for glob, label in zip(labels, template, strict=True))
        for template in _ECR_TEMPLATES
    )


# --- the provider ---------------------------------------------------------------------------


_TOKEN_IN_LOG_RE: Final = re.compile(
    r"""(authorizationToken['"]?\s*[:=]\s*['"]?)[A-Za-z0-9+/=_-]+"""
)
# botocore loggers that write whole AWS answers (the token included) at DEBUG.
_BOTOCORE_BODY_LOGGERS: Final = ("botocore.parsers", "botocore.endpoint", "botocore.hooks")


class _TokenLogFilter:
    """Masks ECR tokens in botocore's DEBUG records of whole AWS answers.

    A logging filter is any object with this ``filter`` method: no ``logging.Filter`` base,
    so that importing this module does not import logging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is left to logging
            return True
        if "authorizationToken" in message:
            record.msg = _TOKEN_IN_LOG_RE.sub(r"\1********", message)
            record.args = None
        return True


_TOKEN_LOG_FILTER: Final = _TokenLogFilter()


def _mask_tokens_in_botocore_logs() -> None:
    """Keep ECR tokens out of botocore's DEBUG logging of response bodies (idempotent)."""
    import logging  # noqa: PLC0415 - with boto3, which imports it anyway

    for name in _BOTOCORE_BODY_LOGGERS:
        target = logging.getLogger(name)
        if _TOKEN_LOG_FILTER not in target.filters:
            target.addFilter(_TOKEN_LOG_FILTER)


def _load_boto3() -> tuple[Any, Any]:
    """Import boto3 and botocore's Config, or say which extra to install."""
    try:
        import boto3  # noqa: PLC0415 - imported on first use, see the module docstring
        from botocore.config import Config  # noqa: PLC0415
    except ImportError as exc:
        raise ProviderError(
            f"the ecr provider needs boto3, which is not installed; {_EXTRA_HINT}",
            provider=_PROVIDER_NAME,
        ) from exc
    _mask_tokens_in_botocore_logs()
    return boto3, Config


# botocore's exceptions for "no credentials anywhere" and "a profile that is not there".
_CREDENTIAL_ERRORS: Final = frozenset({"NoCredentialsError", "PartialCredentialsError"})
_PROFILE_ERRORS: Final = frozenset({"ProfileNotFound"})
# botocore's exceptions that carry the URL they could not reach as ``kwargs["endpoint_url"]``.
_ENDPOINT_ERRORS: Final = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "SSLError",
        "ProxyConnectionError",
    }
)


@attrs.frozen(kw_only=True)
class _AwsCall:
    """Where an AWS call went and how it was signed: what an error message should say."""

    service: str
    region: str
    endpoint_url: str | None
    profile: str | None
    factory: bool


def _without_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _credential_chain(profile: str | None, environ: Mapping[str, str]) -> str:
    """Where botocore's default credential chain looks, in its order, as set up here."""
    credentials_file = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config_file = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    named = profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    # botocore skips the environment variables when a profile is named in code (here, by the
    # provider's options), and not when it comes from AWS_PROFILE.
    if profile is None:
        places = [
            "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN)",
        ]
    else:
        places = []
    places += [
        "the profile's role_arn, web identity, SSO and credential_process settings",
        f"the shared credentials file {credentials_file}",
        f"the config file {config_file}",
        "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)",
    ]
    metadata_off = environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
    places.append(
        "the instance metadata service"
        + (" (switched off by AWS_EC2_METADATA_DISABLED)" if metadata_off else "")
    )
    return f"profile {named or 'default'!r}; looked in " + ", ".join(places)


def _describe_aws_error(exc: BaseException, call: _AwsCall | None = None) -> str:
    """Say what failed and where, naming the AWS failure by class (and error code).

    AWS's own message is never quoted: it may name users, keys or policies.
    """
    kind = type(exc).__name__
    if call is None or call.factory:  # a client factory's own settings are not known here
        where = f" ({call.service} in {call.region})" if call is not None else ""
        return _error_name(exc) + where
    if kind in _CREDENTIAL_ERRORS:
        return f"{kind}: no AWS credentials found ({_credential_chain(call.profile, os.environ)})"
    if kind in _PROFILE_ERRORS:
        return (
            f"{kind}: the AWS profile {call.profile or os.environ.get('AWS_PROFILE')!r} is not "
            f"in {os.environ.get('AWS_CONFIG_FILE') or '~/.aws/config'} or "
            f"{os.environ.get('AWS_SHARED_CREDENTIALS_FILE') or '~/.aws/credentials'}"
        )
    details = getattr(exc, "kwargs", None)
    url = details.get("endpoint_url") if isinstance(details, Mapping) else None
    if not isinstance(url, str):
        url = call.endpoint_url
    asking = f"{call.service} in region {call.region}"
    if url:
        asking = f"{_without_userinfo(url)} ({asking})"
    if kind in _ENDPOINT_ERRORS:
        return f"{kind}: could not reach {asking}"
    return f"{_error_name(exc)} from {asking}"


def _error_name(exc: BaseException) -> str:
    """The class of an AWS failure, and the error code AWS answered with, if any."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error")
        code = error.get("Code") if isinstance(error, Mapping) else None
        if isinstance(code, str) and code:
            return f"{type(exc).__name__} {code}"
    return type(exc).__name__


class EcrProvider:
    """Credentials for Amazon ECR registries (private and Public), fetched and refreshed.

    For a private registry it calls ``GetAuthorizationToken`` with the registry's account id,
    in the registry's region, on the FIPS endpoint for FIPS hosts; for ECR Public it calls the
    ``ecr-public`` API in ``us-east-1``. Tokens are cached (per registry host and AWS identity)
    until half their lifetime, and a cached token is served if a refresh fails before it
    expires. It never answers for a host that is not exactly an ECR host.

    All arguments are keyword-only.

    Args:
        profile: the AWS profile to use (default: boto3's usual credential chain).
        role_arn: a role to assume before asking ECR (for instance the pulling role of another
            account); ``role_session_name`` and ``external_id`` go with it.
        registries: settings per registry host or host glob, each an :class:`EcrSettings` or
            a mapping of its fields; unset fields inherit the top-level ones. Exact hosts win
            over globs, globs with fewer wildcard labels over others, then the first listed::

                registries={"123456789012.dkr.ecr.*.amazonaws.com": {"profile": "prod"},
                            "*.dkr.ecr.eu-west-1.amazonaws.com": {"role_arn": "arn:aws:..."}}

        registry_ids: if given, answer only for private registries of these accounts.
        registry: a host (``host[:port]``, globs allowed) under which a private registry is
            reached by another name than its own: a VPC interface endpoint or a private DNS
            alias such as ``ecr.internal.example.com``. Give ``registry_id`` and ``region``
            with it; the provider then answers for that host with the token of registry
            ``registry_id`` in ``region`` (and still for ECR hosts by their own names).
        registry_id: the 12-digit account id of the registry behind ``registry``.
        region: the region of the registry behind ``registry``.
        public: whether to answer for ECR Public (``public.ecr.aws``); True by default.
        session: a boto3 session to use instead of a new one (for registries without a
            profile of their own).
        client_factory: builds the AWS clients instead of boto3, as
            ``factory(service_name, region, fips)``; profiles and roles are then the factory's
            business.
        endpoint_url: send every AWS call (ECR, ECR Public, STS) to this URL, for local
            emulators such as moto.
        timeout: seconds to wait to connect to, and then for an answer from, AWS.
        max_attempts: attempts per AWS call, retries included (botocore's standard mode).
        cache: where tokens are kept; a new :class:`TokenCache` by default.
        cache_dir: a directory for that new cache to persist tokens in, so that short-lived
            processes (a CLI, a credential helper) share them; memory only when None.
        clock: the clock of that new cache (only when ``cache`` is not given).

    Raises:
        ConfigurationError: an option is invalid, or boto3 is missing and no
            ``client_factory`` is given (the message names the ``registry-auth[ecr]`` extra).
    """

    # What a configuration file may set (session, client_factory, cache and clock are for code).
    config_options: ClassVar[OptionTypes] = {
        "profile": "string",
        "role_arn": "string",
        "role_session_name": "string",
        "external_id": "string",
        "registries": "table",
        "registry_ids": ("string", "strings"),
        "public": "boolean",
        "endpoint_url": "string",
        "timeout": "number",
        "max_attempts": "integer",
        "cache_dir": "string",
    }

    def __init__(
        self,
        *,
        profile: str | None = None,
        role_arn: str | None = None,
        role_session_name: str | None = None,
        external_id: str | None = None,
        registries: Mapping[str, EcrSettings | Mapping[str, Any]] | None = None,
        registry_ids: Iterable[str] | None = None,
        registry: str | None = None,
        registry_id: str | None = None,
        region: str | None = None,
        public: bool = True,
        session: boto3.session.Session | None = None,
        client_factory: ClientFactory | None = None,
        endpoint_url: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 3,
        cache: TokenCache | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._defaults = EcrSettings(
            profile=profile,
            role_arn=role_arn,
            role_session_name=role_session_name,
            external_id=external_id,
        )
        self._registries: tuple[tuple[RegistryPattern, EcrSettings], ...] = tuple(
            (_host_pattern(pattern), EcrSettings.coerce(value, where=repr(pattern)))
            for pattern, value in (registries or {}).items()
        )
        if isinstance(registry_ids, str):
            registry_ids = [registry_ids]
        ids: frozenset[str] | None = None
        if registry_ids is not None:
            given: list[object] = list(registry_ids)
            bad = [i for i in given if not (isinstance(i, str) and _ACCOUNT_RE.fullmatch(i))]
            if bad:
                raise ConfigurationError(
                    f"ecr: registry_ids must be 12-digit account ids, not {bad!r}",
                    provider=_PROVIDER_NAME,
                )
            ids = frozenset(str(i) for i in given)
        self._registry_ids = ids
        self._alias = _alias(registry, registry_id, region)
        self._public = public
        if session is not None and client_factory is not None:
            raise ConfigurationError(
                "ecr: give a session or a client_factory, not both", provider=_PROVIDER_NAME
            )
        if client_factory is None and importlib.util.find_spec("boto3") is None:
            raise ConfigurationError(
                f"the ecr provider needs boto3, which is not installed; {_EXTRA_HINT}",
                provider=_PROVIDER_NAME,
            )
        self._session = session
        self._client_factory = client_factory
        self._endpoint_url = endpoint_url
        if not timeout > 0:
            raise ConfigurationError("ecr: timeout must be positive", provider=_PROVIDER_NAME)
        if max_attempts < 1:
            raise ConfigurationError(
                "ecr: max_attempts must be at least 1", provider=_PROVIDER_NAME
            )
        self._timeout = timeout
        self._max_attempts = max_attempts
        if cache is not None and (clock is not None or cache_dir is not None):
            raise ConfigurationError(
                "ecr: give the clock and the directory to the TokenCache, not to the provider, "
                "when passing a cache",
                provider=_PROVIDER_NAME,
            )
        self._cache = cache if cache is not None else TokenCache(path=cache_dir, clock=clock)
        self._boto_lock = threading.Lock()  # boto3 sessions are not thread-safe

    @property
    def name(self) -> str:
        """The provider's name: ``ecr``."""
        return _PROVIDER_NAME

    @property
    def cache(self) -> TokenCache:
        """The token cache in use."""
        return self._cache

    def settings_for(self, host: str) -> EcrSettings:
        """The settings that apply to registry ``host`` (defaults merged with a match)."""
        candidates = [
            (pattern.globs, index, settings)
            for index, (pattern, settings) in enumerate(self._registries)
            if pattern.matches_registry(host)
        ]
        if not candidates:
            return self._defaults
        _, _, settings = min(candidates, key=lambda item: (item[0], item[1]))
        return settings.over(self._defaults)

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """A token for ``ref``'s registry if it is an ECR registry this provider serves.

        Raises:
            TokenFetchError: AWS could not be asked, or refused, and no valid token is cached.
            ProviderError: boto3 is not installed.
        """
        target = self._target(ref)
        if target is None:
            return None
        host, settings, key = target
        credentials = self._cache.get_or_fetch(key, lambda: self._fetch(host, settings))
        if credentials.registry != host.host:  # pragma: no cover - guarded by the cache key
            raise TokenFetchError(
                f"the cached token is for {credentials.registry}, not {host.host}",
                registry=ref.registry,
                provider=_PROVIDER_NAME,
            )
        if credentials.registry == ref.registry:
            return credentials  # what evolve() would build: the same values
        return attrs.evolve(credentials, registry=ref.registry)

    def fresh_until(self, ref: ImageReference) -> dt.datetime | None:
        """When the token cached for ``ref``'s registry stops being fresh.

        None when no fresh token is cached (none yet, or it is due for a refresh). The result is
        the time the token cache itself would ask AWS again, or, for a token with no expiry,
        ``datetime.max`` in UTC.
        """
        target = self._target(ref)
        if target is None:
            return None
        entry = self._cache.peek(target[2])
        if entry is None or not entry.is_fresh(self._cache.now()):
            return None
        if entry.refresh_at is None:
            return dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        return entry.refresh_at

    def invalidate(self, ref: ImageReference) -> None:
        """Forget the cached token for ``ref``'s registry (the registry rejected it)."""
        target = self._target(ref)
        if target is not None:
            self._cache.invalidate(target[2])

    def serves(self, pattern: RegistryPattern) -> bool | None:
        """Whether some registry under ``pattern`` is one this provider could answer for.

        False for a pattern that matches no ECR host and not the ``registry`` alias (``docker.io``,
        ``quay.io``); None when that cannot be told (an alias with globs).
        """
        if self._alias is not None:
            answer = self._alias.pattern.overlaps(pattern)
            if answer is not False:
                return answer
        return _could_be_ecr(pattern, public=self._public)

    def _target(self, ref: ImageReference) -> tuple[EcrHost, EcrSettings, CacheKey] | None:
        host = self._alias_host(ref.registry)
        if host is None:
            host = parse_ecr_host(ref.registry)
            if host is None:
                return None
            if host.public:
                if not self._public:
                    return None
            elif self._registry_ids is not None and host.registry_id not in self._registry_ids:
                return None
        settings = self.settings_for(host.host)
        key = CacheKey(
            provider=_PROVIDER_NAME, registry=host.host, identity=self._identity(settings)
        )
        return host, settings, key

    def _alias_host(self, registry: str) -> EcrHost | None:
        """The registry behind ``registry`` if it is this provider's alias, else None."""
        alias = self._alias
        if alias is None or not alias.pattern.matches_registry(registry):
            return None
        return EcrHost(host=registry.lower(), registry_id=alias.registry_id, region=alias.region)

    def _identity(self, settings: EcrSettings) -> str:
        """A digest of who signs the token request: profile, access key id, role."""
        if self._client_factory is not None:
            # The factory's credentials are unknown: never share its tokens with anyone else.
            return identity_digest("client-factory", str(id(self._client_factory)))
        env = os.environ
        who: tuple[str, ...]
        if settings.profile is not None:
            who = ("profile", settings.profile)
        elif self._session is not None:
            who = ("session", self._session_access_key() or str(id(self._session)))
        else:
            who = (
                "environment",
                env.get("AWS_ACCESS_KEY_ID") or "",
                env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "",
            )
        return identity_digest(
            *who,
            env.get("AWS_CONFIG_FILE"),
            env.get("AWS_SHARED_CREDENTIALS_FILE"),
            settings.role_arn,
            self._endpoint_url,
        )

    def _session_access_key(self) -> str | None:
        session = self._session
        if session is None:  # pragma: no cover - checked by the caller
            return None
        try:
            credentials = session.get_credentials()
        except Exception:  # noqa: BLE001 - no credentials yet: the fetch will report why
            return None
        return None if credentials is None else credentials.access_key

    def _fetch(self, host: EcrHost, settings: EcrSettings) -> Credentials:
        service = "ecr-public" if host.public else "ecr"
        _logger().debug(
            "asking %s in %s for a token for %s%s",
            service,
            host.api_region,
            host.host,
            " (FIPS endpoint)" if host.fips else "",
        )
        call = _AwsCall(
            service=service,
            region=host.api_region,
            endpoint_url=self._endpoint_url,
            profile=settings.profile,
            factory=self._client_factory is not None,
        )
        try:
            client = self._client(service, host, settings)
            meta = getattr(client, "meta", None)
            call = attrs.evolve(
                call,
                endpoint_url=getattr(meta, "endpoint_url", None) or call.endpoint_url,
            )
            if host.public:
                response = client.get_authorization_token()
            else:
                response = client.get_authorization_token(registryIds=[host.registry_id])
        except RegistryAuthError:
            raise
        except Exception as exc:
            raise TokenFetchError(
                f"could not get an ECR token for {host.host}: {_describe_aws_error(exc, call)}",
                registry=host.host,
                provider=_PROVIDER_NAME,
            ) from exc
        return self._credentials_from(host, response)

    def _client(self, service: str, host: EcrHost, settings: EcrSettings) -> Any:
        region = host.api_region
        if self._client_factory is not None:
            return self._client_factory(service, region, host.fips)
        boto3, config_class = _load_boto3()
        config = config_class(
            connect_timeout=self._timeout,
            read_timeout=self._timeout,
            retries={"mode": "standard", "total_max_attempts": self._max_attempts},
            use_fips_endpoint=host.fips,
            use_dualstack_endpoint=host.dual_stack,
        )
        with self._boto_lock:
            if settings.profile is not None:
                session = boto3.session.Session(profile_name=settings.profile)
            elif self._session is not None:
                session = self._session
            else:
                session = boto3.session.Session()
            if settings.role_arn is None:
                return session.client(
                    service, region_name=region, endpoint_url=self._endpoint_url, config=config
                )
            sts = session.client(
                "sts",
                region_name=region,
                endpoint_url=self._endpoint_url,
                config=config_class(
                    connect_timeout=self._timeout,
                    read_timeout=self._timeout,
                    retries={"mode": "standard", "total_max_attempts": self._max_attempts},
                    use_fips_endpoint=host.fips,
                ),
            )
        params = {
            "RoleArn": settings.role_arn,
            "RoleSessionName": settings.role_session_name or _DEFAULT_SESSION_NAME,
        }
        if settings.external_id is not None:
            params["ExternalId"] = settings.external_id
        role = sts.assume_role(**params)["Credentials"]
        with self._boto_lock:
            return session.client(
                service,
                region_name=region,
                endpoint_url=self._endpoint_url,
                config=config,
                aws_access_key_id=role["AccessKeyId"],
                aws_secret_access_key=role["SecretAccessKey"],
                aws_session_token=role["SessionToken"],
            )

    def _credentials_from(self, host: EcrHost, response: Any) -> Credentials:
        """Turn a GetAuthorizationToken answer into credentials for ``host``, or refuse."""

        def malformed(what: str) -> TokenFetchError:
            return TokenFetchError(
                f"ECR answered with {what} for {host.host}",
                registry=host.host,
                provider=_PROVIDER_NAME,
            )

        data = response.get("authorizationData") if isinstance(response, Mapping) else None
        if host.public:
            item = data if isinstance(data, Mapping) else None
        else:
            # One entry per requested account; take the one whose endpoint is this registry's.
            item = None
            for candidate in data if isinstance(data, list) else ():
                endpoint = (
                    candidate.get("proxyEndpoint") if isinstance(candidate, Mapping) else None
                )
                served = parse_ecr_host(endpoint) if isinstance(endpoint, str) else None
                if (
                    served is not None
                    and served.registry_id == host.registry_id
                    and served.region == host.region
                ):
                    item = candidate
                    break
        if item is None:
            return _raise(malformed("no token"))
        token = item.get("authorizationToken")
        if not isinstance(token, str):
            return _raise(malformed("no token"))
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _raise(malformed("a token that is not base64 'user:password'"))
        username, colon, password = decoded.partition(":")
        if not colon or not username or not password:
            return _raise(malformed("a token that is not 'user:password'"))
        expires_at = item.get("expiresAt")
        if isinstance(expires_at, dt.datetime):
            if expires_at.utcoffset() is None:
                expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
            expires_at = expires_at.astimezone(dt.timezone.utc)
        else:
            expires_at = self._cache.now() + _TOKEN_LIFETIME
        return Credentials(
            username=username,
            password=password,
            registry=host.host,
            expires_at=expires_at,
            provider=_PROVIDER_NAME,
        )

    def __repr__(self) -> str:
        defaults = self._defaults
        parts = [
            f"profile={defaults.profile!r}",
            f"role_arn={defaults.role_arn!r}",
            f"role_session_name={defaults.role_session_name!r}",
            f"external_id={_mask(defaults.external_id)!r}",
        ]
        if self._registries:
            table = {glob.text: settings for glob, settings in self._registries}
            parts.append(f"registries={table!r}")
        if self._registry_ids is not None:
            parts.append(f"registry_ids={sorted(self._registry_ids)!r}")
        if self._alias is not None:
            parts.append(
                f"registry={self._alias.pattern.text!r}, registry_id={self._alias.registry_id!r}, "
                f"region={self._alias.region!r}"
            )
        parts.append(f"public={self._public!r}")
        if self._session is not None:
            parts.append("session=<boto3 session>")
        if self._client_factory is not None:
            parts.append(f"client_factory={getattr(self._client_factory, '__name__', '<factory>')}")
        if self._endpoint_url is not None:
            parts.append(f"endpoint_url={self._endpoint_url!r}")
        parts.append(f"cache={self._cache!r}")
        return f"EcrProvider({', '.join(parts)})"


def _raise(exc: Exception) -> Credentials:
    raise exc
