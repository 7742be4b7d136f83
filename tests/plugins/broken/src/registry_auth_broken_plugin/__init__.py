"""A plugin that fails at import time, as a plugin with a missing dependency does."""

import registry_auth_dependency_that_is_not_installed  # noqa: F401
