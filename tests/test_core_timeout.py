"""A deadlocked RPC check becomes `timeout` in the results within its bound, and leaves no process.

Runs the core suite's rpc_sync/rpc_async check in a child pytest with HARNESS_RPC_INJECT_HANG=1
(worker0's first RPC makes worker1 sleep forever) and a short HARNESS_RPC_BOUND_S. The child
needs torch: the `torch_python` fixture provides it.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[1]
BOUND_S = 20
# The child pytest imports torch and the plugin before the check starts and tears down after:
# allow that much on a loaded 2-core machine, on top of the bound itself.
STARTUP_S = 90


def processes_with(token: str) -> list[int]:
    """Live processes whose environment carries `token` (children the check left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_hung_rpc_worker_is_reported_as_timeout_and_killed(tmp_path, torch_python):
    results = tmp_path / "results.jsonl"
    token = f"harness-timeout-test-{uuid.uuid4().hex}"
    env = dict(os.environ, HARNESS_RPC_INJECT_HANG="1", HARNESS_RPC_BOUND_S=str(BOUND_S),
               HARNESS_TIMEOUT_TEST_TOKEN=token,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    command = [torch_python, "-m", "pytest", "suites/core/test_rpc.py", "-q",
               "-k", "test_rpc_sync_async", "--harness-results", str(results)]
    started = time.monotonic()
    child = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=BOUND_S + 2 * STARTUP_S)
    elapsed = time.monotonic() - started

    records = [json.loads(line) for line in results.read_text().splitlines()]
    tests = [r for r in records if "test" in r]
    assert len(tests) == 1, child.stdout[-2000:] + child.stderr[-2000:]
    (record,) = tests
    assert record["features"] == ["core.rpc.rpc_sync_async"]
    assert record["status"] == "timeout", record
    assert f"exceeded {BOUND_S}s" in record["message"]
    assert BOUND_S <= record["duration"] < BOUND_S + STARTUP_S
    assert elapsed < BOUND_S + STARTUP_S
    assert processes_with(token) == [], "the hung RPC workers were not killed"
