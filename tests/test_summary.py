import json

from harness import fsio, summary
from harness.registry import Feature

REGISTRY = {"core.a": Feature("core.a", "d", "core"), "core.b": Feature("core.b", "d", "core")}


def make_row(run_dir, name, results, install="ok", returncode=0):
    row = run_dir / "rows" / name
    fsio.write_json(row / "install.json", {"status": install, "message": "" if install == "ok" else
                                           "resolution failed: no torch==0.0.1", "pins": {"torch": "x"}})
    if install == "ok":
        fsio.write_json(row / "env.json", {"installed": {"torch": "2.14.1"}})
        fsio.write_json(row / "pytest.json", {"returncode": returncode})
        lines = [{"collected": {f"t-{fid}": [fid] for fid in results}}]
        lines += [{"test": f"t-{fid}", "features": [fid], "status": st, "message": f"{st} msg"}
                  for fid, st in results.items()]
        (row / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_summary_contract_and_verdict(tmp_path):
    run = tmp_path / "runs" / "20260101T000000Z"
    summary.start_run(run, {"run_id": run.name, "started": "s", "matrix": "m.toml", "depth": "quick",
                            "rows": ["good", "broken"]})
    make_row(run, "good", {"core.a": "pass", "core.b": "pass"})
    make_row(run, "broken", {}, install="install-failed")
    s = summary.build_summary(run, REGISTRY, [])
    assert [r["name"] for r in s["rows"]] == ["good", "broken"]
    good, broken = s["rows"]
    assert {"name", "pins", "installed", "install", "features", "benchmarks"} <= set(good)
    assert good["features"]["core.a"]["status"] == "pass"
    assert {c["status"] for c in broken["features"].values()} == {"install-failed"}
    v = summary.verdict(s)
    assert v.exit_code == 1 and any("broken: core.a: install-failed" in p for p in v.problems)


def test_all_passing_exits_zero(tmp_path):
    run = tmp_path / "runs" / "r1"
    summary.start_run(run, {"run_id": "r1"})
    make_row(run, "good", {"core.a": "pass", "core.b": "absent"})
    assert summary.verdict(summary.build_summary(run, REGISTRY, [])).exit_code == 0


def test_a_skip_fails_in_the_matrix_but_not_in_here_mode(tmp_path):
    run = tmp_path / "runs" / "r1"
    make_row(run, "good", {"core.a": "pass", "core.b": "skipped"})
    s = summary.build_summary(run, REGISTRY, [])
    assert summary.verdict(s).exit_code == 1
    s["mode"] = "here"
    assert summary.verdict(s).exit_code == 0


def test_write_summary_is_atomic_and_copies_the_newest(tmp_path):
    run = tmp_path / "runs" / "r1"
    summary.write_summary(run, {"run_id": "r1", "rows": []}, tmp_path)
    assert fsio.read_json(tmp_path / "summary.json")["run_id"] == "r1"
    assert not list(run.glob(".*.tmp"))


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    fsio.write_json(path, {"ok": True})

    class Boom(Exception):
        pass

    def explode(*a, **k):
        raise Boom

    monkeypatch.setattr(fsio.os, "fsync", explode)  # dies after writing, before the rename
    try:
        fsio.write_json(path, {"ok": False})
    except Boom:
        pass
    monkeypatch.undo()
    assert fsio.read_json(path) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_damaged_history_is_reported_and_left_alone(tmp_path, capsys):
    good = tmp_path / "runs" / "r1" / "summary.json"
    bad = tmp_path / "runs" / "r2" / "summary.json"
    fsio.write_json(good, {"run_id": "r1", "rows": []})
    bad.parent.mkdir(parents=True)
    bad.write_text("{ torn")
    history = summary.load_history(tmp_path)
    assert [h["run_id"] for h in history] == ["r1"]
    assert "unreadable" in capsys.readouterr().err and bad.read_text() == "{ torn"


def test_numerical_features_carry_their_measurements_and_older_rows_do_not_need_them(tmp_path):
    run = tmp_path / "runs" / "r1"
    summary.start_run(run, {"run_id": "r1"})
    make_row(run, "row", {"core.a": "pass", "core.b": "pass"})
    results = run / "rows" / "row" / "results.jsonl"
    lines = [json.loads(x) for x in results.read_text().splitlines()]
    lines[1]["properties"] = [["measured", {"name": "mfcc", "metric": "max_abs", "value": 1e-4, "tolerance": 1e-2,
                                            "max_abs": 1e-4}], ["audio_backends", ["ffmpeg"]]]
    results.write_text("".join(json.dumps(x) + "\n" for x in lines))
    row = summary.build_summary(run, REGISTRY, [])["rows"][0]
    a, b = row["features"]["core.a"], row["features"]["core.b"]
    assert a["status"] == "pass" and a["headroom"] == 100.0
    assert a["measured"] == [{"test": "t-core.a", "name": "mfcc", "metric": "max_abs", "value": 1e-4,
                              "tolerance": 1e-2, "max_abs": 1e-4, "headroom": 100.0}]
    assert "measured" not in b and "headroom" not in b  # a feature that measured nothing is unchanged
    assert row["properties"] == {"audio_backends": ["ffmpeg"]}
    assert summary.verdict({"rows": [row]}).exit_code == 0
