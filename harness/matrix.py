"""The matrix file: rows of pinned torch/domain-library combinations, validated up front."""
from __future__ import annotations

import os
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from harness import settings

PACKAGES = ("torch", "torchvision", "torchaudio", "torchtext")
ROW_KEYS = {"name", "tags", "pins", "extra", "python"}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
WHEEL_SCHEMES = ("https", "http", "file")
CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
CURRENT_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


class MatrixError(ValueError):
    """A problem in the matrix file; its text names the file, the row and the field."""

    def __init__(self, path: Path | str, row: str | None, field: str | None, problem: str):
        where = f"{path}"
        if row is not None:
            where += f": row {row}"
        if field is not None:
            where += f": field '{field}'"
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.field, self.problem = str(path), row, field, problem


@dataclass(frozen=True)
class Row:
    name: str
    pins: dict[str, str]
    tags: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    python: str = CURRENT_PYTHON

    def requirements(self) -> list[str]:
        """Requirement strings for the resolver: pins first, then extras."""
        return [pin_requirement(pkg, pin) for pkg, pin in self.pins.items()] + list(self.extra)


@dataclass(frozen=True)
class Matrix:
    path: Path
    rows: tuple[Row, ...] = field(default_factory=tuple)
    externals: tuple = ()  # harness.external.External: team projects run in every row ([[external]])

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)


def is_wheel_reference(pin: str) -> bool:
    return pin.endswith(".whl") or "://" in pin or pin.startswith(("/", "./", "../", "~"))


def session_key(name: str) -> str:
    """The name as nox turns it into an environment folder (`.nox/matrix-<key>`): case and runs of
    '.', '-', '_' do not count, so two names with one key would share an environment."""
    return re.sub(r"[-_.]+", "-", name).lower()


def local_pythons() -> list[str]:
    """The Python versions ("3.11") with an interpreter on PATH, and the running one."""
    found = {CURRENT_PYTHON}
    for folder in settings.search_path():
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in names:
            match = re.fullmatch(r"python(3\.\d+)", entry)
            if match and os.access(os.path.join(folder, entry), os.X_OK):
                found.add(match.group(1))
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


def python_found(version: str) -> bool:
    return version == CURRENT_PYTHON or shutil.which(f"python{version}") is not None


def _check_wheel(path: Path, row: str, field_name: str, pin: str) -> str:
    """A wheel pin is one token: an https/http/file URL of a .whl, or a path to an existing .whl."""
    if CONTROL_OR_SPACE.search(pin):
        raise MatrixError(path, row, field_name,
                          f"{pin!r} contains whitespace or a control character: a pin is one token")
    if "://" in pin:
        from urllib.parse import urlsplit

        parts = urlsplit(pin)
        if parts.scheme.lower() not in WHEEL_SCHEMES:
            raise MatrixError(path, row, field_name,
                              f"{pin!r}: a wheel URL must use {', '.join(WHEEL_SCHEMES)}")
        if not parts.path.endswith(".whl") or parts.query or parts.fragment:
            raise MatrixError(path, row, field_name, f"{pin!r}: a wheel URL's path must end in .whl")
        return pin
    local = Path(os.path.expanduser(pin))
    if local.suffix != ".whl" or not local.is_file():
        raise MatrixError(path, row, field_name, f"{pin!r} is not an existing .whl file")
    return pin


def pin_requirement(package: str, pin: str) -> str:
    """Turn a pin (exact version, specifier, or wheel path/URL) into a requirement string."""
    if is_wheel_reference(pin):
        if "://" in pin:
            return f"{package} @ {pin}"
        return f"{package} @ {Path(os.path.expanduser(pin)).resolve().as_uri()}"
    if pin[:1].isdigit():
        return f"{package}=={pin}"
    return f"{package}{pin}"


def _check_pin(path: Path, row: str, package: str, pin: object) -> str:
    field_name = f"pins.{package}"
    if not isinstance(pin, str) or not pin.strip():
        raise MatrixError(path, row, field_name, "must be a non-empty string")
    pin = pin.strip()
    if is_wheel_reference(pin):
        return _check_wheel(path, row, field_name, pin)
    if CONTROL_OR_SPACE.search(pin.replace(" ", "")):
        raise MatrixError(path, row, field_name, f"{pin!r} contains a control character")
    try:
        if pin[:1].isdigit():
            Version(pin)
        else:
            SpecifierSet(pin)
            if not pin.lstrip().startswith(("=", "<", ">", "!", "~")):
                raise InvalidSpecifier(pin)
    except (InvalidVersion, InvalidSpecifier):
        raise MatrixError(
            path, row, field_name,
            f"malformed version {pin!r}: expected an exact version (2.3.1), a PEP 440 "
            "specifier (>=2.3,<2.4) or a wheel path/URL",
        ) from None
    return pin


def _check_row(path: Path, index: int, raw: object, seen: set[str]) -> Row:
    label = f"#{index + 1}"
    if not isinstance(raw, dict):
        raise MatrixError(path, label, None, "a row must be a table ([[row]])")
    name = raw.get("name")
    if name is None:
        raise MatrixError(path, label, "name", "missing: every row needs a name")
    if not isinstance(name, str) or not SAFE_NAME.match(name):
        raise MatrixError(
            path, label, "name",
            f"{name!r} is not a safe file name (letters, digits, '.', '_', '-'; at most 64)",
        )
    if name in seen:
        raise MatrixError(path, name, "name", "duplicate row name")
    if session_key(name) in seen:
        raise MatrixError(path, name, "name", "duplicate row name once case and '.', '-', '_' are "
                          f"ignored (nox's environment .nox/matrix-{session_key(name)} would be shared)")
    unknown = sorted(set(raw) - ROW_KEYS)
    if unknown:
        raise MatrixError(
            path, name, unknown[0], f"unknown key (allowed: {', '.join(sorted(ROW_KEYS))})"
        )
    pins = raw.get("pins")
    if not isinstance(pins, dict) or not pins:
        raise MatrixError(path, name, "pins", "must be a non-empty table of package = pin")
    checked: dict[str, str] = {}
    for package, pin in pins.items():
        if package not in PACKAGES:
            raise MatrixError(
                path, name, f"pins.{package}",
                f"unknown package (known: {', '.join(PACKAGES)})",
            )
        checked[package] = _check_pin(path, name, package, pin)
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise MatrixError(path, name, "tags", "must be a list of strings")
    extra = raw.get("extra", [])
    if not isinstance(extra, list) or not all(isinstance(e, str) for e in extra):
        raise MatrixError(path, name, "extra", "must be a list of requirement strings")
    for item in extra:
        if CONTROL_OR_SPACE.search(item.replace(" ", "")):
            raise MatrixError(path, name, "extra", f"{item!r} contains a control character")
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise MatrixError(path, name, "extra", f"malformed requirement {item!r}: {exc}") from None
    python = raw.get("python", CURRENT_PYTHON)
    if not isinstance(python, str) or not re.fullmatch(r"3\.\d+", python):
        raise MatrixError(path, name, "python", f"{python!r} is not a Python version like '3.11'")
    if not python_found(python):
        raise MatrixError(path, name, "python", f"no Python {python} interpreter here "
                          f"(available: {', '.join(local_pythons())})")
    seen.update({name, session_key(name)})
    return Row(name=name, pins=checked, tags=tuple(tags), extra=tuple(extra), python=python)


def load_matrix(path: Path | str | None = None) -> Matrix:
    """Read and validate the matrix; `HARNESS_MATRIX` swaps the file."""
    path = Path(path or settings.current().matrix)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixError(path, None, None, f"cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MatrixError(path, None, None, f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"row", "external"})
    if unknown:
        raise MatrixError(path, None, unknown[0], "unknown top-level key (only [[row]] and [[external]] tables)")
    from harness.external import check_externals  # external imports this module

    rows = check_rows(path, data.get("row"))
    return Matrix(path=path, rows=rows, externals=check_externals(path, data.get("external"), path.parent))


def check_rows(path: Path | str, raw_rows: object) -> tuple[Row, ...]:
    """Validate the `[[row]]` tables of a file (the matrix, or a case of the corpus)."""
    if not isinstance(raw_rows, list) or not raw_rows:
        raise MatrixError(path, None, "row", "no rows: add at least one [[row]] table")
    seen: set[str] = set()
    return tuple(_check_row(Path(path), i, raw, seen) for i, raw in enumerate(raw_rows))
