import math

import pytest

from harness.measure import Measurement, record


class Node:
    def __init__(self):
        self.user_properties = []


def test_headroom_is_tolerance_over_error_on_one_scale():
    assert Measurement("a", "max_abs", 1e-6, 4e-5).headroom == pytest.approx(40)
    assert Measurement("a", "max_abs", 0.0, 4e-5).headroom == math.inf
    assert Measurement("s", "snr_db", 46.0, 20.0).headroom == pytest.approx(10 ** (26 / 20))  # 26 dB: amplitude x20
    assert Measurement("s", "snr_db", 14.0, 20.0).headroom < 1                  # below its floor: failing
    assert Measurement("n", "max_abs", math.nan, 1.0).headroom == 0.0


def test_json_round_trip_keeps_infinities_as_strings():
    m = Measurement("r", "allclose_ratio", math.inf, 1.0, math.inf, 0.5, 3)
    data = m.to_json()
    assert data["value"] == "inf" and data["max_abs"] == "inf"
    assert Measurement.from_json(data) == m
    with pytest.raises(ValueError):
        Measurement.from_json({"name": "x", "metric": "parsecs", "value": 1, "tolerance": 1})


def test_record_attaches_the_measurement_to_the_test_for_its_result_line():
    node = Node()
    record(node, Measurement("mfcc", "max_abs", 1e-4, 1e-2, max_abs=1e-4))
    record(type("Request", (), {"node": node})(), Measurement("snr", "snr_db", math.inf, 20.0))
    assert node.user_properties == [
        ("measured", {"name": "mfcc", "metric": "max_abs", "value": 1e-4, "tolerance": 1e-2, "max_abs": 1e-4}),
        ("measured", {"name": "snr", "metric": "snr_db", "value": "inf", "tolerance": 20.0})]


DEMO_FEATURES = '''
[[feature]]
id = "demo.close"
description = "a numerical check within its tolerance"
[[feature]]
id = "demo.far"
description = "a numerical check outside its tolerance"
'''

DEMO_SUITE = '''
import pytest
from harness.measure import Measurement, record

@pytest.mark.feature("demo.close")
def test_close(request):
    record(request, Measurement("close", "max_abs", 1e-7, 4e-6, max_abs=1e-7))

@pytest.mark.feature("demo.far")
def test_far(request):
    m = record(request, Measurement("far", "snr_db", 12.0, 20.0))
    assert m.value >= m.tolerance, "SNR too low"
'''


def test_a_recorded_measurement_reaches_the_features_through_the_plugin(tmp_path):
    """record() in a suite test -> the plugin's result line -> collect's per-feature measurements."""
    import subprocess
    import sys

    from harness.collect import feature_measurements, read_records
    from tests.conftest import demo_suite

    env = demo_suite(tmp_path, DEMO_FEATURES, DEMO_SUITE, {})
    results = tmp_path / "results.jsonl"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "suites"), "-p", "no:cacheprovider",
                           f"--harness-results={results}"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    records = read_records(results)
    assert {r["test"].split("::")[-1]: r["status"] for r in records if "test" in r} == {
        "test_close": "pass", "test_far": "fail"}, proc.stdout[-2000:]
    measured = feature_measurements(records)
    assert [(m["name"], m["value"], m["headroom"]) for m in measured["demo.close"]] == [("close", 1e-7, 40.0)]
    far = measured["demo.far"][0]
    assert far["metric"] == "snr_db" and far["headroom"] == pytest.approx(10 ** (-8 / 20))  # failing: < 1
