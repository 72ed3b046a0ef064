"""The operator-list difference between rows that the report shows for custom mobile builds."""
import copy

from harness import mobile_ops, report
from harness.summary import Verdict
from tests.test_report import make_summary


def row(name, operators, registered=4000):
    return {"name": name, "properties": {mobile_ops.PROPERTY: {
        "mobilenet_v2": {"kept": len(operators), "registered": registered, "operators": operators}}}}


def test_split_names_and_overloads():
    assert mobile_ops.split("aten::add.Tensor") == ("aten::add", "Tensor")
    assert mobile_ops.split("aten::conv2d") == ("aten::conv2d", "")
    assert mobile_ops.split("aten::__getitem__.t") == ("aten::__getitem__", "t")


def test_diff_separates_a_changed_overload_from_appeared_and_disappeared():
    before = ["aten::conv2d", "aten::add.Tensor", "aten::hardtanh_", "aten::size"]
    after = ["aten::conv2d", "aten::add.Scalar", "aten::add.out", "aten::relu6", "aten::size"]
    d = mobile_ops.diff(before, after)
    assert d["changed"] == {"aten::add": {"from": ["aten::add.Tensor"], "to": ["aten::add.Scalar", "aten::add.out"]}}
    assert d["appeared"] == ["aten::relu6"]
    assert d["disappeared"] == ["aten::hardtanh_"]


def test_an_added_overload_beside_a_kept_one_is_an_appearance_not_a_change():
    d = mobile_ops.diff(["aten::add.Tensor"], ["aten::add.Tensor", "aten::add.int"])
    assert d == {"appeared": ["aten::add.int"], "disappeared": [], "changed": {}}


def test_row_changes_compare_consecutive_rows_that_recorded_the_list():
    rows = [row("torch-2.3", ["aten::add.Tensor", "aten::conv2d"], 4352),
            {"name": "torch-2.8", "properties": {}},  # the check did not record: passed over
            row("torch-2.11", ["aten::add.Tensor", "aten::conv2d"], 4400),
            row("torch-2.14", ["aten::add.Scalar", "aten::conv2d", "aten::linear"], 4473)]
    changes = mobile_ops.row_changes(rows)
    assert [(c["from"], c["to"], c["same"]) for c in changes] == [
        ("torch-2.3", "torch-2.11", True), ("torch-2.11", "torch-2.14", False)]
    last = changes[1]
    assert last["kept"] == [2, 3] and last["registered"] == [4400, 4473]
    assert last["changed"] == {"aten::add": {"from": ["aten::add.Tensor"], "to": ["aten::add.Scalar"]}}
    assert last["appeared"] == ["aten::linear"] and last["disappeared"] == []


def test_malformed_or_missing_lists_give_no_changes():
    assert mobile_ops.row_changes([{"name": "a"}, {"name": "b", "properties": {"mobile_ops": "x"}}]) == []
    assert mobile_ops.row_changes([row("only", ["aten::size"])]) == []


def test_the_report_shows_the_difference_between_rows(tmp_path):
    summary = make_summary()
    second = copy.deepcopy(summary["rows"][0])
    summary["rows"][0].update(row("torch-2.3", ["aten::add.Tensor", "aten::size"], 4352))
    second.update(row("torch-2.14", ["aten::add.Scalar", "aten::size", "aten::linear"], 4473))
    summary["rows"].append(second)
    out = tmp_path / "index.html"
    report.write_report(summary, Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    html = out.read_text()
    assert 'id="mobile-ops"' in html
    assert "2 of 4352 → 3 of 4473" in html
    assert "<code>aten::add.Tensor</code> → <code>aten::add.Scalar</code>" in html
    assert "<code>aten::linear</code>" in html


def test_no_section_without_operator_lists(tmp_path):
    out = tmp_path / "index.html"
    report.write_report(make_summary(), Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    assert 'id="mobile-ops"' not in out.read_text()
