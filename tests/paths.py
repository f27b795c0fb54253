"""Where the tests find things: the checkout and the shared real samples."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Real footage and third-party outputs live beside the checkout, never inside it.
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples"
GPX_XSD = SHARED / "schemas" / "gpx-1.1.xsd"
