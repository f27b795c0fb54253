"""Fixed-size binary records as stream rows: one struct per row, each value scaled."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from telemetryfs.parsers.errors import MalformedError
from telemetryfs.parsers.model import ColumnFormat, Value


@dataclass(frozen=True, slots=True)
class FixedRecords:
    """A StreamCodec for records of one ``struct`` layout (picklable, comparable).

    Each field is one column: less its ``offsets`` entry (none when empty:
    sensors that store signed values as unsigned around 0x8000), divided by
    its ``divisors`` entry (a divisor of 1 keeps the integer), written with its
    ``specs`` printf spec, which must fit the field's whole range in
    ``widths`` characters (sizes are computed before decoding).
    """

    layout: str
    divisors: tuple[float, ...]
    specs: tuple[str, ...]
    widths: tuple[int, ...]
    offsets: tuple[int, ...] = ()

    @property
    def whole_text(self) -> bool:
        return False

    @property
    def size(self) -> int:
        return struct.calcsize(self.layout)

    def column_formats(self) -> tuple[ColumnFormat, ...]:
        return tuple(ColumnFormat(s, w) for s, w in zip(self.specs, self.widths, strict=True))

    def decode(self, data: bytes) -> list[tuple[Value, ...]]:
        size = self.size
        if len(data) % size:
            raise MalformedError(f"{len(data)} bytes are not whole {size}-byte records")
        if self.offsets:
            return [
                tuple(
                    (v - o) if d == 1 else (v - o) / d
                    for v, o, d in zip(values, self.offsets, self.divisors, strict=True)
                )
                for values in struct.iter_unpack(self.layout, data)
            ]
        return [
            tuple(v if d == 1 else v / d for v, d in zip(values, self.divisors, strict=True))
            for values in struct.iter_unpack(self.layout, data)
        ]


@dataclass(frozen=True, slots=True)
class HeldRecords:
    """FixedRecords whose bytes travel with the codec, not in the source file.

    For a stream read from a file other than the one served (a sidecar's
    companion, such as a BlackVue ``.3gf`` beside its ``.gps``): the product
    layer reads stream bytes from the served source only, so the stream is one
    chunk whose (one-byte) extent is ignored and whose rows come from ``data``.
    """

    records: FixedRecords
    data: bytes

    @property
    def whole_text(self) -> bool:
        return False

    def column_formats(self) -> tuple[ColumnFormat, ...]:
        return self.records.column_formats()

    def decode(self, data: bytes) -> list[tuple[Value, ...]]:
        return self.records.decode(self.data)
