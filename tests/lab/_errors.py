"""Errors raised by the local stack of real registries, daemons and servers."""

from __future__ import annotations

__all__ = ["MissingComponentError", "StackError"]


class StackError(RuntimeError):
    """A part of the local stack could not be started, used or stopped.

    The message says which part, and ends with the last lines of its log when there is one.
    """


class MissingComponentError(StackError):
    """A program or module the local stack needs is not installed.

    Attributes:
        component: the executable or Python module that was looked for.
        package: the package that provides it.
        installer: how that package is installed (``"apt-get"`` or ``"pip"``).
    """

    def __init__(self, component: str, *, package: str, installer: str = "apt-get") -> None:
        how = (
            f"apt-get install {package}"
            if installer == "apt-get"
            else f"{installer} install {package}"
        )
        kind = "Debian package" if installer == "apt-get" else "Python package"
        super().__init__(f"{component} not found: install the {kind} {package!r} ({how})")
        self.component = component
        self.package = package
        self.installer = installer
