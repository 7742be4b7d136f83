"""This project's test lab: real components on one machine, for the end-to-end tests.

None of it is installed with registry-auth; the end-to-end tests, the benchmarks and
``examples/demo.py`` import it from the repository (``tests.lab``).

- :mod:`tests.lab.stack`: :class:`~tests.lab.stack.LocalStack`, dockerd and registries (one
  under Docker Hub's name, one under an ECR name) in a network namespace of their own, a token
  server and moto's server, with the vocabulary to push images and count requests. It needs
  root and Debian's ``docker.io``, ``docker-registry``, ``skopeo``, ``apache2-utils`` and
  ``iproute2``.
- :mod:`tests.lab.faults`: :class:`~tests.lab.faults.FaultProxy`, a loopback proxy that
  stalls, resets, delays or answers with errors on purpose.
- :mod:`tests.lab.pytest_plugin`: the session fixtures ``local_stack``, ``docker_engine`` and
  ``local_registry``, and the switch that turns a missing stack from a skip into a failure
  (loaded by ``tests/conftest.py``).
"""
