"""harness.noise: the decomposition separates machine-wide speed from per-process noise."""
import json
import math
import random

import pytest

from harness import noise


def processes(n=12, common=0.03, own=0.005, first=1.0, seed=1):
    """n processes of 4 benchmarks: one machine factor per process shared by all, a small
    factor of each benchmark's own, 30 rounds of 0.2 % jitter; the first process x `first`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        machine = math.exp(rng.gauss(0, common)) * (first if i == 0 else 1.0)
        out.append({f"b{k}": [0.01 * (k + 1) * machine * math.exp(rng.gauss(0, own))
                              * math.exp(rng.gauss(0, 0.002)) for _ in range(30)]
                    for k in range(4)})
    return out


def test_machine_wide_speed_is_common_and_leaves_a_small_residual():
    for row in noise.decompose(processes()):
        assert row.sigma > 0.02 and row.common > 0.8 and row.residual < row.sigma / 2
        assert row.within < 0.005  # rounds resolve far below the process-to-process spread


def test_independent_processes_share_nothing():
    rows = noise.decompose(processes(common=0.0, own=0.03))
    assert all(abs(r.common) < 0.7 and r.residual > r.sigma * 0.8 for r in rows)


def test_a_slow_first_process_shows_as_its_offset():
    rows = noise.decompose(processes(common=0.005, first=1.2))
    assert all(abs(r.first - math.log(1.2)) < 0.03 for r in rows)


def test_one_benchmark_has_no_common_part_and_too_few_processes_are_refused():
    (row,) = noise.decompose([{"x": p["b0"]} for p in processes()])
    assert row.common is None and row.residual is None
    with pytest.raises(ValueError, match="at least 3"):
        noise.decompose(processes(n=2))


def test_the_command_reads_a_keep_folder_in_run_order(tmp_path, capsys):
    procs = processes(n=6, common=0.005, first=1.5)
    order = [(i, s) for i in range(3) for s in ("ab" if i % 2 == 0 else "ba")]
    for (i, side), proc in zip(order, procs, strict=True):
        benches = [{"name": n, "group": "g", "fullname": n, "options": {"timer": "process_time"},
                    "extra_info": {}, "stats": {"data": r}} for n, r in proc.items()]
        (tmp_path / f"{i:03d}-{side}.json").write_text(json.dumps({"benchmarks": benches}))
    assert noise.main([str(tmp_path), "--pairs", "3"]) == 0
    out = capsys.readouterr().out
    firsts = [float(line.split()[-1].rstrip("%")) for line in out.splitlines()[1:]]
    assert len(firsts) == 4 and all(40 < f < 60 for f in firsts)  # the 1.5x process ran first
    assert noise.main([str(tmp_path / "none"), "--pairs", "3"]) == 2
