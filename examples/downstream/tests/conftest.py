"""The project's own conftest: the harness runs it in its own pytest, so nothing here reaches the
harness's suites (and nothing of theirs reaches these tests)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same random state."""
    torch.manual_seed(0)
