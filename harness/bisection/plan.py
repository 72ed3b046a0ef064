"""What a bisect walks: its two ends (matrix rows or pins), the mode (one package, or the
release train), and the candidates between them from the index's release lists, each resolved.

`Plan` is pure; `plan_candidates` asks the index (harness/index.py) and the resolver (uv, through
harness/install.py) about each release between the ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from harness import index, install
from harness.bisection.search import Verdict, classify
from harness.matrix import PACKAGES, Row
from harness.status import first_line


class BisectError(ValueError):
    """A usage problem: the message says what to change."""


def requirement_map(row: Row) -> dict[str, str]:
    """The row's requirements by canonical package name, pins first."""
    reqs: dict[str, str] = {}
    for text in row.requirements():
        reqs[canonicalize_name(Requirement(text).name)] = text
    return reqs


def parse_pins(text: str) -> dict[str, str]:
    """`torch=2.8.0,torchvision==0.23.0 numpy<2` as requirements by canonical name."""
    reqs: dict[str, str] = {}
    for item in filter(None, re.split(r"[,\s]+(?=[A-Za-z])", text.strip())):
        item = item.strip().rstrip(",")
        match = re.fullmatch(r"([A-Za-z0-9._-]+)=([^=<>!~].*)", item)
        if match:  # the short form pkg=version
            item = f"{match[1]}=={match[2]}"
        try:
            req = Requirement(item)
        except InvalidRequirement as exc:
            raise BisectError(f"{text!r}: {item!r} is neither a row nor a pin ({exc})") from None
        reqs[canonicalize_name(req.name)] = str(req)
    if not reqs:
        raise BisectError(f"{text!r}: no pins")
    return reqs


def make_row(name: str, reqs: dict[str, str], python: str = "3.11") -> Row:
    """A row from requirements: torch-family ones become pins (as the report shows them)."""
    pins, extra = {}, []
    for pkg, text in reqs.items():
        req = Requirement(text)
        if pkg in PACKAGES and not req.marker and not req.extras:
            spec = str(req.specifier)
            pins[pkg] = req.url or (spec[2:] if re.fullmatch(r"==[^,*]+", spec) else spec)
        else:
            extra.append(text)
    return Row(name=name, pins=pins, extra=tuple(extra), python=python)


def end_rows(good: str, bad: str, matrix_rows: dict[str, Row]) -> tuple[Row, Row]:
    """The good and bad rows: matrix rows, or pins laid over the other side's row (over the good
    side's pins when neither is a row), so `--bad torchdata=0.10.1` changes just that."""
    good_row, bad_row = matrix_rows.get(good), matrix_rows.get(bad)
    if good_row is None and bad_row is None:
        good_row = make_row("good", parse_pins(good))
    if good_row is None:
        assert bad_row is not None
        good_row = make_row("good", {**requirement_map(bad_row), **parse_pins(good)}, bad_row.python)
    if bad_row is None:
        bad_row = make_row("bad", {**requirement_map(good_row), **parse_pins(bad)}, good_row.python)
    return good_row, bad_row


def row_packages(row: Row) -> set[str]:
    """The canonical names of the packages `row` asks for."""
    return set(requirement_map(row))


def choose_mode(good: Row, bad: Row, good_v: dict[str, str], bad_v: dict[str, str],
                package: str | None, train: bool) -> tuple[str, str]:
    """('package', name) or ('train', 'torch') from what differs between the resolved ends."""
    if train:
        if good_v.get("torch") == bad_v.get("torch") or "torch" not in good_v or "torch" not in bad_v:
            raise BisectError("--train needs two different torch releases at the ends")
        return "train", "torch"
    if package:
        name = canonicalize_name(package)
        if not good_v.get(name) or not bad_v.get(name):
            raise BisectError(f"--package {package}: not installed at both ends")
        if good_v[name] == bad_v[name]:
            raise BisectError(f"--package {package}: {good_v[name]} at both ends, nothing to bisect")
        return "package", name
    named = row_packages(good) | row_packages(bad)
    differ = sorted(p for p in named if good_v.get(p) != bad_v.get(p) and good_v.get(p) and bad_v.get(p))
    if "torch" in differ:
        return "train", "torch"
    if len(differ) == 1:
        return "package", differ[0]
    if not differ:
        raise BisectError("the two ends resolve to the same releases of the row's packages")
    raise BisectError(f"several packages differ ({', '.join(differ)}): choose one with --package, "
                      "or --train")


def window(name: str, a: str, b: str) -> str:
    """`name>=low,<=high` between two releases given in either order."""
    low, high = sorted((Version(a), Version(b)))
    return f"{name}>={low},<={high}"


@dataclass(frozen=True)
class Plan:
    mode: str                      # "package" or "train"
    subject: str                   # the package whose releases are bisected
    good: Row
    bad: Row
    good_versions: dict[str, str]  # resolved ends, by canonical name
    bad_versions: dict[str, str]

    def shown(self) -> list[str]:
        """The packages a candidate is described by: the row's own, not the suites' helpers."""
        return sorted(set(PACKAGES) | {self.subject} | row_packages(self.good) | row_packages(self.bad))

    def describe(self) -> str:
        g, b = self.good_versions[self.subject], self.bad_versions[self.subject]
        if self.mode == "train":
            return (f"the release train: torch {g} -> {b}, each with the domain-library releases "
                    "the resolver pairs with it")
        return f"one package: {self.subject} {g} -> {b}, the others held at {self.good.name}'s pins"

    def train_windows(self, version: str) -> list[str]:
        """Train mode: the subject at `version` and each torch-family package of both ends within
        the ends' range, the question `paired_releases` asks the resolver."""
        both = set(self.good_versions) & set(self.bad_versions)
        family = (set(PACKAGES) - {self.subject}) & both & set(requirement_map(self.good))
        return [f"{self.subject}=={version}"] + [
            window(name, self.good_versions[name], self.bad_versions[name]) for name in sorted(family)]

    def requirements(self, version: str, level: int, paired: dict[str, str] | None = None) -> dict[str, str]:
        """A candidate's requirements. Level 0 holds the other packages at the good row's pins;
        1 lets those that differ between the ends move within the ends' range; 2 frees the other
        torch-family pins too (they pin each other exactly, so the resolver pairs them).
        Train mode: `paired` (canonical name -> version, from `paired_releases`) pins each
        torch-family package to the release of the candidate's train at level 0; without it, or
        at level >= 1, the package moves within the ends' range."""
        reqs = requirement_map(self.good)
        reqs[self.subject] = f"{self.subject}=={version}"
        both = set(self.good_versions) & set(self.bad_versions)
        family = set(PACKAGES) - {self.subject}
        for name in list(reqs):
            if name == self.subject:
                continue
            differs = self.good_versions.get(name) != self.bad_versions.get(name)
            if self.mode == "train" and name in family:
                if name in both and level == 0 and paired and paired.get(name):
                    reqs[name] = f"{name}=={paired[name]}"
                elif name in both:
                    reqs[name] = window(name, self.good_versions[name], self.bad_versions[name])
                else:
                    del reqs[name]  # at one end only: not part of the train
            elif level >= 1 and differs and name in both:
                reqs[name] = window(name, self.good_versions[name], self.bad_versions[name])
            if level >= 2 and name in family and name in reqs:
                reqs[name] = name
        return reqs

    def notes(self) -> list[str]:
        """What the candidates leave out of the ends' rows, said once in the output."""
        out = []
        good, bad = requirement_map(self.good), requirement_map(self.bad)
        if self.mode == "train":
            for name in sorted(set(PACKAGES) & set(good) - {"torch"}):
                if not (self.good_versions.get(name) and self.bad_versions.get(name)):
                    out.append(f"{name} is in one end only: left out of the candidates")
        only_bad = sorted(set(bad) - set(good) - {self.subject})
        if only_bad:
            out.append(f"only in the bad row, not carried into the candidates: {', '.join(only_bad)}")
        return out


@dataclass
class Candidate:
    index: int
    version: str
    row: Row | None = None
    level: int = 0
    versions: dict[str, str] = field(default_factory=dict)  # resolved
    end: bool = False           # the good or the bad row itself
    skip: str = ""              # why it cannot be a candidate (resolution, no wheel, install)
    built: bool = False
    install_seconds: float = 0.0
    venv: Path | None = None
    tests: dict[str, list[str]] | None = None  # node id -> feature ids of the selected tests
    runs: list[dict] = field(default_factory=list)  # one per run: verdict, status, message, ...
    rounds: list[list[float]] = field(default_factory=list)  # benchmark: one list per process
    clock: str = ""             # benchmark: the clock of the rounds (benchfile's record)
    # benchmark, interleaved: (good end's rounds, this candidate's rounds) of each complete pair
    pairs: list[tuple[list[float], list[float]]] = field(default_factory=list)
    bench_verdict: Verdict | None = None

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.version}"

    def verdict(self) -> Verdict:
        if self.skip:
            return Verdict.SKIP
        if self.bench_verdict is not None:
            return self.bench_verdict
        return classify([Verdict(r["verdict"]) for r in self.runs])


def plan_candidates(plan: Plan, listing: list[index.Release], python: str,
                    work: Path) -> list[Candidate]:
    """Every release from the good end to the bad end, resolved; unresolvable ones are skips."""
    g, b = plan.good_versions[plan.subject], plan.bad_versions[plan.subject]
    middle = [r for r in index.between(listing, Version(g), Version(b))
              if r.version not in (Version(g), Version(b))]
    tags = index.python_tags(python)
    out = [Candidate(0, g, plan.good, versions=plan.good_versions, end=True)]
    for r in middle:
        cand = Candidate(len(out), str(r.version))
        if not index.installable(r, tags):
            cand.skip = f"no wheel of {plan.subject} {r.version} for Python {python} on this platform"
        else:
            paired = paired_releases(plan, cand.version, python, work / cand.label / "pairing") \
                if plan.mode == "train" else None
            tried: list[dict] = []
            for level in (0, 1, 2):
                reqs = plan.requirements(cand.version, level, paired)
                if reqs in tried:
                    continue
                tried.append(reqs)
                res = install.resolve(list(reqs.values()), python, work / cand.label)
                if res.ok:
                    cand.row = make_row(f"bisect-{plan.subject}-{cand.version}", reqs, python)
                    cand.level, cand.versions = level, res.versions
                    break
            else:
                cand.skip = first_line(res.message)
        out.append(cand)
    out.append(Candidate(len(out), b, plan.bad, versions=plan.bad_versions, end=True))
    return out


def paired_releases(plan: Plan, version: str, python: str, folder: Path) -> dict[str, str]:
    """Train mode: the torch-family releases of `version`'s train, by canonical name ({} when
    unresolvable). Each is the LOWEST release within the ends' range that accepts the subject at
    `version`: the newest would pair torch 2.4.0 with a domain release that stopped pinning torch
    (torchaudio 2.11.0 declares no torch requirement), mixing two trains in one candidate."""
    found = install.resolve(plan.train_windows(version), python, folder, with_suites=False, lowest_direct=True)
    if not found.ok:
        return {}
    return {name: v for name, v in found.versions.items() if name in PACKAGES and name != plan.subject}


def moved(plan: Plan, cand: Candidate) -> dict[str, list[str]]:
    """Row packages whose resolved release differs from the good row's (the pairing)."""
    return {name: [plan.good_versions.get(name, ""), cand.versions.get(name, "")]
            for name in sorted(row_packages(plan.good) | set(PACKAGES))
            if name != plan.subject and cand.versions.get(name) != plan.good_versions.get(name)
            and (cand.versions.get(name) or plan.good_versions.get(name))}
