"""The installability map: uv's answers per release pair, cached, drawn beside the tested rows."""
import json
import re

import pytest

from harness import fsio, index
from harness.resolve import command, model, pairs, view
from harness.resolve.client import Cache, Target, ask
from harness.resolve.pairs import Options
from harness.summary import now

TARGET = Target()
INDEX = TARGET.index
VISION_23 = ("Because torchvision==0.23.0 depends on torch==2.8.0 and you require torch<2.0, we can "
             "conclude that your requirements and torchvision==0.23.0 are incompatible.")


def cache_with_releases(path, **releases) -> Cache:
    """A cache that already knows the index's release lists: no listing is fetched."""
    cache = Cache(path)
    for package, versions in releases.items():
        cache.releases[f"{INDEX} {package}"] = {"fetched": now(), "versions": versions}
    return cache


SMALL = {"torch": ["2.3.0", "2.3.1", "2.8.0"], "torchvision": ["0.18.1", "0.23.0"]}
SMALL_OPTIONS = Options(libraries=(("torchvision", "0.18"),), jobs=4)


def test_a_matching_pair_resolves_and_a_mismatched_one_states_the_conflict():
    """A tiny real resolution: uv against the index, metadata only."""
    ok = ask(["torch==2.3.1", "torchvision==0.18.1"], TARGET)
    assert ok["status"] == "ok", ok["message"]
    assert ok["resolved"]["torch"] == "2.3.1" and ok["resolved"]["torchvision"] == "0.18.1"
    assert "nvidia-cudnn-cu12" in ok["resolved"]  # the Linux x86_64 target, not this machine
    no = ask(["torch==2.3.1", "torchvision==0.23.0"], TARGET)
    assert no["status"] == "conflict"
    assert view.reason(no) == "torchvision==0.23.0 depends on torch==2.8.0"


def test_the_map_asks_uv_once_then_answers_from_its_cache(tmp_path):
    cache = cache_with_releases(tmp_path / "cache.json", **SMALL)
    data = pairs.build_map(SMALL_OPTIONS, cache, log=lambda *_: None).to_json()
    cells = {(p["version"], p["torch"]): p for p in data["pairs"]}
    assert {k: c["status"] for k, c in cells.items()} == {
        ("0.23.0", "2.3"): "conflict", ("0.23.0", "2.8"): "ok",
        ("0.18.1", "2.3"): "ok", ("0.18.1", "2.8"): "conflict"}
    assert cells[("0.18.1", "2.3")]["resolved"] == {"torch": "2.3.1", "torchvision": "0.18.1"}
    assert cells[("0.23.0", "2.3")]["derived"]  # the release's own torch pin rules 2.3 out
    assert data["asked"] == 4  # two probes, two pairs; never the two the probes rule out

    def refuse(*_):
        raise AssertionError("answered from the cache, uv is not asked again")

    again = pairs.build_map(SMALL_OPTIONS, Cache(tmp_path / "cache.json"), asker=refuse, log=lambda *_: None).to_json()
    assert again["asked"] == 0 and again["pairs"] == data["pairs"]


def fake_uv(asked):
    """Pins like the real releases: torchvision 0.18.1 needs torch==2.3.1, 0.23.0 needs 2.8.0."""
    needs = {"0.18.1": "2.3.1", "0.23.0": "2.8.0"}

    def ask(requirements, target):
        asked.append(tuple(requirements))
        torch, vision = requirements[0], requirements[1].split("==")[1]
        if torch == "torch<2.0":
            return {"status": "conflict", "resolved": {},
                    "message": VISION_23.replace("0.23.0", vision).replace("2.8.0", needs[vision])}
        if torch == "torch==2.8.*" and vision == "0.18.1":
            return {"status": "error", "resolved": {}, "message": "Failed to fetch: connection reset"}
        fits = torch.removeprefix("torch==").removesuffix(".*") == needs[vision].rsplit(".", 1)[0]
        return ({"status": "ok", "resolved": {"torch": needs[vision], "torchvision": vision}, "message": ""}
                if fits else {"status": "conflict", "resolved": {}, "message": f"Because torchvision=={vision} "
                              f"depends on torch=={needs[vision]} and you require {torch}, ..."})
    return ask


def test_exhaustive_asks_every_pair_and_errors_are_never_cached(tmp_path):
    asked = []
    cache = cache_with_releases(tmp_path / "c.json", **SMALL)
    options = Options(libraries=(("torchvision", "0.18"),), exhaustive=True)
    data = pairs.build_map(options, cache, asker=fake_uv(asked), log=lambda *_: None).to_json()
    assert len(asked) == 4 and not any("torch<2.0" in a for a in asked)
    assert data["errors"] == 1
    assert [p["status"] for p in data["pairs"] if p["version"] == "0.18.1"] == ["ok", "error"]
    asked.clear()
    pairs.build_map(options, Cache(tmp_path / "c.json"), asker=fake_uv(asked), log=lambda *_: None).to_json()
    assert asked == [("torch==2.8.*", "torchvision==0.18.1")]  # only the error is asked again


def test_a_new_patch_release_is_a_new_question(tmp_path):
    asked = []
    pairs.build_map(SMALL_OPTIONS, cache_with_releases(tmp_path / "c.json", **SMALL), asker=fake_uv(asked),
                      log=lambda *_: None).to_json()
    asked.clear()
    newer = {**SMALL, "torch": SMALL["torch"] + ["2.3.2"]}
    cache = Cache(tmp_path / "c.json")
    cache.releases[f"{INDEX} torch"]["versions"] = newer["torch"]
    pairs.build_map(SMALL_OPTIONS, cache, asker=fake_uv(asked), log=lambda *_: None).to_json()
    assert asked == [("torch==2.3.*", "torchvision==0.18.1")]


def test_release_lists_skip_yanked_and_pre_releases():
    files = [{"filename": name, "yanked": name.startswith("torch-2.1.0")} for name in (
        "torch-2.0.0-cp311-cp311-manylinux1_x86_64.whl", "torch-2.0.1-cp311-cp311-manylinux1_x86_64.whl",
        "torch-2.1.0-cp311-cp311-manylinux1_x86_64.whl", "torch-2.2.0rc1-cp311-none-any.whl",
        "torch-1.13.1.tar.gz", "torch-2.2.0.dev20240101-cp311-none-any.whl", "not a file name")]
    releases = index.final_versions(index.parse_simple({"files": files}))
    assert releases == ["1.13.1", "2.0.0", "2.0.1"]
    assert pairs.torch_minors(releases + ["2.10.0", "2.9.1", "2.9.0"]) == {
        "2.0": "2.0.1", "2.9": "2.9.1", "2.10": "2.10.0"}
    assert pairs.since(["0.14.1", "0.15.2", "0.15.10", "0.16.0"], "0.15") == ["0.16.0", "0.15.10", "0.15.2"]


MAP = {"generated": "g", "python": "3.11", "platform": "x86_64-manylinux_2_28", "index": INDEX, "uv": "uv",
       "torch": [{"minor": "2.3", "newest": "2.3.1"}, {"minor": "2.14", "newest": "2.14.1"}],
       "libraries": {"torchvision": ["0.29.1", "0.18.1"], "torchaudio": ["2.11.0"]},
       "pairs": [
           {"library": "torchvision", "version": "0.29.1", "torch": "2.3", "status": "conflict", "resolved": {},
            "message": "Because torchvision==0.29.1 depends on torch>=2.14.0 and you require torch==2.3.*"},
           {"library": "torchvision", "version": "0.29.1", "torch": "2.14", "status": "ok",
            "resolved": {"torch": "2.14.1", "torchvision": "0.29.1"}, "message": ""},
           {"library": "torchvision", "version": "0.18.1", "torch": "2.3", "status": "ok",
            "resolved": {"torch": "2.3.1", "torchvision": "0.18.1"}, "message": ""},
           {"library": "torchvision", "version": "0.18.1", "torch": "2.14", "status": "error", "resolved": {},
            "message": "Failed to fetch <https://pypi.org/simple/torch/>: <script>alert(1)</script>"},
           {"library": "torchaudio", "version": "2.11.0", "torch": "2.3", "status": "ok",
            "resolved": {"torch": "2.3.1", "torchaudio": "2.11.0"}, "message": ""},
           {"library": "torchaudio", "version": "2.11.0", "torch": "2.14", "status": "ok",
            "resolved": {"torch": "2.14.1", "torchaudio": "2.11.0"}, "message": ""}]}


def row(name, installed, features, install="ok"):
    return {"name": name, "pins": {k: v for k, v in installed.items()}, "install": {"status": install, "message": ""},
            "installed": installed if install == "ok" else {},
            "features": {fid: {"status": st, "message": ""} for fid, st in features.items()}}


SUMMARY = {"rows": [
    row("torch-2.14", {"torch": "2.14.1+cpu", "torchvision": "0.29.1", "torchaudio": "2.11.0"},
        {"vision.models.script": "pass", "audio.io.roundtrip": "fail", "audio.transforms.mfcc": "known-failure"}),
    row("torch-2.3", {"torch": "2.3.1", "torchvision": "0.18.1", "torchaudio": "2.3.1"},
        {"vision.models.script": "known-failure"}, install="install-failed"),
]}


def test_the_map_frames_the_pairs_the_matrix_ran():
    drawn = view.view(MAP, SUMMARY)
    vision, audio = drawn["libraries"]
    assert vision["releases"][0]["needs"] == "torch>=2.14.0"
    assert "why" not in vision["releases"][0]["cells"][0]  # the `needs` column says it already
    works = vision["releases"][0]["cells"][1]
    assert works["resolved"] == "2.14.1" and [t["outcome"] for t in works["tested"]] == ["works"]
    breaks = audio["releases"][0]["cells"][1]  # resolves, but a check fails when run
    assert breaks["tested"][0]["outcome"] == "breaks"
    assert breaks["tested"][0]["detail"] == ["audio.io.roundtrip: fail", "audio.transforms.mfcc: known-failure"]
    failed = vision["releases"][1]["cells"][0]
    assert failed["status"] == "ok" and failed["tested"][0]["outcome"] == "install-failed"
    assert [(u["library"], u["version"], u["row"]) for u in drawn["unmapped"]] == [("torchaudio", "2.3.1", "torch-2.3")]
    assert drawn["counts"] == {"ok": 4, "conflict": 1, "error": 1, "missing": 0, "tested": 3, "works": 1,
                               "known": 0, "breaks": 1, "install-failed": 1, "not-run": 0}
    assert len(json.dumps(view.view(MAP))) < 3000  # compact: it rides along in summary.json


def test_the_map_page_escapes_what_the_resolver_said(tmp_path):
    html = view.render_page(view.view(MAP, SUMMARY))
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert 'id="rmap-torchaudio-2.11.0-2.14"' in html and 'data-tested="breaks"' in html
    assert re.search(r'id="rmap-torchvision-0.29.1-2.3" data-status="conflict" data-tested="" '
                     r'title="torchvision==0.29.1 depends on torch&gt;=2.14.0"', html)


def test_load_map_is_none_without_a_map_and_warns_on_a_torn_one(tmp_path, capsys):
    assert view.load_map(tmp_path) is None
    (tmp_path / "resolve.json").write_text("{ torn")
    assert view.load_map(tmp_path) is None and "unreadable" in capsys.readouterr().err
    fsio.write_json(tmp_path / "resolve.json", MAP)
    assert view.load_map(tmp_path, SUMMARY)["counts"]["tested"] == 3


def test_nox_resolve_writes_the_map_and_a_repeat_asks_nothing(tmp_path, capsys):
    cache = cache_with_releases(tmp_path / "cache.json", **SMALL)
    cache.save()
    args = ["--reports", str(tmp_path / "reports"), "--cache", str(tmp_path / "cache.json"),
            "--library", "torchvision=0.18", "--torch", "2.3", "2.8"]
    assert command.main(args) == 0
    assert command.main(args) == 0
    out = capsys.readouterr().out
    assert "2 pairs resolve, 2 do not, 0 could not be asked; 0 asked" in out.splitlines()[-2]
    data = fsio.read_json(tmp_path / "reports" / "resolve.json")
    assert {(p["version"], p["torch"], p["status"]) for p in data["pairs"]} >= {("0.18.1", "2.3", "ok")}
    assert 'id="resolve-map"' in (tmp_path / "reports" / "resolve.html").read_text()


@pytest.mark.parametrize("text", ["torchvision", "torchvision=0.20"])
def test_library_option(text):
    assert command._library(text)[0] == "torchvision"


def test_the_report_shows_the_map_beside_the_tested_rows(tmp_path):
    """`nox -s report` with reports/resolve.json present: the map is in index.html and summary.json."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.test_merge import FEATURES, row_folder

    (tmp_path / "suites" / "core").mkdir(parents=True)
    (tmp_path / "suites" / "core" / "features.toml").write_text(FEATURES)
    reports = tmp_path / "reports"
    run = reports / "runs" / "r1"
    fsio.write_json(run / "run.json", {"run_id": "r1", "rows": ["torch-2.14"]})
    row_folder(run / "rows" / "torch-2.14", "2.14.1", {"core.alpha": "pass", "vision.gamma": "fail"})
    fsio.write_json(reports / "resolve.json", MAP)
    proc = subprocess.run([sys.executable, "-m", "harness", "report", "--reports", str(reports), "--run", "r1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HARNESS_SUITES=str(tmp_path / "suites"), PYTHONPATH=str(ROOT)))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # vision.gamma fails
    html = (reports / "index.html").read_text()
    assert 'id="resolve-map"' in html and 'id="feature-grid"' in html
    cell = re.search(r'<td class="rm rm-ok rt-breaks" id="rmap-torchvision-0.29.1-2.14"[^>]*>(.*?)</td>', html, re.S)
    assert cell and 'href="#row-torch-2.14"' in cell.group(1) and "vision.gamma: fail" in cell.group(1)
    summary = fsio.read_json(reports / "summary.json")
    assert summary["resolve"]["counts"]["breaks"] == 1


CORPUS = {"schema": 1, "cases": [
    {"name": "torchaudio-cuda", "link": "https://github.com/pytorch/audio/pull/4226", "rows": [
        {**row("good", {"torch": "2.14.1", "torchaudio": "2.11.1"}, {"audio.transforms.mfcc": "pass"}), "extra": []},
        {**row("bad", {"torch": "2.14.1", "torchaudio": "2.11.0"}, {"audio.transforms.mfcc": "error"}), "extra": []}]},
    {"name": "numpy2", "link": "https://github.com/pytorch/pytorch/issues/132179", "rows": [
        {**row("bad", {"torch": "2.3.1", "torchaudio": "2.11.0"}, {"audio.transforms.mfcc": "error"}),
         "extra": ["numpy>=2"]}]},
]}


def test_a_pair_the_corpus_shows_broken_reads_resolves_but_breaks_with_its_link(tmp_path):
    drawn = view.view(MAP, None, CORPUS)
    audio = drawn["libraries"][1]
    on_2_3, on_2_14 = audio["releases"][0]["cells"]
    assert on_2_14["status"] == "ok" and on_2_14["tested"] == [
        {"row": "torchaudio-cuda/bad", "outcome": "breaks", "detail": ["audio.transforms.mfcc: error"],
         "torch": "2.14.1", "case": "torchaudio-cuda", "link": "https://github.com/pytorch/audio/pull/4226"}]
    assert "tested" not in on_2_3  # that case breaks because of its numpy extra, not the pair
    assert drawn["counts"]["breaks"] == 1 and drawn["unmapped"] == []  # the good row (2.11.1) is not drawn
    html = view.render_page(drawn)
    assert '<a href="https://github.com/pytorch/audio/pull/4226">torchaudio-cuda/bad</a>: breaks' in html
    fsio.write_json(tmp_path / "resolve.json", MAP)
    assert view.load_map(tmp_path)["counts"]["breaks"] == 0
    fsio.write_json(tmp_path / "cases.json", CORPUS)
    assert view.load_map(tmp_path)["counts"]["breaks"] == 1


def test_the_map_carries_its_schema_version_and_older_maps_stay_readable(tmp_path, capsys):
    cache = cache_with_releases(tmp_path / "cache.json", **SMALL)
    written = pairs.build_map(SMALL_OPTIONS, cache, asker=fake_uv([]), log=lambda *_: None).to_json()
    assert written["schema_version"] == model.SCHEMA_VERSION == 1
    assert {p["status"] for p in written["pairs"]} <= {s.value for s in model.AnswerStatus}
    assert all(type(p["status"]) is str for p in written["pairs"])  # enums leave plain JSON strings
    assert model.ResolveMap.from_json(json.loads(json.dumps(written))).to_json() == written
    old = model.ResolveMap.from_json(MAP)  # written before the version was recorded
    assert old.pairs[0].status is model.AnswerStatus.CONFLICT and old.to_json()["schema_version"] == 1
    fsio.write_json(tmp_path / "resolve.json", {**MAP, "schema_version": 2})
    assert view.load_map(tmp_path) is None
    assert "schema_version 2" in capsys.readouterr().err


def test_tested_outcomes_are_the_enum_values():
    drawn = view.view(MAP, SUMMARY)
    outcomes = {t["outcome"] for lib in drawn["libraries"] for r in lib["releases"]
                for c in r["cells"] for t in c.get("tested", [])}
    assert outcomes and outcomes <= set(view.OUTCOMES) == {o.value for o in model.Outcome}
    assert set(view.OUTCOMES) <= set(drawn["counts"])
