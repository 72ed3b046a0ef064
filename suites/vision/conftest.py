"""What every vision module shares: one thread, and the classifier list for the depth."""
import pytest

from suites.vision import _compat


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch):
    """See _compat.one_thread: the shared 2-core machine stalls two OpenMP threads."""
    with _compat.one_thread(torch):
        yield


def pytest_generate_tests(metafunc):
    if "classifier" in metafunc.fixturenames:
        metafunc.parametrize("classifier", _compat.model_params(
            metafunc.config, lambda tv: tv.models, _compat.classification_models, _compat.QUICK_CLASSIFIERS))
