"""Benchmarks of registry-auth, measured side by side with the tools it replaces.

Run them with ``nox -s bench`` (or ``python -m benchmarks.run`` in an environment with
``registry-auth[all]`` and the test dependencies); see ``docs/performance.md`` for the results
and for what each one measures. Nothing here runs in the test suite, and no test asserts on time:
``tests/test_benchmarks.py`` only checks, on tiny inputs, that the benchmark code works.
"""
