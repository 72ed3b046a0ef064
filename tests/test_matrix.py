import pytest

from harness.matrix import MatrixError, load_matrix, pin_requirement
from tests.conftest import ROOT

GOOD_ROW = '[[row]]\nname = "r1"\npins = { torch = "2.3.1" }\n'


def error_of(write, text) -> MatrixError:
    path = write("matrix.toml", text)
    with pytest.raises(MatrixError) as info:
        load_matrix(path)
    assert str(path) in str(info.value)
    return info.value


def test_the_shipped_matrix_has_the_five_rows_and_ci_tags():
    matrix = load_matrix(ROOT / "matrix.toml")
    assert [r.name for r in matrix.rows] == ["torch-2.3", "torch-2.8", "torch-2.11", "torch-2.14", "torch-2.15"]
    assert [r.name for r in matrix.rows if "ci" in r.tags] == ["torch-2.3", "torch-2.14"]
    assert all("nightly" in r.tags for r in matrix.rows)
    assert "torchdata==0.7.1" in matrix.row("torch-2.3").requirements()


def test_not_toml(write):
    assert "not valid TOML" in error_of(write, "[[row]\nname=").problem


def test_no_rows(write):
    err = error_of(write, "# empty\n")
    assert (err.field, err.row) == ("row", None) and "no rows" in err.problem


def test_row_without_name(write):
    err = error_of(write, '[[row]]\npins = { torch = "2.3.1" }\n')
    assert (err.row, err.field) == ("#1", "name")


def test_duplicate_name(write):
    err = error_of(write, GOOD_ROW + GOOD_ROW)
    assert (err.row, err.field) == ("r1", "name") and "duplicate" in err.problem


@pytest.mark.parametrize("name", ["../etc", "a b", "", "x" * 65, "-lead"])
def test_unsafe_name(write, name):
    err = error_of(write, f'[[row]]\nname = "{name}"\npins = {{ torch = "2.3.1" }}\n')
    assert err.field == "name" and "safe file name" in err.problem


def test_unknown_key(write):
    err = error_of(write, GOOD_ROW + 'colour = "red"\n')
    assert (err.row, err.field) == ("r1", "colour")


def test_unknown_package(write):
    err = error_of(write, '[[row]]\nname = "r1"\npins = { torch = "2.3.1", tensorflow = "2.0" }\n')
    assert (err.row, err.field) == ("r1", "pins.tensorflow")


@pytest.mark.parametrize("pin", ["2.3.x", "latest", "=>2.3", ">=two"])
def test_malformed_version(write, pin):
    err = error_of(write, f'[[row]]\nname = "r1"\npins = {{ torch = "{pin}" }}\n')
    assert (err.row, err.field) == ("r1", "pins.torch") and "malformed version" in err.problem


def test_malformed_extra(write):
    err = error_of(write, GOOD_ROW + 'extra = ["numpy<<2"]\n')
    assert err.field == "extra"


def test_error_text_names_file_row_and_field(write):
    err = error_of(write, '[[row]]\nname = "r1"\npins = { torch = "nope" }\n')
    assert str(err).startswith(f"{err.path}: row r1: field 'pins.torch': ")


@pytest.mark.parametrize("pin, requirement", [
    ("2.3.1", "torch==2.3.1"),
    (">=2.3,<2.4", "torch>=2.3,<2.4"),
    ("https://example.org/torch-2.3.1-cp311-linux_x86_64.whl",
     "torch @ https://example.org/torch-2.3.1-cp311-linux_x86_64.whl"),
    ("/wheels/torch-2.3.1-cp311-linux_x86_64.whl", "torch @ file:///wheels/torch-2.3.1-cp311-linux_x86_64.whl"),
])
def test_pins_become_requirements(pin, requirement):
    assert pin_requirement("torch", pin) == requirement


def test_environment_variable_swaps_the_file(write, monkeypatch):
    path = write("other.toml", GOOD_ROW)
    monkeypatch.setenv("HARNESS_MATRIX", str(path))
    assert load_matrix().path == path

