"""The source tree: what each source entry becomes, sidecars, symlinks, inodes."""

from __future__ import annotations

import os
from pathlib import Path

from telemetryfs.fs.tree import InodeTable, Kind, SourceTree
from tests.builders import box

MP4_HEAD = box(b"ftyp", b"mp41\0\0\0\0mp41") + box(b"free", b"\0" * 8)
GPMF_HEAD = b"DEVC\0\x01\x00\x10DVID\x4c\x04\x00\x01\x00\x00\x00\x01" + b"\0" * 8
NMEA = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"


def _tree(root: Path, show_other: bool = False) -> SourceTree:
    return SourceTree(os.fsencode(root), show_other=show_other)


def _names(tree: SourceTree, path: Path) -> dict[str, Kind]:
    return {os.fsdecode(e.name): e.kind for e in tree.scan(os.fsencode(path))}


def test_videos_by_content_dirs_kept_other_files_hidden(tmp_path: Path) -> None:
    (tmp_path / "DCIM").mkdir()
    (tmp_path / "clip.MP4").write_bytes(MP4_HEAD)
    (tmp_path / "renamed.bin").write_bytes(MP4_HEAD)  # content decides, not the extension
    (tmp_path / "dump.raw").write_bytes(GPMF_HEAD)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.MP4").write_text("not a video")  # named like one: shown, to say why
    (tmp_path / "notes.bin").write_text("not a video")
    assert _names(_tree(tmp_path), tmp_path) == {
        "DCIM": Kind.DIR,
        "clip.MP4": Kind.VIDEO,
        "renamed.bin": Kind.VIDEO,
        "dump.raw": Kind.VIDEO,
        "broken.MP4": Kind.VIDEO,
    }


def test_show_other_passes_other_files_through(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert _names(_tree(tmp_path, show_other=True), tmp_path) == {"notes.txt": Kind.OTHER}


def test_nmea_sidecar_pairs_with_its_video_and_lone_log_is_a_track(tmp_path: Path) -> None:
    (tmp_path / "CLIP.MP4").write_bytes(MP4_HEAD)
    (tmp_path / "CLIP.NMEA").write_bytes(NMEA)
    (tmp_path / "walk.nmea").write_bytes(NMEA)
    tree = _tree(tmp_path)
    entries = {os.fsdecode(e.name): e for e in tree.scan(os.fsencode(tmp_path))}
    assert set(entries) == {"CLIP.MP4", "walk.nmea"}
    assert entries["CLIP.MP4"].sidecar == os.fsencode(tmp_path / "CLIP.NMEA")
    assert entries["walk.nmea"].kind is Kind.VIDEO
    # The same answers one name at a time (lookup does not list the folder).
    single = tree.classify(os.fsencode(tmp_path), b"CLIP.MP4")
    assert single is not None
    assert single.sidecar == os.fsencode(tmp_path / "CLIP.NMEA")
    assert tree.classify(os.fsencode(tmp_path), b"CLIP.NMEA") is None


def test_symlinks_never_lead_out_of_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    outside = tmp_path / "outside.MP4"
    outside.write_bytes(MP4_HEAD)
    (src / "inside.MP4").write_bytes(MP4_HEAD)
    (src / "escape.MP4").symlink_to(outside)
    (src / "shadow").symlink_to("/etc/shadow")
    (src / "up").symlink_to("..")
    (src / "loop").symlink_to(".")
    (src / "alias.MP4").symlink_to(src / "inside.MP4")
    found = _names(_tree(src, show_other=True), src)
    assert found == {"inside.MP4": Kind.VIDEO, "alias.MP4": Kind.VIDEO}
    tree = _tree(src, show_other=True)
    for name in (b"escape.MP4", b"shadow", b"up", b"loop"):
        assert tree.classify(os.fsencode(src), name) is None


def test_odd_byte_names_are_kept_as_bytes(tmp_path: Path) -> None:
    odd = b"caf\xe9 clip\n.MP4"  # latin-1, a space and a newline
    (Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + odd))).write_bytes(MP4_HEAD)
    entries = _tree(tmp_path).scan(os.fsencode(tmp_path))
    assert [e.name for e in entries] == [odd]


def test_inodes_are_stable_and_never_reused(tmp_path: Path) -> None:
    table = InodeTable(b"/src")
    a = table.child(1, b"a", Kind.VIDEO, b"/src/a")
    again = table.child(1, b"a", Kind.VIDEO, b"/src/a")
    assert a.inode == again.inode
    # The same name changing kind gets a new inode.
    replaced = table.child(1, b"a", Kind.DIR, b"/src/a")
    assert replaced.inode not in (a.inode, 1)
    b = table.child(1, b"b", Kind.DIR, b"/src/b")
    assert len({a.inode, replaced.inode, b.inode}) == 3
