"""ImageReference.parse in C (``_speedups.c``); ``_reference.py`` uses it when it is built."""

from registry_auth._reference import ImageReference

def configure(cls: type[ImageReference], slots: tuple[object, ...], /) -> None:
    """Make :func:`parse` build instances of ``cls``, filling the slots these descriptors name.

    ``slots`` holds the member descriptors of the registry, repository, tag and digest slots,
    then of attrs' hash cache. Raises TypeError or ValueError, changing nothing, when they are
    not slots :func:`parse` can fill.
    """

def parse(text: object, /) -> ImageReference | None:
    """The reference ``text`` names, or None if it is not a valid reference or not a ``str``.

    Raises RuntimeError before :func:`configure` has been called.
    """
