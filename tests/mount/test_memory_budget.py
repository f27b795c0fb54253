"""One memory budget: reading every file of a real camera's clip parses it once per level.

Real cameras write 10-20 GPMF streams; their full telemetry can be larger than
any fixed share of the memory cache. It used to be refused by its own cache,
so each stream CSV, each raw file, each re-read parsed the clip again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.footage.real_payloads import make_real_gopro
from tests.mount.conftest import MountFactory


def _read_folder(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_every_file_of_a_real_payload_clip_costs_one_parse_per_level(
    mount: MountFactory, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    # Ten minutes of a real HERO7's payloads (10 streams): full telemetry of
    # several MB, more than the smallest cache's telemetry share used to be.
    footage = make_real_gopro(card, duration_s=600, source="hero7", video_mbps=2.0)
    m = mount(card, "--no-disk-cache", "-o", "cache_mb=8")
    folder = m.path / Path(footage.path).name
    (folder / "track.gpx").read_bytes()  # the GPS-only level
    first = _read_folder(folder)  # info, track files, every stream CSV and raw file
    assert sum(name.startswith("streams/") and name.endswith(".csv") for name in first) >= 10
    parses = m.stats()["parses"]
    assert parses <= 2, parses  # the GPS-only parse, then the full one
    assert _read_folder(folder) == first
    assert m.stats()["parses"] == parses  # nothing was evicted by its own reads
