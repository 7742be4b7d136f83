"""The built-in credential providers, registered through the ``registry_auth.providers`` group."""
