"""registry-auth's version: the one place it is written (the build reads it from here too)."""

__all__ = ["__version__", "version"]

__version__ = "0.1.0.dev0"


def version() -> str:
    """registry-auth's version, for callers that ask for it by function."""
    return __version__
