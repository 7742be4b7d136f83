"""The benchmark code works, on tiny inputs; and the fast paths it called for change nothing.

No test here measures time: the timing helpers are run, and their output checked for shape.
"""

import base64
import importlib
import json
import subprocess
import sys
from importlib.metadata import distribution

import pytest
from benchmarks import bench_docker_config, bench_ecr, bench_parse, bench_startup, run
from benchmarks._harness import (
    EMPTY_PROGRAM,
    Command,
    Row,
    check_real_interpreter,
    format_table,
    interleaved,
    median,
    time_commands,
)
from benchmarks.corpus import (
    MALFORMED_REFERENCES,
    docker_config,
    gateway_lookups,
    peer_parse,
    references,
    registries_of,
    write_docker_config,
)
from hypothesis import given
from hypothesis import strategies as st

import registry_auth
from registry_auth import (
    CredentialResolver,
    DockerConfigProvider,
    ImageReference,
    InvalidReferenceError,
    _discovery,
    _reference,
    parse_ecr_host,
)
from registry_auth.testing.strategies import image_references

# --- the inputs ------------------------------------------------------------------------------


def test_the_corpus_is_distinct_valid_and_read_alike_by_docker_py():
    corpus = references(400)
    assert len(set(corpus)) == 400
    assert corpus == references(400)  # the same seed, the same references
    kinds = set()
    for text in corpus:
        ref = ImageReference.parse(text)
        assert peer_parse(text)[0] == ref.registry, text
        kinds.add(
            "hub" if ref.is_docker_hub else "ecr" if parse_ecr_host(ref.registry) else "other"
        )
    assert kinds == {"hub", "ecr", "other"}


def test_a_gateway_looks_up_its_few_references_again_and_again_as_fresh_texts():
    workload = gateway_lookups(12, 600)
    assert len(workload) == 600
    assert workload == gateway_lookups(12, 600)  # the same seed, the same lookups
    assert set(workload) <= set(references(12, seed=20240612))
    assert 6 < len(set(workload)) <= 12
    assert len({id(text) for text in workload}) == 600  # no string object read twice
    for text in set(workload):
        assert ImageReference.parse(text).registry == peer_parse(text)[0]


def test_the_parse_runs_start_with_an_empty_memo():
    ImageReference.parse("registry.example.com/team/app:1")
    assert _reference._MEMO
    bench_parse.forget_parsed()
    assert _reference._MEMO == {}


def test_malformed_references_are_refused_by_us_and_mostly_accepted_by_docker_py():
    for text in MALFORMED_REFERENCES:
        with pytest.raises(InvalidReferenceError):
            ImageReference.parse(text)
    ours, peer = bench_parse.count_rejected(MALFORMED_REFERENCES)
    assert ours == len(MALFORMED_REFERENCES)
    assert peer < ours


def test_the_docker_config_answers_for_every_registry_it_lists(tmp_path):
    config = docker_config(5)
    path = write_docker_config(tmp_path, 5)
    assert json.loads(path.read_text()) == config
    assert path.stat().st_mode & 0o777 == 0o600
    resolver = CredentialResolver([DockerConfigProvider(path)])
    hosts = registries_of(config)
    assert len(hosts) == 6
    assert hosts[0] == "docker.io"
    for host in hosts:
        credentials = resolver.resolve(ImageReference.parse(f"{host}/team/app"))
        assert credentials is not None, host
        assert credentials.username in {"hubuser", *(f"user{n}" for n in range(5))}


def test_the_resolution_contenders_run_on_a_tiny_file(tmp_path):
    path = write_docker_config(tmp_path, 2)
    refs = bench_docker_config.lookups(registries_of(docker_config(2)), 7)
    assert len(refs) == 7
    assert refs[0] == refs[3]  # they cycle over the three registries
    for make in (
        bench_docker_config.ours,
        bench_docker_config.peer_loaded_once,
        bench_docker_config.peer_reloading,
    ):
        make(path, refs)()
    with pytest.raises(RuntimeError, match="no credentials"):
        bench_docker_config.ours(path, [ImageReference.parse("elsewhere.example/app")])


# --- the harness -----------------------------------------------------------------------------


def test_interleaved_runs_every_contender_the_given_number_of_times():
    calls = []
    times = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 4)
    assert sorted(times) == ["a", "b"]
    assert all(len(values) == 4 and min(values) >= 0 for values in times.values())
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]  # the order rotates


def test_interleaved_runs_the_setup_before_every_call_untimed():
    calls = []
    times = interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        2,
        before=lambda: calls.append("-"),
    )
    assert calls == ["-", "a", "-", "b", "-", "b", "-", "a"]
    assert all(len(values) == 2 for values in times.values())


def test_median_and_ratio():
    assert median([3.0, 1.0, 2.0]) == 2.0
    with pytest.raises(ValueError, match="no values"):
        median([])
    row = Row(suite="s", name="n", ours=3.0, peer=2.0, unit="ms", target="<= 2x", met=True)
    assert row.ratio == 1.5
    assert row.as_dict()["ratio"] == 1.5
    assert Row(suite="s", name="n", ours=1.0, unit="calls").ratio is None
    table = format_table([row])
    assert "| n | 3 ms | 2 ms | 1.50x | <= 2x | yes |" in table


def test_processes_are_timed_with_stdin_from_a_file(tmp_path):
    marker = tmp_path / "seen"
    script = f"import sys; open({str(marker)!r}, 'w').write(sys.stdin.read())"
    commands = {
        "reader": Command((sys.executable, "-c", script), stdin=b"hello"),
        "empty": Command(("true",)),
    }
    times, method = time_commands(commands, runs=2, warmup=0, env={"PATH": "/usr/bin:/bin"})
    assert method.startswith("posix_spawn")
    assert {name: len(values) for name, values in times.items()} == {
        "reader": 2,
        "empty": 2,
        EMPTY_PROGRAM: 2,  # the subtracted start of `true`, as measured
    }
    assert all(t > 0 for t in times[EMPTY_PROGRAM])
    assert marker.read_text() == "hello"
    with pytest.raises(RuntimeError, match="failed while being timed"):
        time_commands({"fails": Command(("false",))}, runs=1, warmup=0, use_hyperfine=False)


def test_a_command_gets_its_own_variables_over_the_shared_environment(tmp_path):
    marker = tmp_path / "seen"
    script = f"import os; open({str(marker)!r}, 'w').write(os.environ['BENCH_WHO'])"
    shared = {"PATH": "/usr/bin:/bin", "BENCH_WHO": "shared"}
    commands = {"own": Command((sys.executable, "-c", script), env={"BENCH_WHO": "own"})}
    times, method = time_commands(commands, runs=1, warmup=0, env=shared, use_hyperfine=True)
    assert method.startswith("posix_spawn")  # hyperfine cannot give a command its own variables
    assert len(times["own"]) == 1
    assert marker.read_text() == "own"


def test_a_helper_row_compares_with_the_floor():
    details = {"empty_program_ms": 0.5}
    row = bench_startup._floor_row("get", 12.0, 10.0, details)
    assert (row.ratio, row.target, row.met) == (1.2, "<= 1.25x", True)
    assert bench_startup.FLOOR in row.peer_name
    assert bench_startup._floor_row("get", 13.0, 10.0, details).met is False


def test_the_interpreter_must_be_a_binary_not_a_shim(tmp_path):
    assert check_real_interpreter(sys.executable).startswith("/")
    shim = tmp_path / "python"
    shim.write_text('#!/bin/sh\nexec python3 "$@"\n')
    with pytest.raises(RuntimeError, match="not an executable binary"):
        check_real_interpreter(str(shim))


def test_the_runner_writes_its_results(tmp_path, capsys):
    output = tmp_path / "results.json"
    assert run.main(["--quick", "--only", "parse", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert report["quick"] is True
    assert report["machine"]["cores"] >= 1
    distinct, gateway = report["rows"]
    assert distinct["suite"] == gateway["suite"] == "parse"
    assert distinct["details"]["malformed_refused_ours"] == len(MALFORMED_REFERENCES)
    assert distinct["target"] == "<= 1.5x, while strict"
    assert gateway["target"] == "<= 0.5x"
    assert gateway["details"]["lookups"] == 500
    assert 1 <= gateway["details"]["containers"] <= 5
    assert len(gateway["details"]["ours_s"]) == len(gateway["details"]["peer_s"]) == 3
    assert gateway["ratio"] > 0
    out = capsys.readouterr().out
    assert "parse 500 mixed references" in out
    assert "parse a gateway's 500 lookups of" in out


# --- start-up and the credential helpers -----------------------------------------------------


def test_the_go_helper_cache_key_matches_its_own_test_vector():
    # amazon-ecr-credential-helper's build_test.go: region "test-region", access key
    # "accessKey", prefix "test-region-YWNjZXNzS2V51B2M2Y8AsgTpgAmY7PhCfg==-".
    legacy, _current = bench_startup.go_helper_cache_keys("123", "test-region", "accessKey")
    assert legacy == "test-region-YWNjZXNzS2V51B2M2Y8AsgTpgAmY7PhCfg==-123"


def test_the_go_helper_cache_holds_a_fresh_entry_per_key():
    import datetime as dt

    now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    token = base64.b64encode(b"AWS:pw").decode()
    cache = bench_startup.go_helper_cache(
        token=token, registry_id="123456789012", region="eu-west-1", access_key="AK", now=now
    )
    assert cache["Version"] == "1.0"
    assert len(cache["Registries"]) == 2
    for key, entry in cache["Registries"].items():
        assert key.startswith("eu-west-1-")
        assert key.endswith("-123456789012")
        assert entry["AuthorizationToken"] == token
        assert entry["ProxyEndpoint"] == "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        expires = dt.datetime.fromisoformat(entry["ExpiresAt"])
        assert expires - dt.datetime.fromisoformat(entry["RequestedAt"]) == dt.timedelta(hours=12)


def test_the_cache_is_warmed_in_the_helpers_environment_only(monkeypatch):
    import os

    monkeypatch.setenv("AWS_PROFILE", "callers-own")
    monkeypatch.setenv("BENCH_UNRELATED", "kept")
    with bench_startup._environment({"AWS_ACCESS_KEY_ID": "AKIDBENCH"}):
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIDBENCH"
        assert os.environ["BENCH_UNRELATED"] == "kept"
    assert os.environ["AWS_PROFILE"] == "callers-own"
    assert "AWS_ACCESS_KEY_ID" not in os.environ or os.environ["AWS_ACCESS_KEY_ID"] != "AKIDBENCH"


def test_the_heavy_module_probe_sees_heavy_modules():
    assert bench_startup.heavy_modules_after("import registry_auth") == []
    assert "docker" in bench_startup.heavy_modules_after("import docker")


# --- the ECR counters ------------------------------------------------------------------------


def test_the_token_call_counter_counts_calls():
    with bench_ecr.mocked_aws() as session:
        counter = bench_ecr.TokenCallCounter(session)
        client = session.client("ecr")
        assert counter.calls == 0
        client.get_authorization_token()
        client.get_authorization_token(registryIds=[bench_ecr.ECR_ACCOUNT])
        assert counter.calls == 2
        session.client("ecr").describe_repositories()  # other calls are not counted
        assert counter.calls == 2


def test_the_ecr_scenarios_count_on_a_small_scale():
    assert bench_ecr.cold_threads(4) == (1, 1)
    new_calls, times = bench_ecr.warm_lookups(5, 2)
    assert new_calls == 0
    assert len(times) == 2
    assert bench_ecr.pulls_within_a_token_life(3) == (1, 3)


# --- the fast paths the benchmarks called for ------------------------------------------------


def test_every_public_name_is_served_lazily_from_its_module():
    assert set(registry_auth._SOURCES) == set(registry_auth.__all__)
    for name, module in registry_auth._SOURCES.items():
        value = getattr(importlib.import_module(module), name)
        assert getattr(registry_auth, name) is value, name
    assert set(registry_auth.__all__) <= set(dir(registry_auth))
    missing = "NoSuchName"  # and type checkers report the name too: no catch-all __getattr__
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        getattr(registry_auth, missing)


def test_import_registry_auth_loads_nothing_until_a_name_is_used():
    code = (
        "import sys, registry_auth\n"
        "before = sorted(m for m in sys.modules if m.startswith(('registry_auth.', 'attr')))\n"
        "registry_auth.ImageReference\n"
        "after = 'registry_auth._reference' in sys.modules\n"
        "print(before, after)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[] True"


def test_submodules_are_attributes_of_the_package_as_before():
    code = (
        "import registry_auth\n"
        "print(registry_auth.matching.RegistryPattern.__name__, registry_auth.providers.__name__)\n"
        "print(hasattr(registry_auth, 'no_such_module'), hasattr(registry_auth, '__wrapped__'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["RegistryPattern", "registry_auth.providers", "False", "False"]


def test_the_builtin_provider_table_matches_the_package_metadata():
    declared = {
        entry_point.name: entry_point.value
        for entry_point in distribution("registry-auth").entry_points
        if entry_point.group == _discovery.ENTRY_POINT_GROUP
    }
    assert declared == _discovery._BUILTIN_PROVIDERS


def test_loading_a_builtin_provider_scans_no_distribution():
    code = (
        "import sys\n"
        "from registry_auth import load_provider\n"
        "load_provider('static', registry='r.example', username='u', password='p')\n"
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"


def test_a_builtin_that_fails_to_import_is_reported_as_discovery_reports_it(monkeypatch):
    from registry_auth import ProviderLoadError, load_provider

    monkeypatch.setitem(_discovery._BUILTIN_PROVIDERS, "static", "no_such_module_xyz:Thing")
    with pytest.raises(ProviderLoadError, match=r"from registry-auth .* could not be loaded") as e:
        load_provider("static", registry="r.example", username="u", password="p")
    assert e.value.distribution == "registry-auth"
    assert "ModuleNotFoundError" in str(e.value)


def test_the_fast_parse_fills_every_slot_attrs_would():
    for text in references(200):
        fast = ImageReference.parse(text)
        built = ImageReference(
            registry=fast.registry, repository=fast.repository, tag=fast.tag, digest=fast.digest
        )
        assert fast == built
        assert hash(fast) == hash(built)
        assert repr(fast) == repr(built)


_REFERENCE_CHARACTERS = "abcz019ABZ._-/:@[]É \n"


@given(
    st.one_of(
        image_references().flatmap(lambda ref: st.sampled_from([str(ref), ref.familiar])),
        st.text(alphabet=_REFERENCE_CHARACTERS, max_size=40),
        st.sampled_from([*MALFORMED_REFERENCES, *references(50)]),
    )
)
def test_the_fast_parse_agrees_with_the_full_one(text):
    assert _reference._parse(text) == _reference._parse_slowly(text)
