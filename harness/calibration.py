"""Calibration files: the process-to-process noise of each benchmark on this machine.

`python -m harness.calibrate` writes one file per A/A calibration, <timestamp>.json in the
settings' calibration folder ($HARNESS_CALIBRATION):

    {"created": "20261126T101500Z", "host": "...", "cpus": 2, "python": "...", "pairs": 20,
     "benchmarks": {"test_mfcc[b1]": {"sigma": 0.027, "df": 39, "sigma_pair": ..., ...}}}

`sigma` is the SD of the log per-process statistic (stats.log_stat) over all processes, `df` its
degrees of freedom. The regression rule (harness/perf.py) takes each benchmark's prior noise from
the newest usable file (load_calibration, prior_noise), or from the built-in table below when this
machine has none.

Another machine's figures. Noise belongs to the machine that measured it: a file whose recorded
`host` or `cpu` differs from this machine's (this_machine()), and the built-in table (made on the
development VM), are *foreign*: their entries carry "foreign": True, their label says "another
machine", and harness/perf.py never fails a run on a verdict whose noise includes them (it stays
suspected). Calibrate the machine the nightly runs on: `nox -s calibrate -- ROW --pairs 20`.
"""
from __future__ import annotations

import functools
import json
import platform
from pathlib import Path

from harness import fsio, settings, stats

# The built-in table, used until this machine has a calibration file: the process-to-process SD
# of the log statistic that `python -m harness.calibrate --pairs 20` measured on the 2-core
# development machine (t214 venv, 40 processes, 2026-11-26), at least DEFAULT_FLOOR because other
# machines differ; benchmarks it did not measure get DEFAULT_NOISE (above the largest figure it
# saw, Java's 5.9%).
BUILT_IN_SOURCE = "built-in A/A calibration (2026-11-26, another machine)"
DEFAULT_DF = 39
DEFAULT_FLOOR = 0.02
DEFAULT_SIGMA = {
    "test_java_forward_latency": 0.059, "test_lowpass_biquad[b16]": 0.041,
    "test_lowpass_biquad[b1]": 0.038, "test_mfcc[b16]": 0.014, "test_mfcc[b1]": 0.027,
    "test_mobilenet_v2_lite_interpreter": 0.024, "test_onnxruntime_resnet18": 0.004,
    "test_resnet18_eager[b1]": 0.028, "test_resnet18_int8[b1]": 0.010,
    "test_resnet18_scripted[b1]": 0.020, "test_rpc_roundtrip": 0.036,
    "test_spectrogram[b16]": 0.026, "test_spectrogram[b1]": 0.015,
}
DEFAULT_NOISE = stats.Noise(sigma=0.06, df=DEFAULT_DF, source=BUILT_IN_SOURCE, foreign=True)
CALIBRATION_SOURCE = "calibration"   # the label of an entry whose file says nothing of its origin
FOREIGN = "another machine"
CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """This machine's CPU model: /proc/cpuinfo's first 'model name' (Linux), else
    platform.processor(), else platform.machine(); '' when none says."""
    try:
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or ""


def this_machine() -> dict[str, str]:
    """{"host": platform.node(), "cpu": cpu_model()}: what a calibration file records of the
    machine that made it, and what load_calibration compares it with."""
    return {"host": platform.node(), "cpu": cpu_model()}


def foreign_reason(data: dict, machine: dict[str, str]) -> str | None:
    """Why a calibration file's figures belong to another machine ("host X, not Y" / "cpu ..."),
    or None when what it records (host, cpu) matches `machine` or it records neither."""
    for key in ("host", "cpu"):
        theirs, ours = data.get(key), machine.get(key)
        if isinstance(theirs, str) and theirs and ours and theirs != ours:
            return f"{key} {theirs!r}, not this machine's {ours!r}"
    return None


def source_label(data: dict) -> str | None:
    """How reports name a calibration file's figures: 'calibration <created> on <host>' as far as
    the file records them; None when it records neither (then they are just 'calibration')."""
    created, host = data.get("created"), data.get("host")
    parts = [CALIBRATION_SOURCE]
    if isinstance(created, str) and created:
        parts.append(created)
    if isinstance(host, str) and host:
        parts.append(f"on {host}")
    return " ".join(parts) if len(parts) > 1 else None


def load_calibration(where: str | Path | None = None, machine: dict[str, str] | None = None
                     ) -> tuple[dict[str, dict], list[str]]:
    """The newest usable calibration: `where` is a file or a directory of <timestamp>.json
    (default: the settings' calibration folder, read at call time).

    Returns ({benchmark: {"sigma", "df", ...}}, warnings): each entry as the file has it, plus
    "source" (source_label) when the file records when or where it was made. A file made on
    another machine than `machine` (default this_machine()) gives entries with "foreign": True,
    a source ending in "(another machine)" and a warning naming the difference. A corrupt file
    is reported in the warnings and left alone, and the next older usable one is used; none
    usable gives ({}, warnings). The warnings are published: they name a file relative to the
    settings' reports folder (`calibration/<timestamp>.json`), or by its file name outside it."""
    machine = this_machine() if machine is None else machine
    where = Path(where or settings.current().calibration)
    files = sorted(where.glob("*.json"), reverse=True) if where.is_dir() else [where]
    problems: list[str] = []
    reports = settings.current().reports
    for path in files:
        shown = fsio.shown(path, reports)  # the problems are published: no machine path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["benchmarks"]
            for name, entry in entries.items():
                if not (float(entry["sigma"]) >= 0 and float(entry["df"]) > 0):
                    raise ValueError(f"{name}: sigma/df out of range")
            label = source_label(data)
            reason = foreign_reason(data, machine)
            if reason is not None:
                problems.append(f"{shown}: calibration made on another machine ({reason}); its "
                                "verdicts are shown as suspected and never fail a run. Calibrate "
                                "this one: nox -s calibrate -- ROW --pairs 20")
                label = f"{label or CALIBRATION_SOURCE} ({FOREIGN})"
                return {name: dict(entry, source=label, foreign=True)
                        for name, entry in entries.items()}, problems
            if label is None:
                return entries, problems
            return {name: dict(entry, source=label) for name, entry in entries.items()}, problems
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{shown}: unusable calibration file, left as it is ({fsio.reason(exc)})")
    return {}, problems


def prior_noise(name: str, calibration: dict[str, dict]) -> stats.Noise:
    """The prior process noise of benchmark `name`: its calibration entry ({"sigma", "df"},
    optional "source" and "foreign"), else the built-in figure (at least DEFAULT_FLOOR), else
    DEFAULT_NOISE; the built-in ones are foreign (made on the development VM)."""
    entry = calibration.get(name)
    if entry:
        return stats.Noise(float(entry["sigma"]), float(entry["df"]),
                           str(entry.get("source") or CALIBRATION_SOURCE),
                           foreign=bool(entry.get("foreign", False)))
    if name in DEFAULT_SIGMA:
        return stats.Noise(max(DEFAULT_SIGMA[name], DEFAULT_FLOOR), DEFAULT_DF, BUILT_IN_SOURCE,
                           foreign=True)
    return DEFAULT_NOISE
