"""The entries -o video adds to a folder, and the subtitles alias (no FUSE)."""

from __future__ import annotations

from telemetryfs.fs import products
from telemetryfs.fs.products import GENERATED, VIDEO, Entry


def test_the_video_and_its_subtitles_alias() -> None:
    derived = [Entry("info.json", GENERATED), Entry(products.SRT, GENERATED)]
    names = {e.name: e.kind for e in products.with_video(derived, "GX010042.MP4")}
    assert names["GX010042.MP4"] == VIDEO
    assert names["GX010042.srt"] == GENERATED
    assert products.product_name("GX010042.srt") == products.SRT
    assert products.product_name("streams/x.srt") == "streams/x.srt"


def test_no_alias_without_subtitles_or_when_it_would_be_track_srt() -> None:
    derived = [Entry("info.json", GENERATED)]
    assert [e.name for e in products.with_video(derived, "GX0042.MP4")] == [
        "info.json",
        "GX0042.MP4",
    ]
    assert products.subtitles_alias("track.MP4") is None
    assert products.subtitles_alias("clip.final.mp4") == "clip.final.srt"
