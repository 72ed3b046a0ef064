"""The feature registry: data files `suites/<area>/features.toml`, one entry per feature id."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from harness import settings

FEATURE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MISSING = "missing"  # `versions` value meaning "the package is not installed in the row"


class RegistryError(ValueError):
    pass


def version_in(version: str | None, specifier: str) -> bool:
    """Whether an installed version (None: not installed) falls in a PEP 440 range."""
    if not version:
        return False
    try:
        return Version(version) in SpecifierSet(specifier, prereleases=True)
    except InvalidVersion:
        return False


@dataclass(frozen=True)
class Absence:
    """A release range documented upstream not to ship a feature."""

    package: str
    versions: str
    source: str

    def matches(self, installed: dict[str, str | None]) -> bool:
        version = installed.get(self.package)
        if self.versions == MISSING:
            return version is None
        return version_in(version, self.versions)

    def describe(self) -> str:
        when = "not installed" if self.versions == MISSING else self.versions
        return f"{self.package} {when}: {self.source}"


@dataclass(frozen=True)
class Feature:
    id: str
    description: str
    area: str
    absent: tuple[Absence, ...] = ()
    device: str = "cpu"  # "cuda": not applicable where no GPU is present

    def absence(self, installed: dict[str, str | None]) -> Absence | None:
        return next((a for a in self.absent if a.matches(installed)), None)


def _parse(path: Path, entry: dict) -> Feature:
    fid = entry.get("id")
    if not isinstance(fid, str) or not FEATURE_ID.match(fid):
        raise RegistryError(f"{path}: feature id {fid!r} is not a dotted lower-case id")
    if not entry.get("description"):
        raise RegistryError(f"{path}: feature {fid}: field 'description' is missing")
    absences = []
    for rule in entry.get("absent", []):
        source = rule.get("source", "")
        if "://" not in source:
            raise RegistryError(f"{path}: feature {fid}: absent entries need a 'source' link")
        versions = rule.get("versions", "")
        if versions != MISSING:
            try:
                SpecifierSet(versions)
            except InvalidSpecifier:
                raise RegistryError(f"{path}: feature {fid}: bad versions {versions!r}") from None
        absences.append(Absence(rule["package"], versions, source))
    device = entry.get("device", "cpu")
    if device not in ("cpu", "cuda"):
        raise RegistryError(f"{path}: feature {fid}: field 'device' must be cpu or cuda")
    return Feature(fid, entry["description"], fid.split(".")[0], tuple(absences), device)


def load_registry(suites: Path | None = None) -> dict[str, Feature]:
    """Every feature of every `<suites>/*/features.toml` (default: the settings' HARNESS_SUITES), by id.

    Raises RegistryError naming the file (and the feature) for a file that is not valid TOML, a
    malformed entry or a repeated id."""
    suites = suites or settings.current().suites
    features: dict[str, Feature] = {}
    for path in sorted(Path(suites).glob("*/features.toml")):
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise RegistryError(f"{path}: not valid TOML: {exc}") from None
        for entry in data.get("feature", []):
            feature = _parse(path, entry)
            if feature.id in features:
                raise RegistryError(f"{path}: feature {feature.id} is defined twice")
            features[feature.id] = feature
    return features
