"""Comparing two release snapshots number by number: equal JSON, except that a float may differ
by rounding (1e-12 relative; values that are zero to rounding — the SE of a single answer — by
1e-13 absolutely). For the rollups-vs-microdata tests and ``bench/bench_release.py``."""

from __future__ import annotations

import json
import math
from typing import Any

TOLERANCE = 1e-12
NOISE = 1e-13


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` (JSON values, as the snapshot is stored) differ: empty when they agree."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))  # as stored: tuples become lists
    out: list[str] = []
    _walk(a, b, where or "snapshot", out)
    return out


def _walk(a: Any, b: Any, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            out.append(f"{where}: keys {sorted(set(a) ^ set(b))}")
            return
        for key in a:
            _walk(a[key], b[key], f"{where}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} vs {len(b)} items")
            return
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{where}[{n}]", out)
    elif isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        if not _close(a, float(b)):
            out.append(f"{where}: {a!r} vs {b!r}")
    elif isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        if not _close(float(a), b):
            out.append(f"{where}: {a!r} vs {b!r}")
    elif a != b or type(a) is not type(b):
        out.append(f"{where}: {a!r} vs {b!r}")


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= max(TOLERANCE * max(abs(a), abs(b)), NOISE)


def count_floats(value: Any) -> int:
    """How many floats a snapshot holds (a comparison that checked none proves nothing)."""
    if isinstance(value, dict):
        return sum(count_floats(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(count_floats(v) for v in value)
    return int(isinstance(value, float))
