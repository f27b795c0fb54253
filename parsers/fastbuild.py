"""Model objects built at the speed of plain classes, for code that makes hundreds of thousands.

Joining a three-hour recording rebuilds every GPS sample and stream chunk
(their video times move); see :func:`fast_constructor`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from telemetryfs.parsers.model import Chunk, Extent, GpsSample, unpickle_with

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Frozen = TypeVar("_Frozen", bound="DataclassInstance")


def fast_constructor(frozen: type[_Frozen]) -> Callable[..., _Frozen]:
    """``frozen``'s constructor (positional arguments) at the speed of a plain class.

    A frozen dataclass sets each field through ``object.__setattr__``: GpsSample(...)
    costs ~2.3 µs here, 4-5x a plain class with the same slots, and three hours of
    GoPro rebuild ~200,000 samples and ~300,000 chunks. So an unfrozen twin builds
    the object and hands it the frozen class (``__class__`` assignment is allowed
    between identical layouts); if the model stops fitting its twin, or gains a
    ``__post_init__`` the twin would skip, the frozen class itself is used.
    """
    if hasattr(frozen, "__post_init__"):
        return frozen

    def become_frozen(self: object) -> None:
        self.__class__ = frozen

    names = [f.name for f in dataclasses.fields(frozen)]
    namespace = {"__post_init__": become_frozen}
    twin = dataclasses.make_dataclass(
        f"_Unfrozen{frozen.__name__}", names, namespace=namespace, slots=True
    )
    try:
        twin(*[None] * len(names))
    except TypeError:  # "object layout differs": the twin no longer fits
        return frozen
    return cast("Callable[..., _Frozen]", twin)


def _unpickle_through(frozen: type[_Frozen], constructor: Callable[..., _Frozen]) -> None:
    """Pickles of ``frozen`` name ``constructor`` (published here by name) as their builder."""
    if constructor is not frozen:
        name = constructor.__name__
        constructor.__module__, constructor.__qualname__ = __name__, name
        globals()[name] = constructor
    unpickle_with(frozen, constructor)


new_gps_sample = fast_constructor(GpsSample)
new_chunk = fast_constructor(Chunk)
new_extent = fast_constructor(Extent)

# An hour of GoPro telemetry holds ~65,000 samples, ~70,000 extents and ~30,000
# chunks: unpickled through the twins, loading it (from the disk cache, or from
# a parse process) takes less than half the time.
_unpickle_through(GpsSample, new_gps_sample)
_unpickle_through(Chunk, new_chunk)
_unpickle_through(Extent, new_extent)
