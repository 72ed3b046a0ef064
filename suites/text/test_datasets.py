"""torchtext datasets from the 0.5 release: PennTreebank, WikiText2, WikiText103, IMDb and enwik9.

Each archive is fabricated in its upstream format (fixtures/text.py) and put where torchtext
caches its download; only the expected checksum is pointed at it (suites/text/_compat.py), so
each constructor hashes, extracts and parses the file exactly as after a real download. The
reference is what the builder wrote, read back through each dataset's documented contract.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures import text as builders
from harness.isolate import CheckTimeout, run_python
from suites.text._compat import DATASETS, dataset, place_archives, splits_of

REPO = Path(__file__).resolve().parents[2]
BATCH, SEED = 4, 0
IMDB_LABELS = {"neg": 1, "pos": 2}  # documented: "yields tuple of label (1 to 2) and text"


def feature(name: str):
    return pytest.mark.feature(f"text.datasets.{name}")


SPLITS = [pytest.param(name, split, marks=feature(name), id=f"{name}-{split}")
          for name in DATASETS for split in splits_of(name)]
NAMES = [pytest.param(name, marks=feature(name), id=name) for name in DATASETS]


def expected_items(name: str, written: list) -> list:
    """What each dataset documents it yields for the lines (or reviews) the builder wrote."""
    if name == "penntreebank":
        return [line.strip() for line in written]  # sentences without their surrounding spaces
    if name in ("wikitext2", "wikitext103"):
        return list(written)  # raw lines, newline kept (readlines(strip_newline=False))
    if name == "enwik9":
        return [line.strip("\r\n") for line in written]  # raw lines without their line ending
    # One item per review file, in archive order (the builder writes neg/ before pos/, and
    # torchtext caches and reads each label's reviews as one file).
    return [(IMDB_LABELS[label], review) for label, review in written]


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory):
    """The upstream files of each dataset, built once per module."""
    built = {}

    def get(name: str) -> builders.Fabricated:
        if name not in built:
            built[name] = builders.BUILDERS[name](tmp_path_factory.mktemp(f"upstream-{name}"))
        return built[name]
    return get


@pytest.mark.parametrize("name, split", SPLITS)
def test_split_yields_exactly_what_was_written(torchtext, fabricated, tmp_path, name, split):
    """The split parses into exactly the written items, in file order, from the archive and then from the cache."""
    built = fabricated(name)
    place_archives(name, built.files, tmp_path)
    expected = expected_items(name, built.splits[split])
    data = dataset(torchtext, name, tmp_path, split, built.md5)

    assert list(data) == expected          # first pass: hash check, extraction, parsing
    assert list(data) == expected          # second pass: read back from torchtext's extracted cache


# ---- torch.utils.data.DataLoader --------------------------------------------------------------

def plain(items: list) -> list:
    """Expected items as the probe's JSON holds them: tuples become lists."""
    return [list(item) if isinstance(item, tuple) else item for item in items]


def collated(chunk: list) -> list:
    """default_collate of one batch: strings stay a list; (label, text) pairs become [labels, texts]."""
    return [list(column) for column in zip(*chunk, strict=True)] if isinstance(chunk[0], list) else list(chunk)


def unbatched(batches: list) -> list:
    return [item for batch in batches
            for item in (list(map(list, zip(*batch, strict=True))) if isinstance(batch[0], list) else batch)]


def as_multiset(items: list) -> list:
    return sorted(json.dumps(item) for item in items)


def probe(args: list[str], out: Path, timeout: float) -> dict:
    """Run suites/text/_dataloader_probe.py in its own process group; the JSON it wrote."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = run_python(["-m", "suites.text._dataloader_probe", *args, str(out)], timeout, cwd=REPO, env=env)
    if done.returncode != 0 or not out.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"DataLoader probe failed: {last}\n{done.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded(fabricated, tmp_path_factory):
    """What DataLoader yields for each dataset's train split, from probe processes run side by side.

    One `cold` probe per dataset and one `warm` probe for all of them, concurrently: torch is
    imported once per process, and loaders stuck on a cold cache cost their 10 s limit once overall.
    """
    work = tmp_path_factory.mktemp("loaders")
    calls, jobs = {}, {}
    for name in DATASETS:
        built = fabricated(name)
        for phase in ("warm", "cold"):
            place_archives(name, built.files, work / phase / name)
        jobs[name] = {"root": str(work / "warm" / name), "md5": built.md5}
        # Bounds: importing torch on a loaded 2-core machine takes up to ~15 s, plus the loaders' limits.
        calls[name] = (["cold", name, str(work / "cold" / name), json.dumps(built.md5)], work / f"cold-{name}.json", 90)
    calls["warm"] = (["warm", json.dumps(jobs), str(BATCH), str(SEED)], work / "warm.json", 240)
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {key: pool.submit(probe, *call) for key, call in calls.items()}
    outcome = {key: future.exception() or future.result() for key, future in futures.items()}

    def get(name: str, phase: str) -> dict:
        """The cold probe's result for `name`, or the warm probe's loaders for it."""
        found = outcome[name if phase == "cold" else "warm"]
        if isinstance(found, Exception):
            raise found
        if phase == "warm":
            found = found[name]
            if "error" in found:
                raise RuntimeError(f"DataLoader over {name}: {found['error']}")
        return found
    return get


@pytest.mark.parametrize("name", NAMES)
def test_dataloader_batches_in_order(torchtext, fabricated, loaded, name):
    """DataLoader(batch_size=4) yields the split in order, collated four items at a time."""
    expected = plain(expected_items(name, fabricated(name).splits["train"]))
    batches = [collated(expected[i:i + BATCH]) for i in range(0, len(expected), BATCH)]
    assert loaded(name, "warm")["batches"] == batches


@pytest.mark.parametrize("name", NAMES)
def test_dataloader_shuffles_reproducibly_with_a_seed(torchtext, fabricated, loaded, name):
    """shuffle=True with a seeded generator permutes the split, the same way each time."""
    expected = plain(expected_items(name, fabricated(name).splits["train"]))
    first, second = loaded(name, "warm")["shuffled"]
    assert as_multiset(first) == as_multiset(expected)
    assert first != expected, "shuffle=True left the split in file order"
    assert second == first, "the same seed gave a different order"
    assert as_multiset(unbatched(loaded(name, "warm")["shuffled_two_workers"])) == as_multiset(expected)


@pytest.mark.parametrize("name", NAMES)
def test_two_workers_yield_each_item_once(torchtext, fabricated, loaded, name):
    """With two workers each item comes exactly once, and in file order.

    The datapipe ends in sharding_filter (worker k keeps items k, k+2, ...) and DataLoader
    collects from the workers in turn, so the file order survives.
    """
    expected = plain(expected_items(name, fabricated(name).splits["train"]))
    assert loaded(name, "warm")["two_workers"] == expected


@pytest.mark.parametrize("name", NAMES)
def test_two_workers_on_a_cold_cache(torchtext, fabricated, loaded, name):
    """Two workers also work on the first epoch, when both must wait for the archive's extraction."""
    result = loaded(name, "cold")
    if "error" in result:  # the probe's DataLoader gave up waiting for a worker
        raise CheckTimeout(f"two DataLoader workers on a cold cache yielded nothing: {result['error']}; "
                           f"torchdata promise files left pending: {result['pending']}")
    assert result["items"] == plain(expected_items(name, fabricated(name).splits["train"]))
