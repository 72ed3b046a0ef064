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
