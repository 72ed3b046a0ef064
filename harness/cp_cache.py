"""A file cache of change points, so re-rendering a night does not re-run their permutation tests.

stats.change_points is deterministic for a series and its parameters (its permutations come from
`random.Random(seed)`, seed a parameter, default 0), so its result can be stored under a hash of the
series (the exact doubles), the parameters and harness/stats.py (harness.history_index.fingerprint):
a changed rule never reads an old result. `cached(path)` installs the memoizing wrapper as
`stats.change_points` for the duration of a `with` block (harness.perf calls it through the module,
so its rule is untouched) and writes the file on the way out: the entries this block used first,
then older ones up to MAX_ENTRIES. A missing or damaged file is an empty cache (rebuilt silently:
it only ever costs time).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import fsio, stats
from harness.history_index import fingerprint

MAX_ENTRIES = 4000   # about 0.4 MB: 5 rows x 40 benchmarks need 400 a night


@dataclass
class Counts:
    """A cache in use: `change_points` answers like stats.change_points, from the cache when it can."""
    change_points: Callable[..., list[stats.Shift]]
    hits: int = 0
    misses: int = 0
    entries: dict[str, list] = field(default_factory=dict)   # what the file will hold


def key(series, params: dict) -> str:
    """The cache key of one call: sha256 over the fingerprint, the parameters and the series' doubles."""
    values = [float(x) for x in series]
    digest = hashlib.sha256(f"{fingerprint()}/{json.dumps(params, sort_keys=True)}/".encode())
    digest.update(struct.pack(f"<{len(values)}d", *values))
    return digest.hexdigest()[:32]


def _read(path: Path) -> dict[str, list]:
    try:
        data = fsio.read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data.get("entries", {}) if isinstance(data, dict) and data.get("fingerprint") == fingerprint() else {}


@contextlib.contextmanager
def cached(path: Path) -> Iterator[Counts]:
    """Within the block, the yielded `Counts.change_points` answers from (and records into) the cache at
    `path`; what it computed is written back when the block ends."""
    stored = _read(path)

    def change_points(series, **params):
        k = key(series, params)
        shifts = stored.get(k)
        if isinstance(shifts, list):
            try:
                result = [stats.Shift(int(i), float(r), float(p)) for i, r, p in shifts]
                counts.hits += 1
                counts.entries[k] = shifts
                return result
            except (TypeError, ValueError):
                pass
        counts.misses += 1
        result = stats.change_points(series, **params)
        counts.entries[k] = [[s.index, s.ratio, s.p_value] for s in result]
        return result

    counts = Counts(change_points)
    yield counts
    if counts.misses:
        entries = dict(counts.entries)
        for k, v in stored.items():
            if len(entries) >= MAX_ENTRIES:
                break
            entries.setdefault(k, v)
        try:
            fsio.write_json(path, {"fingerprint": fingerprint(), "entries": entries})
        except OSError:
            pass  # a read-only reports folder: the cache only ever saves time
