"""Releases of a package on the package index: the one lister, for the bisect and the resolve map.

It reads the index's JSON simple API (PEP 691, https://peps.python.org/pep-0691/), the pages uv
itself reads, from the index uv resolves against (settings.current().index). Parsing and
filtering are pure functions; `fetch_releases` is the only I/O.
"""
from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass

from packaging.tags import Tag, compatible_tags, cpython_tags, sys_tags
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from harness import settings

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class ListingError(OSError):
    """The index could not be read (network, unknown package); the text names package and index."""


@dataclass(frozen=True)
class Release:
    version: Version
    wheels: tuple[str, ...] = ()  # file names of the release's non-yanked wheels
    yanked: bool = False          # every file of the release is yanked
    files: tuple[str, ...] = ()   # file names of its non-yanked files, wheels and sdists

    @property
    def final(self) -> bool:
        """Neither a pre-release, a development release nor a local version."""
        v = self.version
        return not (v.is_prerelease or v.is_devrelease or v.local)


def index_url() -> str:
    """The index uv resolves against (its own settings first), so listing and install agree."""
    return settings.current().index


def _file_version(filename: str, project: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return version if not project or name == project else None


def parse_simple(data: dict) -> list[Release]:
    """Releases, oldest first, from one PEP 691 project page: those it lists under `versions`
    and those its files (wheels and sdists) name; files of another project are left out."""
    files: dict[Version, list[dict]] = {}
    for name in data.get("versions", []):
        try:
            files.setdefault(Version(name), [])
        except InvalidVersion:
            continue
    project = canonicalize_name(data.get("name", ""))
    for entry in data.get("files", []):
        version = _file_version(entry.get("filename", ""), project)
        if version is not None:
            files.setdefault(version, []).append(entry)
    out = []
    for version, entries in sorted(files.items()):
        live = tuple(f["filename"] for f in entries if not f.get("yanked"))
        out.append(Release(version, tuple(f for f in live if f.endswith(".whl")),
                           bool(entries) and not live, live))
    return out


def final_versions(releases: list[Release]) -> list[str]:
    """Final releases with at least one file that is not yanked, oldest first, as text."""
    return [str(r.version) for r in releases if r.files and r.final]


def fetch_releases(package: str, index: str | None = None, timeout: float = 60.0) -> list[Release]:
    """The releases of `package` on `index` (default: uv's), oldest first.

    Raises ListingError naming the package and the index when the page cannot be read."""
    index = (index or index_url()).rstrip("/")
    request = urllib.request.Request(f"{index}/{canonicalize_name(package)}/",
                                     headers={"Accept": SIMPLE_JSON})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            page = json.load(response)
    except (OSError, ValueError) as exc:
        raise ListingError(f"cannot list the releases of {package} on {index}: {exc}") from None
    return parse_simple(page)


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
