"""RPC round-trip latency of a small tensor between two local processes (the 1.4 RPC API).

The rounds are timed inside the calling worker (see _rpc_roundtrip.py) and replayed into
pytest-benchmark through ReplayClock, so they land in benchmark.json as ordinary raw rounds."""
import json
import os
from pathlib import Path

import pytest

from harness.isolate import run_python
from suites.bench._bench import ReplayClock, bench, replay

REPO = Path(__file__).resolve().parents[2]
ROUNDS, WARMUP = 500, 50  # a round trip takes well under a millisecond when the machine is idle
BOUND_S = 120  # two torch imports, the rendezvous and 550 calls, with a wide margin for load
CLOCK = ReplayClock()


@bench("rpc", timer=CLOCK)
@pytest.mark.feature("bench.core.rpc_roundtrip")
def test_rpc_roundtrip(torch, benchmark, tmp_path):
    """rpc_sync(torch.add) of 16 floats to the other process and back, result checked exactly."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = run_python(["-m", "suites.bench._rpc_roundtrip", str(tmp_path), str(ROUNDS),
                       str(WARMUP)], BOUND_S, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "rounds.json").read_text())
    assert result["correct"], "the callee's torch.add differs from the local one"
    assert len(result["rounds"]) == ROUNDS
    replay(benchmark, CLOCK, result["rounds"], result["memory"], warmup=WARMUP,
           transport="tensorpipe/uv")
