"""Feed torchtext datasets through torch.utils.data.DataLoader, in processes of their own.

    python -m suites.text._dataloader_probe cold NAME ROOT MD5_JSON OUT_JSON
    python -m suites.text._dataloader_probe warm JOBS_JSON BATCH SEED OUT_JSON

Run by test_datasets.py through harness.isolate, so a stuck or killed DataLoader worker stays
contained. The fabricated archives must already sit in each root's cache folder. Nothing is
checked here: OUT_JSON gets what each loader yielded, as plain JSON, for the tests to compare.

`cold`: one loader with two workers before anything was extracted, so both workers race to
extract the archive (the first epoch of a fresh download). One dataset per process, because a
worker stuck there leaves a torchdata ``.promise`` file that makes later readers of that cache
wait, and because the stuck workers are only cleaned up by killing the process group.
`warm`: for each dataset of JOBS_JSON ({name: {"root", "md5"}}), a single-process pass that
extracts the archive, then the loaders with batching, seeded shuffling and two workers.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from functools import partial
from pathlib import Path

from suites.text._compat import dataset, forbid_network, preload_worker_imports

# Per item. Extracting these few-kilobyte archives takes milliseconds; a cold worker that yields
# nothing for this long is stuck (torchdata's own wait for a pending cache file is 300 s).
COLD_TIMEOUT_S = 10
# Per item on a warm cache, generous for a loaded machine: only a real hang waits this long.
WARM_TIMEOUT_S = 60


def plain(value):
    """Tensors to lists, tuples to lists: what the loader yielded, as JSON can hold it."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def load(torchtext, name: str, root: str, md5: dict, **options) -> list:
    from torch.utils.data import DataLoader

    # A fresh datapipe per loader: DataLoader switches the pipe's shuffle setting in place.
    return [plain(item) for item in DataLoader(dataset(torchtext, name, Path(root), "train", md5), **options)]


def cold(name: str, root: str, md5_json: str, out: str) -> None:
    import torchtext

    try:
        result = {"items": load(torchtext, name, root, json.loads(md5_json), batch_size=None,
                                num_workers=2, timeout=COLD_TIMEOUT_S)}
    except RuntimeError as exc:  # DataLoader's own limit: "DataLoader timed out after N seconds"
        result = {"error": f"{type(exc).__name__}: {exc}",
                  "pending": sorted(p.name for p in Path(root).rglob("*.promise.*"))}
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    # Skip DataLoader's shutdown, which waits seconds on each stuck worker before terminating
    # it: harness.isolate kills what is left of the process group.
    sys.stdout.flush()
    os._exit(0)


def warm(jobs_json: str, batch: str, seed: str, out: str) -> None:
    import torch
    import torchtext

    preload_worker_imports()

    def seeded() -> torch.Generator:
        return torch.Generator().manual_seed(int(seed))

    results = {}
    for name, job in json.loads(jobs_json).items():
        run = partial(load, torchtext, name, job["root"], job["md5"])
        try:
            results[name] = {
                "batches": run(batch_size=int(batch)),  # also extracts the archive
                "two_workers": run(batch_size=None, num_workers=2, timeout=WARM_TIMEOUT_S),
                "shuffled": [run(batch_size=None, shuffle=True, generator=seeded()) for _ in range(2)],
                "shuffled_two_workers": run(batch_size=int(batch), shuffle=True, num_workers=2,
                                            timeout=WARM_TIMEOUT_S, generator=seeded()),
            }
        except Exception as exc:  # noqa: BLE001 - one dataset's failure is reported for that dataset
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    Path(out).write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    mode, *args = sys.argv[1:]
    with forbid_network():
        {"cold": cold, "warm": warm}[mode](*args)
