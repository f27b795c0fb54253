"""Caches: byte-bounded LRU, single-flight, and the atomic disk cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from telemetryfs.fs.cache import (
    GENERATOR_VERSION,
    CachedFile,
    DiskCache,
    LruCache,
    MemoryBudget,
    RecentKeys,
    SourceKey,
)
from telemetryfs.fs.fuse.flight import SingleFlight
from telemetryfs.fs.recording_names import Part, Recording
from telemetryfs.fs.recordings import PartKey, RecordingKey


def _key(path: str = "/card/GX010042.MP4", size: int = 100, mtime_ns: int = 5) -> SourceKey:
    return SourceKey(path, 1, 2, size, mtime_ns)


def test_lru_evicts_least_recently_used_by_total_bytes() -> None:
    cache: LruCache[bytes] = LruCache(10, len)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"1234")  # 12 > 10: evicts b
    assert cache.get("b") is None
    assert cache.get("a") == b"1234"
    assert cache.get("c") == b"1234"
    assert cache.total == 8


def test_lru_refuses_a_value_bigger_than_its_capacity() -> None:
    cache: LruCache[bytes] = LruCache(4, len)
    cache.put("small", b"12")
    cache.put("huge", b"123456")
    assert cache.get("huge") is None
    assert cache.get("small") == b"12"


def test_lru_replacing_a_key_keeps_the_total_right() -> None:
    cache: LruCache[bytes] = LruCache(100, len)
    cache.put("a", b"x" * 10)
    cache.put("a", b"x" * 20)
    assert cache.total == 20
    assert len(cache) == 1


def test_lru_hands_what_it_lets_go_of_to_on_drop() -> None:
    dropped: list[bytes] = []
    cache: LruCache[bytes] = LruCache(10, len, on_drop=dropped.append)
    cache.put("a", b"1234")
    cache.put("a", b"5678")  # replaced
    cache.put("b", b"1234")
    cache.put("c", b"abcd")  # 12 > 10: evicts a
    cache.pop("b")
    assert dropped == [b"1234", b"5678", b"1234"]
    assert cache.get("c") == b"abcd"


def test_recent_keys_forget_the_oldest() -> None:
    recent: RecentKeys[str] = RecentKeys(3)
    for key in "abcd":
        recent.add(key)
    assert "a" not in recent
    recent.add("b")  # seen again: the newest
    recent.add("e")
    assert [k for k in "abcde" if k in recent] == ["b", "d", "e"]
    assert len(recent) == 3


async def test_single_flight_runs_one_computation_for_twenty_callers() -> None:
    flight = SingleFlight()
    store: dict[str, int] = {}
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await trio.sleep(0.05)
        store["k"] = 42
        return 42

    results: list[int] = []

    async def caller() -> None:
        results.append(await flight.run("k", lambda: store.get("k"), compute))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(caller)
    assert calls == 1
    assert results == [42] * 20


async def test_single_flight_failure_lets_the_next_caller_retry() -> None:
    flight = SingleFlight()
    attempts = 0

    async def compute() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("first try fails")
        return 7

    with pytest.raises(RuntimeError):
        await flight.run("k", lambda: None, compute)
    assert await flight.run("k", lambda: None, compute) == 7


def test_disk_cache_round_trip_and_key_mismatch(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    key = _key()
    disk.put(key, "track.gpx", b"<gpx/>")
    disk.put_object(key, "telemetry.full", {"a": 1})
    assert disk.get(key, "track.gpx") == b"<gpx/>"
    assert disk.get_object(key, "telemetry.full") == {"a": 1}
    changed = _key(mtime_ns=6)
    assert disk.get(changed, "track.gpx") is None
    # Writing for the new version replaces the old entry entirely.
    disk.put(changed, "info.json", b"{}")
    assert disk.get(key, "track.gpx") is None
    assert disk.get(changed, "track.gpx") is None
    assert disk.get(changed, "info.json") == b"{}"


def test_disk_cache_names_with_slashes_stay_in_their_folder(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    disk.put(_key(), "index/ACCL", b"x")
    assert disk.get(_key(), "index/ACCL") == b"x"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.parent.parent.parent == tmp_path for p in files)


def test_disk_cache_damaged_pickle_is_a_miss(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    disk.put(_key(), "telemetry.full", b"not a pickle")
    assert disk.get_object(_key(), "telemetry.full") is None


def test_disk_cache_unwritable_root_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    disk = DiskCache(blocker)  # a file where the folder should be
    disk.put(_key(), "track.gpx", b"data")
    assert disk.get(_key(), "track.gpx") is None


def test_disk_cache_leaves_no_temporary_files(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    for i in range(5):
        disk.put(_key(), f"item{i}", os.urandom(100))
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_disk_cache_prunes_least_recently_used_videos_first(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path, capacity=10_000)
    keys = [_key(f"/card/clip{i}.MP4") for i in range(6)]
    for i, key in enumerate(keys[:4]):
        disk.put(key, "track.gpx", os.urandom(2_000))
        os.utime(disk._dir(key) / "key.json", (1_000 + i, 1_000 + i))  # used in this order
    assert disk.used() < 10_000
    # clip0 is read again (a new mount: the hit marks it used); clip1 is now the oldest.
    DiskCache(tmp_path, capacity=10_000).get(keys[0], "track.gpx")
    disk.put(keys[4], "track.gpx", os.urandom(2_000))  # over: pruned down to 80%
    assert disk.used() <= 8_000
    disk.put(keys[5], "track.gpx", os.urandom(2_000))  # under again: nothing pruned
    assert disk.used() <= 10_000
    kept = [disk.get(k, "track.gpx") is not None for k in keys]
    assert kept == [True, False, False, True, True, True]


def test_disk_cache_never_prunes_the_entry_being_written(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path, capacity=1_000)
    disk.put(_key(), "telemetry.full", os.urandom(5_000))  # alone over the capacity
    assert disk.get(_key(), "telemetry.full") is not None
    disk.put(_key("/other.MP4"), "track.gpx", b"x")
    assert disk.get(_key(), "telemetry.full") is None  # now it is the oldest


def test_disk_cache_counts_what_earlier_mounts_left(tmp_path: Path) -> None:
    old = DiskCache(tmp_path)  # no capacity: an earlier mount with a larger one
    for i in range(5):
        old.put(_key(f"/c{i}.MP4"), "track.gpx", os.urandom(3_000))
    disk = DiskCache(tmp_path, capacity=10_000)
    disk.put(_key("/new.MP4"), "track.gpx", b"x")
    assert disk.used() <= 10_000


def test_disk_cache_used_so_far_counts_the_folder_once_then_follows_writes(
    tmp_path: Path,
) -> None:
    """What the prefetch asks before every video: right, and without a walk each time."""
    old = DiskCache(tmp_path)
    for i in range(3):
        old.put(_key(f"/c{i}.MP4"), "track.gpx", os.urandom(3_000))
    disk = DiskCache(tmp_path, capacity=100_000)
    assert disk.used_so_far() == disk.used() > 9_000
    disk.put(_key("/new.MP4"), "track.gpx", os.urandom(5_000))
    assert disk.used_so_far() == disk.used()
    # Another mount's write is not seen until the next prune recounts: no walk.
    before = disk.used_so_far()
    old.put(_key("/other.MP4"), "track.gpx", os.urandom(7_000))
    assert disk.used_so_far() == before < disk.used() - 7_000


def test_disk_cache_removes_other_generator_versions_only(tmp_path: Path) -> None:
    # g1/v1/...: the layout of generator version 1.
    for name in ("v0", "v1-offset+7200", "g1", "g1-offset+3600", "notes"):
        (tmp_path / name / "abc").mkdir(parents=True)
    offset = DiskCache(tmp_path, "-offset+3600", capacity=10**6)
    offset.put(_key(), "track.gpx", b"x")
    DiskCache(tmp_path, capacity=10**6).put(_key(), "track.gpx", b"y")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["notes", f"v{GENERATOR_VERSION}", f"v{GENERATOR_VERSION}-offset+3600"])
    assert offset.get(_key(), "track.gpx") == b"x"


def _shared() -> tuple[LruCache[bytes], LruCache[bytes], LruCache[bytes]]:
    budget = MemoryBudget(100)
    rendered: LruCache[bytes] = LruCache(0, len, budget)
    indexes: LruCache[bytes] = LruCache(0, len, budget)
    telemetry: LruCache[bytes] = LruCache(0, len, budget)
    return rendered, indexes, telemetry


def test_budget_gives_derived_memory_back_before_telemetry() -> None:
    rendered, indexes, telemetry = _shared()
    telemetry.put("clip", b"t" * 50)
    rendered.put("old.gpx", b"r" * 30)
    indexes.put("ACCL", b"i" * 10)
    telemetry.put("other", b"t" * 30)  # 120 > 100: the rendered file goes, not a parse
    assert rendered.get("old.gpx") is None
    assert telemetry.get("clip") is not None
    assert indexes.get("ACCL") is not None
    telemetry.put("third", b"t" * 50)  # then indexes, then the least recently used telemetry
    assert indexes.get("ACCL") is None
    assert telemetry.get("other") is None  # "clip" was read after it
    assert telemetry.get("clip") is not None
    assert telemetry.get("third") is not None


def test_budget_never_evicts_telemetry_for_what_is_rendered_from_it() -> None:
    rendered, indexes, telemetry = _shared()
    telemetry.put("clip", b"t" * 90)
    rendered.put("track.gpx", b"r" * 40)  # over the budget: kept, and the telemetry too
    indexes.put("ACCL", b"i" * 5)
    rendered.put("track.kml", b"r" * 30)  # evicts the older rendered file only
    assert telemetry.get("clip") is not None
    assert rendered.get("track.gpx") is None
    assert rendered.get("track.kml") is not None
    assert indexes.get("ACCL") is not None


def test_budget_keeps_a_single_oversized_item_until_another_parse_needs_room() -> None:
    rendered, _, telemetry = _shared()
    telemetry.put("hour", b"t" * 300)
    assert telemetry.get("hour") is not None  # larger than the budget, kept alone
    rendered.put("track.gpx", b"r" * 10)
    assert telemetry.get("hour") is not None
    telemetry.put("next", b"t" * 20)
    assert telemetry.get("hour") is None
    assert telemetry.get("next") is not None
    assert rendered.get("track.gpx") is None


def test_an_item_writer_keeps_small_items_in_memory_and_writes_nothing(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    writer = cache.writer(_key(), "track.gpx", spill_over=10)
    writer.write(b"12345")
    writer.write(b"67890")
    assert writer.finish() == b"1234567890"  # exactly spill_over: still in memory
    assert not (tmp_path / "cache").exists()  # the caller decides whether to put it


def test_an_item_writer_spills_into_the_entry_and_reads_back_by_file(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache", capacity=10_000)
    key = _key()
    writer = cache.writer(key, "streams/gps.csv", spill_over=8)
    pieces = [b"header\n", b"row one\n", b"row two\n" * 50]
    for piece in pieces:
        writer.write(piece)
    done = writer.finish()
    assert isinstance(done, CachedFile)
    assert Path(done.path).read_bytes() == b"".join(pieces)
    assert done.size == len(b"".join(pieces))
    # Bigger than whole_up_to: where the file is; small enough: the bytes.
    assert cache.get_item(key, "streams/gps.csv", whole_up_to=100) == done
    assert cache.get_item(key, "streams/gps.csv", whole_up_to=10**6) == b"".join(pieces)
    assert cache.get_item(_key(size=101), "streams/gps.csv", whole_up_to=100) is None
    assert cache.used_so_far() == cache.used()  # the spilled bytes were counted
    leftovers = [p.name for p in Path(done.path).parent.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_a_discarded_item_writer_leaves_no_file(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    writer = cache.writer(_key(), "track.geojson", spill_over=4)
    writer.write(b"0123456789")
    writer.discard()
    assert cache.get_item(_key(), "track.geojson", whole_up_to=0) is None
    assert [
        p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name != "key.json"
    ] == []


def test_a_recording_keys_its_own_entry_by_every_part(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    chapters = (_key("/card/GX010042.MP4"), _key("/card/GX020042.MP4"))
    recording = Recording(
        "DCIM/GX0042",
        "gopro-chapters",
        "file names",
        tuple(Part(k.path, n, "main") for n, k in enumerate(chapters, 1)),
    )

    def key_of(*keys: SourceKey) -> RecordingKey:
        parts = tuple(PartKey(k, k.path, n, "main") for n, k in enumerate(keys, 1))
        return RecordingKey(recording, parts, ())

    cache.put(key_of(*chapters), "track.gpx", b"<gpx/>")
    assert cache.get(key_of(*chapters), "track.gpx") == b"<gpx/>"  # key.json round-trips
    grown = key_of(chapters[0], _key("/card/GX020042.MP4", size=200))
    assert cache.get(grown, "track.gpx") is None  # a chapter grew: another version
    assert cache.get(chapters[0], "track.gpx") is None  # not the first chapter's own entry
