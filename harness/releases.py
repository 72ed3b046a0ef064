"""Releases of a package on the index, and what uv's resolver makes of a set of requirements.

The listing reads the index's JSON simple API (PEP 691), the same pages uv reads; the resolver
is `uv pip compile`, exactly as a row is installed. Parsing and filtering are pure functions.
"""
from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags, sys_tags
from packaging.utils import (InvalidWheelFilename, canonicalize_name, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from harness import fsio, settings
from harness.install import SUITE_REQUIREMENTS, _problem, _uv

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Release:
    version: Version
    wheels: tuple[str, ...] = ()  # file names of the release's (non-yanked) wheels
    yanked: bool = False          # every file of the release is yanked


def index_url() -> str:
    """The index uv resolves against (its own settings first), so listing and install agree."""
    return settings.current().index


def parse_simple(data: dict) -> list[Release]:
    """Releases, oldest first, from one PEP 691 project page."""
    files: dict[Version, list[dict]] = {}
    for name in data.get("versions", []):
        try:
            files.setdefault(Version(name), [])
        except InvalidVersion:
            continue
    project = canonicalize_name(data.get("name", ""))
    for entry in data.get("files", []):
        filename = entry.get("filename", "")
        if not filename.endswith(".whl"):
            continue
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if project and name != project:
            continue
        files.setdefault(version, []).append(entry)
    return [Release(v, tuple(f["filename"] for f in fs if not f.get("yanked")),
                    bool(fs) and all(f.get("yanked") for f in fs))
            for v, fs in sorted(files.items())]


def fetch_releases(package: str, index: str | None = None, timeout: float = 60.0) -> list[Release]:
    url = f"{index or index_url()}/{canonicalize_name(package)}/"
    request = urllib.request.Request(url, headers={"Accept": SIMPLE_JSON})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return parse_simple(json.load(response))


def between(releases: list[Release], good: Version, bad: Version) -> list[Release]:
    """The releases from `good` to `bad`, both included, in that order (either may be the older).

    Pre-releases and yanked releases are left out unless they are an endpoint: a bisect walks
    the releases users got.
    """
    low, high = sorted((good, bad))
    chosen = [r for r in releases
              if low <= r.version <= high
              and (r.version in (good, bad) or not (r.version.is_prerelease or r.yanked))]
    return chosen if good <= bad else chosen[::-1]


def python_tags(python: str = "") -> set[Tag]:
    """Wheel tags an interpreter of `python` ("3.11") on this platform accepts."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not python or python == here:
        return set(sys_tags())
    version = tuple(int(p) for p in python.split(".")[:2])
    return set(cpython_tags(version)) | set(compatible_tags(version))


def installable(release: Release, tags: set[Tag]) -> bool:
    """Whether one of the release's wheels fits; a release without one would need a source build."""
    for filename in release.wheels:
        try:
            _, _, _, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if wheel_tags & tags:
            return True
    return False


def parse_lock(text: str) -> dict[str, str]:
    """`name==version` lines of a `uv pip compile` output, by canonical name."""
    versions = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            versions[canonicalize_name(name.split("[")[0].strip())] = version.split(";")[0].strip()
    return versions


@dataclass(frozen=True)
class Resolution:
    ok: bool
    versions: dict[str, str]
    message: str = ""


def resolve(requirements: list[str], python: str, folder: Path, *,
            with_suites: bool = True) -> Resolution:
    """What `uv pip compile` picks for `requirements` (plus the suites' own, as a row install does)."""
    folder.mkdir(parents=True, exist_ok=True)
    source, lock = folder / "requirements.in", folder / "requirements.lock"
    extra = f"-r {SUITE_REQUIREMENTS}\n" if with_suites else ""
    fsio.write_text(source, "\n".join(requirements) + "\n" + extra)
    compiled = _uv(["pip", "compile", "--quiet", "--python", python, "--no-header",
                    str(source), "-o", str(lock)])
    if compiled.returncode != 0:
        return Resolution(False, {}, "resolution failed: " + _problem(compiled))
    return Resolution(True, parse_lock(lock.read_text(encoding="utf-8")))
