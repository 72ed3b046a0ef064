"""Known upstream breakages: a matching failure is `known-failure`, a matching pass is `fixed`."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness.registry import version_in
from harness.status import BROKEN, Outcome, Status

DEFAULT_EXPECTATIONS = Path(__file__).resolve().parent.parent / "expectations.toml"


class ExpectationError(ValueError):
    pass


@dataclass(frozen=True)
class Known:
    """One known breakage: a feature, where it breaks (rows, or a package's versions), and why."""

    feature: str
    message: str
    link: str
    rows: tuple[str, ...] = ()
    package: str = ""
    versions: str = ""

    def applies(self, row: str, installed: dict[str, str | None]) -> bool:
        if self.rows:
            return row in self.rows
        return version_in(installed.get(self.package), self.versions)

    def explains(self, outcome: Outcome) -> bool:
        return re.search(self.message, outcome.message) is not None


def https_link(link: object) -> bool:
    """An https URL with a host, one token: anything else (javascript:, data:, a newline) is refused."""
    from urllib.parse import urlsplit

    if not isinstance(link, str) or re.search(r"[\s\x00-\x1f\x7f\"'<>]", link):
        return False
    parts = urlsplit(link)
    return parts.scheme == "https" and bool(parts.netloc)


def load_expectations(path: Path | str = DEFAULT_EXPECTATIONS) -> list[Known]:
    """The `[[known]]` entries of `path` (none when the file is absent).

    Raises ExpectationError naming the file (and the entry) for a file that is not valid TOML or
    a malformed entry."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ExpectationError(f"{path}: not valid TOML: {exc}") from None
    entries: list[Known] = []
    for i, raw in enumerate(data.get("known", []), 1):
        where = f"{path}: [[known]] #{i}"
        for key in ("feature", "message", "link"):
            if not raw.get(key):
                raise ExpectationError(f"{where}: field '{key}' is required")
        if not https_link(raw["link"]):
            raise ExpectationError(f"{where}: field 'link' must be an https URL of the upstream report, "
                                   f"not {raw['link']!r}")
        if not raw.get("rows") and not (raw.get("package") and raw.get("versions")):
            raise ExpectationError(f"{where}: give 'rows' or 'package' and 'versions'")
        try:
            re.compile(raw["message"])
        except re.error as exc:
            raise ExpectationError(f"{where}: field 'message' is not a regex: {exc}") from None
        features = [raw["feature"]] if isinstance(raw["feature"], str) else raw["feature"]
        entries.extend(Known(fid, raw["message"], raw["link"], tuple(raw.get("rows", ())),
                             raw.get("package", ""), raw.get("versions", "")) for fid in features)
    return entries


def explain(fid: str, outcome: Outcome, row: str, installed: dict[str, str | None],
            known: list[Known]) -> Outcome:
    """One test's outcome, relabelled `known-failure` if an entry explains it."""
    if outcome.status in BROKEN:
        for entry in known:
            if entry.feature == fid and entry.applies(row, installed) and entry.explains(outcome):
                return Outcome(Status.KNOWN_FAILURE, f"{outcome.message} (known: {entry.link})", outcome.test)
    return outcome


def apply(features: dict[str, Outcome], row: str, installed: dict[str, str | None],
          known: list[Known]) -> dict[str, Outcome]:
    """Relabel broken features an entry explains, and passing ones an entry expected to break."""
    result = dict(features)
    for entry in known:
        outcome = result.get(entry.feature)
        if outcome is None or not entry.applies(row, installed):
            continue
        if outcome.status in BROKEN:
            result[entry.feature] = explain(entry.feature, outcome, row, installed, [entry])
        elif outcome.status == Status.PASS:
            result[entry.feature] = Outcome(Status.FIXED,
                                            f"passes now; expectation can go: {entry.link}")
    return result
