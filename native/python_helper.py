#!/usr/bin/env python3
"""docker-credential-registry-auth where its native client was not compiled: the Python helper."""

from registry_auth._helper_main import main

main()
