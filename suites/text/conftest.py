"""Every text check runs offline: a connection or name lookup attempt is the check's error."""
import pytest

from suites.text._compat import NetworkAccessAttempted, forbid_network


@pytest.fixture(autouse=True)
def offline():
    """Refuse the network for the test; report attempts even if the library swallowed them."""
    with forbid_network() as attempts:
        yield
    if attempts:
        raise NetworkAccessAttempted(f"network access attempted: {attempts[0]}")
