"""The row's libraries as the suites load them: a failure to import is the row's error, a library the row
left out (not installed at all) is not in the row."""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable
from types import ModuleType

from harness.status import first_line

LIBRARIES = ("torch", "torchvision", "torchaudio", "torchtext")


class LibraryError(Exception):
    """A library of the row failed to import or to register its operators."""


class NotInRow(LibraryError):
    """The row does not include this library (it is not installed at all): its checks are `n/a`."""


def installed_versions(extra: Iterable[str] = ()) -> dict[str, str | None]:
    """Versions of the row libraries and of every package a registry absence names (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in sorted(set(LIBRARIES) | set(extra)):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def not_in_row(name: str) -> bool:
    """Whether the row left `name` out: no module of that name and no distribution."""
    try:
        if importlib.util.find_spec(name) is not None:
            return False
    except (ImportError, ValueError):
        return False  # something is there and fails: the import below says what
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return True
    return False


@functools.cache
def _load(name: str) -> ModuleType | str:
    """The imported module, or the message of its import failure (a failure is not retried in this process)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import-time failure is the row's error
        return f"{name} failed to import: {type(exc).__name__}: {first_line(str(exc))}"


def import_library(name: str) -> ModuleType:
    """Import a row library. Raises LibraryError when it fails to import (a missing operator, an undefined
    symbol), NotInRow when the row does not include it at all."""
    if name not in sys.modules and not_in_row(name):
        raise NotInRow(f"{name} is not in this row")
    loaded = _load(name)
    if isinstance(loaded, str):
        raise LibraryError(loaded)  # the message names the cause already
    return loaded
