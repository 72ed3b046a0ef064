import pytest

from harness.cuda_probe import cuda_text


@pytest.mark.parametrize("raw, text", [(13000, "13.0"), (12060, "12.6"), (13020, "13.2"), (-1, "cpu"), (0, "cpu"),
                                       (None, "cpu"), ("13.2", "13.2")])
def test_cuda_versions_read_as_torch_writes_them(raw, text):
    assert cuda_text(raw) == text
