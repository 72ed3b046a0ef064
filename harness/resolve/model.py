"""resolve.json, typed: the map `python -m harness.resolve` writes (schema_version), the resolver's
answer statuses and the outcomes of tested pairs as str-valued enums (the JSON holds the values).

Version 0 is the map written before the version was recorded: the same fields, read as they are.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

SCHEMA_VERSION = 1


class AnswerStatus(StrEnum):
    """The resolver's answer about one pair."""

    OK = "ok"              # resolves
    CONFLICT = "conflict"  # the resolver's own verdict: no solution
    ERROR = "error"        # could not be asked (network, timeout): never cached


class Outcome(StrEnum):
    """How the matrix rows (or the corpus) that installed a pair fared on its library's area."""

    WORKS = "works"
    KNOWN = "known"                    # only known failures
    BREAKS = "breaks"
    INSTALL_FAILED = "install-failed"
    NOT_RUN = "not-run"                # installed, no check of the area ran


@dataclass(frozen=True)
class PairEntry:
    """One pair's answer: `requirements` asked, `resolved` {torch, library: version} when ok,
    `message` uv's explanation, `derived` when the release's own torch requirement settled it."""

    library: str
    version: str
    torch: str                     # the minor, "2.3"
    status: AnswerStatus
    requirements: list[str] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)
    message: str = ""
    derived: bool = False

    @classmethod
    def from_json(cls, data: dict) -> PairEntry:
        """Raises KeyError or ValueError on an entry without library/version/torch or a status."""
        return cls(library=data["library"], version=data["version"], torch=data["torch"],
                   status=AnswerStatus(data["status"]), requirements=list(data.get("requirements", [])),
                   resolved=dict(data.get("resolved", {})), message=data.get("message", ""),
                   derived=bool(data.get("derived", False)))

    def to_json(self) -> dict:
        return {"library": self.library, "version": self.version, "torch": self.torch,
                "requirements": self.requirements, "status": self.status.value,
                "resolved": self.resolved, "message": self.message, "derived": self.derived}


@dataclass
class ResolveMap:
    """The whole map: the target it was asked for, the torch minors ({minor, newest}), each
    library's releases (newest first), every pair, and how the run went (seconds, asked, errors)."""

    generated: str
    python: str
    platform: str
    index: str
    uv: str
    torch: list[dict]
    libraries: dict[str, list[str]]
    pairs: list[PairEntry]
    seconds: float = 0.0
    asked: int = 0
    errors: int = 0
    derived: int = 0

    def to_json(self) -> dict:
        out = {"schema_version": SCHEMA_VERSION, **asdict(self)}
        out["pairs"] = [p.to_json() for p in self.pairs]
        return out

    @classmethod
    def from_json(cls, data: dict) -> ResolveMap:
        """A stored map, migrated; raises ValueError for a newer schema or a malformed map."""
        data = migrate(data)
        try:
            return cls(generated=data.get("generated", ""), python=data.get("python", ""),
                       platform=data.get("platform", ""), index=data.get("index", ""),
                       uv=data.get("uv", ""), torch=list(data["torch"]),
                       libraries={k: list(v) for k, v in data["libraries"].items()},
                       pairs=[PairEntry.from_json(p) for p in data["pairs"]],
                       seconds=data.get("seconds", 0.0), asked=data.get("asked", 0),
                       errors=data.get("errors", 0), derived=data.get("derived", 0))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"resolve map: missing or malformed {exc}") from None


def migrate(data: dict) -> dict:
    """A stored map in the current schema (0 -> 1 added only the version); ValueError when newer."""
    version = data.get("schema_version", 0) if isinstance(data, dict) else None
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"resolve map schema_version {version!r}: this harness reads up to {SCHEMA_VERSION}")
    return {**data, "schema_version": SCHEMA_VERSION}
