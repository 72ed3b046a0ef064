"""Fault injection: a check that kills its process is `crash` alone; every other check of the row reports
its own status, and the row's suites leave no process behind.

The row is a miniature suite tree run by `python -m harness run-suites` exactly as a matrix row runs
(xdist workers for the checks, then the benchmarks serially). Which checks die is chosen by the
HARNESS_INJECT_FAULT environment variable, so the same tree also shows what the row reads without faults.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest

from harness import collect
from harness.registry import load_registry
from tests.conftest import ROOT, demo_suite

FEATURES = "".join(f'[[feature]]\nid = "demo.{name}"\ndescription = "{name}"\n'
                   for name in ("abort", "segv", "exit", "ok", "ok_after", "assert", "other_module", "bench"))

SUITE = '''
import ctypes, os, time
import pytest

FAULT = os.environ.get("HARNESS_INJECT_FAULT", "")

@pytest.mark.feature("demo.abort")
def test_abort():
    if "abort" in FAULT:
        os.abort()

@pytest.mark.feature("demo.segv")
def test_segv():
    if "segv" in FAULT:
        ctypes.string_at(0)

@pytest.mark.feature("demo.exit")
def test_exit():
    if "exit" in FAULT:
        os._exit(3)

@pytest.mark.feature("demo.ok")
def test_ok():
    assert os.environ.get("OMP_NUM_THREADS") == "1"

@pytest.mark.feature("demo.assert")
def test_assert():
    assert 1 + 1 == 3, "arithmetic"

@pytest.mark.feature("demo.ok_after")
def test_ok_after():
    assert True

@pytest.mark.feature("demo.bench")
def test_bench(benchmark):
    # Benchmarks run alone: no xdist worker is alive beside them.
    assert "PYTEST_XDIST_WORKER" not in os.environ
    benchmark(sum, range(100))
'''

OTHER = '''
import pytest

@pytest.mark.feature("demo.other_module")
def test_other():
    assert True
'''


def run_row(tmp_path, fault: str) -> tuple[dict, subprocess.CompletedProcess, str]:
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    (tmp_path / "suites" / "demo" / "test_other.py").write_text(OTHER)
    token = f"harness-isolation-{uuid.uuid4().hex}"
    env.update(HARNESS_INJECT_FAULT=fault, HARNESS_ISOLATION_TOKEN=token)
    out = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    registry = load_registry(tmp_path / "suites")
    records = collect.read_records(out / collect.RESULTS)
    exit_info = json.loads((out / collect.PYTEST_EXIT).read_text())
    outcomes = collect.feature_outcomes(registry, records, exit_info)
    return {fid: (o.status.value, o.message) for fid, o in outcomes.items()}, proc, token


def survivors(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if token.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("fault", ["", "abort,segv,exit"])
def test_a_check_that_kills_its_process_is_crash_alone(tmp_path, fault):
    statuses, proc, token = run_row(tmp_path, fault)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    expected_dead = {"demo.abort": "SIGABRT", "demo.segv": "SIGSEGV", "demo.exit": "exited with status 3"}
    for fid, how in expected_dead.items():
        if fault:
            assert statuses[fid][0] == "crash", statuses
            assert how in statuses[fid][1], statuses[fid]
        else:
            assert statuses[fid][0] == "pass", statuses
    # Every other check reports what it would without the faults.
    assert statuses["demo.ok"] == ("pass", "")
    assert statuses["demo.ok_after"] == ("pass", "")
    assert statuses["demo.other_module"] == ("pass", "")
    assert statuses["demo.bench"] == ("pass", "")
    assert statuses["demo.assert"][0] == "fail" and "arithmetic" in statuses["demo.assert"][1]
    assert survivors(token) == []
    # The progress lines name modules (no TTY here), and the closing table names the broken features.
    assert "demo/test_demo.py: 6 checks" in proc.stdout  # the checks phase, before the benchmark
    assert "demo/test_other.py: 1 checks" in proc.stdout
    assert "demo.assert" in proc.stdout
