"""Storage options from ``-o KEY=VALUE``, checked without importing fsspec.

Endpoint and credentials otherwise come the fsspec/s3fs way: the
``FSSPEC_S3_ENDPOINT_URL`` style variables, ``AWS_*`` variables, ~/.aws.
The few options users expect to type get short names; anything else is
passed through to the filesystem as given.
"""

from __future__ import annotations

from typing import Any


class UsageError(Exception):
    """A problem the user can fix: reported as one line, exit status 1."""


# Short names users expect, mapped to the s3fs argument they set.
ALIASES = {
    "endpoint_url": ("client_kwargs", "endpoint_url"),
    "endpoint": ("client_kwargs", "endpoint_url"),
    "region": ("client_kwargs", "region_name"),
    "profile": ("profile", None),
    "anon": ("anon", None),
    "key": ("key", None),
    "secret": ("secret", None),
}


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    try:
        return int(text)
    except ValueError:
        return text


def storage_options(items: list[str]) -> dict[str, Any]:
    """fsspec storage options from ``KEY=VALUE`` items (comma-separated lists allowed)."""
    options: dict[str, Any] = {}
    for item in (part for text in items for part in text.split(",") if part):
        key, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"storage option {item!r} needs a value (KEY=VALUE)")
        target, sub = ALIASES.get(key, (key, None))
        if sub is None:
            options[target] = _value(raw)
        else:
            options.setdefault(target, {})[sub] = raw
    return options
