"""What a numerical check measured against its reference, recorded beside the tolerance it applied.

A check calls `record(request, Measurement(...))` (or `assert_allclose(request, name, actual, expected,
rtol=, atol=)`, which measures, records and asserts in one step; `compare` measures only). The
measurement travels with the test's result line (`properties`, key `measured`) into the row's
features in summary.json (harness/collect.py), where the report shows the headroom (how many times
the error could grow before the check fails) and flags drift (harness/drift.py).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PROPERTY = "measured"

# How a measurement's `value` relates to its `tolerance`.
LOWER_IS_BETTER = {"allclose_ratio", "max_abs", "max_rel", "mismatch_fraction"}
HIGHER_IS_BETTER = {"snr_db"}  # a signal-to-noise ratio in dB: the bound is a floor


@dataclass(frozen=True)
class Measurement:
    """One comparison of a check against its reference.

    `metric` names what `value` is: `allclose_ratio` (max over elements of
    |actual - expected| / (atol + rtol * |expected|); the check fails above 1), `max_abs`,
    `max_rel`, `mismatch_fraction` (share of elements outside the tolerance) or `snr_db`
    (signal-to-noise ratio in dB, higher is better). `tolerance` is the bound the check applied
    to `value`. `max_abs`, `max_rel` and `mismatched` (element count) are kept where known.
    """

    name: str
    metric: str
    value: float
    tolerance: float
    max_abs: float | None = None
    max_rel: float | None = None
    mismatched: int | None = None

    def __post_init__(self) -> None:
        if self.metric not in LOWER_IS_BETTER | HIGHER_IS_BETTER:
            raise ValueError(f"unknown metric {self.metric!r}")

    @property
    def headroom(self) -> float:
        """How many times the error may grow before the check fails (>= 1 while it passes).

        For `snr_db` the margin in dB is turned into an amplitude factor, 10 ** (margin / 20),
        so every metric reads on one scale. An error of exactly 0 has infinite headroom.
        """
        if math.isnan(self.value):
            return 0.0  # an undefined error never passes
        if self.metric in HIGHER_IS_BETTER:
            return 10 ** ((self.value - self.tolerance) / 20)
        if self.value <= 0:
            return math.inf
        return self.tolerance / self.value

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return {k: (json_number(v) if isinstance(v, float) else v) for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict) -> "Measurement":
        """The inverse of `to_json` ("inf"/"nan" strings back to floats); KeyError/ValueError if malformed."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("value", "tolerance", "max_abs", "max_rel"):
            if key in fields and fields[key] is not None:
                fields[key] = float(fields[key])
        return cls(**fields)


def json_number(value: float) -> float | str:
    """JSON has no inf/nan: they travel as strings ("inf", "nan")."""
    return value if math.isfinite(value) else str(value)


def record(request, measurement: Measurement) -> Measurement:
    """Attach `measurement` to the running test (`request` is pytest's fixture request or an item)."""
    node = getattr(request, "node", request)
    node.user_properties.append((PROPERTY, measurement.to_json()))
    return measurement


def compare(name: str, actual, expected, *, rtol: float, atol: float) -> Measurement:
    """Measure `actual` against `expected` (array-likes of one shape) as numpy.allclose judges them.

    Returns the allclose ratio (the check passes where it is <= 1), the max absolute error, the
    max relative error (over elements whose reference is not 0) and the count of mismatched
    elements. Raises ValueError when the shapes differ.
    """
    import numpy as np

    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: shape {actual.shape} != reference {expected.shape}")
    if actual.size == 0:
        return Measurement(name, "allclose_ratio", 0.0, 1.0, 0.0, 0.0, 0)
    diff = np.abs(actual - expected)
    bound = atol + rtol * np.abs(expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound > 0, diff / bound, np.where(diff > 0, np.inf, 0.0))
        nonzero = np.abs(expected) > 0
        max_rel = float((diff[nonzero] / np.abs(expected[nonzero])).max()) if nonzero.any() else 0.0
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    return Measurement(name, "allclose_ratio", float(ratio.max()), 1.0, float(np.nan_to_num(diff, nan=np.inf).max()),
                       max_rel, int((ratio > 1).sum()))


def assert_allclose(request, name: str, actual, expected, *, rtol: float, atol: float) -> Measurement:
    """`compare`, `record`, then fail (AssertionError naming the worst element) if any element is outside."""
    measured = record(request, compare(name, actual, expected, rtol=rtol, atol=atol))
    assert measured.value <= measured.tolerance, (
        f"{name}: {measured.mismatched} element(s) outside rtol={rtol:g}, atol={atol:g}; "
        f"max abs error {measured.max_abs:.3g}, max rel error {measured.max_rel:.3g}")
    return measured
