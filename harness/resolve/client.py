"""Asking about pairs: the target (interpreter, platform, index), one question to uv's resolver
(`uv pip compile` from metadata only, through harness/uv.py), the probe that makes the resolver
state a release's own torch requirement, and the cache of answers and release lists.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from harness import fsio, settings, uv
from harness import index as pkgindex
from harness.resolve.model import AnswerStatus
from harness.summary import now

PYTHON = "3.11"
PLATFORM = "x86_64-manylinux_2_28"
INDEX_TTL_HOURS = 6.0  # release lists older than this are fetched again (new releases appear daily)
RESOLVE_TIMEOUT = 600  # seconds; a cold uv cache fetches the metadata of torch and its CUDA wheels
CACHE_FORMAT = 1
# The first link of uv's explanation of a conflict.
BECAUSE = re.compile(r"Because (?:only )?(\S+?) depends on (.+?)(?: and |, |$)")


class ResolveError(RuntimeError):
    """The package index could not be read (network, unknown package)."""


def _age_hours(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    try:
        then = dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return float("inf")
    return (dt.datetime.now(dt.timezone.utc) - then).total_seconds() / 3600


@dataclass(frozen=True)
class Target:
    python: str = PYTHON
    platform: str = PLATFORM
    index: str = settings.DEFAULT_INDEX

    def __str__(self) -> str:
        return f"python {self.python} {self.platform} {self.index}"


@dataclass(frozen=True)
class Pair:
    library: str
    version: str
    torch: str  # the minor, "2.3"
    newest: str  # its newest patch when asked: a new patch release is a new question

    @property
    def requirements(self) -> list[str]:
        return [f"torch=={self.torch}.*", f"{self.library}=={self.version}"]

    def key(self, target: Target) -> str:
        """The cache key: the requirement set, the newest torch it could pick, and the target."""
        return f"{' '.join(self.requirements)} (torch<={self.newest}) | {target}"


def ask(requirements: list[str], target: Target) -> dict:
    """One resolution, from metadata only: {"status": AnswerStatus, "resolved": {name: version},
    "message": uv's explanation on one line}. Only the resolver's own verdict (no solution) is a
    conflict; a network failure or a timeout is an error, asked again next time."""
    proc = uv.compile_for(requirements, target.python, target.platform, target.index, RESOLVE_TIMEOUT)
    if proc.returncode == 0:
        return {"status": AnswerStatus.OK, "resolved": uv.parse_lock(proc.stdout), "message": ""}
    status = AnswerStatus.CONFLICT if "No solution found" in proc.stderr else AnswerStatus.ERROR
    return {"status": status, "resolved": {}, "message": uv.problem(proc)}


# ---------------------------------------------------------------- the cache

class Cache:
    """One JSON file: the index's release lists (with a time to live) and every answer."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            data = fsio.read_json(self.path)
        except (OSError, json.JSONDecodeError):
            data = {}
        if data.get("format") != CACHE_FORMAT:
            data = {}
        self.releases: dict = data.get("releases", {})
        self.answers: dict = data.get("answers", {})

    def save(self) -> None:
        """Write the cache (atomically, through fsio)."""
        fsio.write_json(self.path, {"format": CACHE_FORMAT, "releases": self.releases,
                                    "answers": self.answers})

    def release_list(self, package: str, index: str, ttl_hours: float, refresh: bool) -> list[str]:
        """The final releases of `package` on `index`, oldest first: from the cache while younger
        than `ttl_hours`, else from the index. Raises ResolveError when the index cannot be read."""
        entry = self.releases.get(f"{index} {package}")
        if entry and not refresh and _age_hours(entry.get("fetched")) < ttl_hours:
            return entry["versions"]
        try:
            versions = pkgindex.final_versions(pkgindex.fetch_releases(package, index))
        except pkgindex.ListingError as exc:
            raise ResolveError(str(exc)) from None
        self.releases[f"{index} {package}"] = {"fetched": now(), "versions": versions}
        return versions


def probe_requirements(library: str, version: str, torch_from: str) -> list[str]:
    """A question whose conflict makes the resolver state the release's own torch requirement."""
    return [f"torch<{torch_from}", f"{library}=={version}"]


def torch_requirement(answer: dict, library: str, version: str) -> Requirement | None:
    """From a probe's conflict ('Because torchvision==0.23.0 depends on torch==2.8.0 and you
    require torch<2.0'), the torch requirement of that release; None when it says something else."""
    if answer["status"] != "conflict":
        return None
    found = BECAUSE.search(answer["message"])
    if not found:
        return None
    try:
        subject, needs = Requirement(found.group(1)), Requirement(found.group(2))
    except InvalidRequirement:
        return None
    if (canonicalize_name(subject.name) != library or not subject.specifier.contains(version, True)
            or canonicalize_name(needs.name) != "torch"):
        return None
    return needs
