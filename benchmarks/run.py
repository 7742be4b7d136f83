"""Run the benchmarks, print the results table, and write the results as JSON.

    python -m benchmarks.run                  # everything (the pull suite needs root)
    python -m benchmarks.run --only parse ecr # some suites
    python -m benchmarks.run --quick          # small inputs and few runs: a smoke test

``nox -s bench`` runs this in its own virtualenv. The results go to
``benchmarks/results/latest.json`` unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import bench_docker_config, bench_ecr, bench_parse, bench_pull, bench_startup
from benchmarks._harness import Row, check_real_interpreter, format_table, machine

__all__ = ["SUITES", "main", "run_suites"]

RESULTS = Path(__file__).parent / "results"


def _suites(quick: bool, *, hyperfine: bool = False) -> dict[str, Callable[[], list[Row]]]:
    """Each suite, sized for a real run or (``quick``) for a smoke test."""
    if quick:
        return {
            "parse": lambda: bench_parse.run(count=500, runs=3, containers=5, lookups=500),
            "docker-config": lambda: bench_docker_config.run(registries=3, count=50, runs=3),
            "import": lambda: bench_startup.run_import(runs=3, use_hyperfine=hyperfine),
            "helper": lambda: bench_startup.run_helper(runs=3),
            "ecr": lambda: bench_ecr.run(threads=8, lookups=50, pulls=20, runs=3),
            "pull": lambda: bench_pull.run(runs=1, layer_mib=1, images=2, image_mib=1),
        }
    return {
        "parse": bench_parse.run,
        "docker-config": bench_docker_config.run,
        "import": lambda: bench_startup.run_import(use_hyperfine=hyperfine),
        "helper": bench_startup.run_helper,
        "ecr": bench_ecr.run,
        "pull": bench_pull.run,
    }


SUITES = tuple(_suites(quick=False))
"""The suites, in the order they run."""


def _compile_sources() -> None:
    """Write registry-auth's bytecode, as installing a wheel does.

    An editable install leaves it to the first import, which PYTHONDONTWRITEBYTECODE may forbid:
    every process would then compile the sources again, and start-up would be measured wrong.
    """
    import registry_auth  # noqa: PLC0415

    compileall.compile_dir(Path(registry_auth.__file__).parent, quiet=1)


def run_suites(names: Sequence[str], *, quick: bool = False, hyperfine: bool = False) -> list[Row]:
    """Run the named suites; their rows, in order."""
    suites = _suites(quick, hyperfine=hyperfine)
    rows: list[Row] = []
    for name in names:
        print(f"-- {name}", file=sys.stderr, flush=True)
        rows.extend(suites[name]())
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", action="extend", choices=SUITES, help="run only these suites"
    )
    parser.add_argument(
        "--skip", nargs="+", action="extend", choices=SUITES, default=[], help="skip these"
    )
    parser.add_argument("--quick", action="store_true", help="tiny inputs, few runs")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    parser.add_argument(
        "--hyperfine",
        action="store_true",
        help="time the import suite with hyperfine instead of turns from Python",
    )
    args = parser.parse_args(argv)
    names = [name for name in (args.only or SUITES) if name not in args.skip]
    if "pull" in names and os.geteuid() != 0:
        parser.error("the pull suite starts dockerd and a network namespace: run it as root")
    check_real_interpreter()
    _compile_sources()
    started = dt.datetime.now(dt.timezone.utc)
    rows = run_suites(names, quick=args.quick, hyperfine=args.hyperfine)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "rows": [row.as_dict() for row in rows],
    }
    output = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(format_table(rows))
    for row in rows:
        if row.note:
            print(f"- {row.name}: {row.note}")
    print(f"\nresults: {output}")
    missed = [row.name for row in rows if row.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
