"""Shared helpers for the harness's own tests."""
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--screenshots", default=None,
                     help="folder the Chromium report test also copies its 1400 px screenshots into (a CI artefact)")


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path
    return _write

FAKE_TORCH = ("class cuda:\n    is_available = staticmethod(lambda: False)\n"
              "class version:\n    cuda = None\n")


def demo_suite(root: Path, features: str, suite: str, fakes: dict[str, str]) -> dict[str, str]:
    """A miniature suite tree under the harness plugin, with fake modules shadowing real ones;
    returns the environment that points the harness at it."""
    import os

    suites = root / "suites"
    (suites / "demo").mkdir(parents=True)
    (suites / "demo" / "features.toml").write_text(features)
    (suites / "demo" / "test_demo.py").write_text(suite)
    (suites / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    fake = root / "fake"
    fake.mkdir()
    for name, text in {"torch": FAKE_TORCH, **fakes}.items():
        (fake / f"{name}.py").write_text(text)
    return dict(os.environ, HARNESS_SUITES=str(suites), PYTHONPATH=os.pathsep.join([str(ROOT), str(fake)]))


TORCH_FOR_TESTS = "torch==2.14.1"  # the ci row's torch: already in uv's cache when the rows run


def pytest_collection_modifyitems(config, items):
    """A test that builds a torch environment must be marked slow: `-m "not slow"` is the fast suite."""
    unmarked = [item.nodeid for item in items
                if "torch_python" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError(f"these tests use torch_python but are not marked slow: {', '.join(unmarked)}")


@pytest.fixture(scope="session")
def torch_python(tmp_path_factory) -> str:
    """An interpreter with torch for tests that drive a real suite check (built once a session with uv, from its
    cache, outside the repository); HARNESS_TORCH_PYTHON names one to use instead."""
    import os
    import subprocess

    from harness.install import uv_binary

    if os.environ.get("HARNESS_TORCH_PYTHON"):
        return os.environ["HARNESS_TORCH_PYTHON"]
    venv = tmp_path_factory.mktemp("tests-torch") / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([uv_binary(), "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run([uv_binary(), "pip", "install", "-q", "--python", str(python), TORCH_FOR_TESTS,
                    "numpy", "pytest", "pytest-timeout", "packaging"], check=True, timeout=1800)
    return str(python)
