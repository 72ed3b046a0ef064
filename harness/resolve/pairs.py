"""The installability map: every (torch minor, domain-library release) pair, answered from the
cache, from the release's own torch requirement where no release of the minor meets it, or by
the resolver (harness/resolve/client.py). `build_map` returns the typed map (harness/resolve/model.py).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from harness import uv
from harness.resolve.client import (INDEX_TTL_HOURS, Cache, Pair, Target, ask, probe_requirements,
                                    torch_requirement)
from harness.resolve.model import AnswerStatus, PairEntry, ResolveMap
from harness.summary import now

TORCH_FROM = "2.0"
# The first release of each domain library that pairs with torch 2.0.
LIBRARIES = {"torchvision": "0.15", "torchaudio": "2.0", "torchtext": "0.15"}


def torch_minors(releases: list[str], start: str = TORCH_FROM) -> dict[str, str]:
    """Each torch minor from `start` on, with its newest patch release: {"2.3": "2.3.1"}."""
    newest: dict[tuple[int, int], Version] = {}
    for text in releases:
        v = Version(text)
        if v >= Version(start):
            key = (v.major, v.minor)
            newest[key] = max(v, newest.get(key, v))
    return {f"{a}.{b}": str(newest[(a, b)]) for a, b in sorted(newest)}


def minor_of(version: str) -> str:
    """"2.3" for "2.3.1"; "" for text that is no version."""
    try:
        v = Version(version)
    except InvalidVersion:
        return ""
    return f"{v.major}.{v.minor}"


def since(releases: list[str], start: str) -> list[str]:
    """Releases from `start` on, newest first (the map's row order)."""
    return [str(v) for v in sorted((Version(r) for r in releases if Version(r) >= Version(start)),
                                   reverse=True)]


@dataclass(frozen=True)
class Options:
    target: Target = Target()
    torch_from: str = TORCH_FROM
    libraries: tuple[tuple[str, str], ...] = tuple(LIBRARIES.items())
    torch_minors: tuple[str, ...] = ()  # only these minors (default: all from torch_from)
    jobs: int = 4
    refresh: bool = False
    exhaustive: bool = False  # ask about every pair, even those the probe already rules out
    index_ttl_hours: float = INDEX_TTL_HOURS


def build_map(options: Options, cache: Cache, asker: Callable[[list[str], Target], dict] = ask,
              log: Callable[..., None] = print) -> ResolveMap:
    """Every pair's answer: from the cache, from the release's own torch requirement where no
    release of that torch minor can meet it, else from the resolver."""
    started = time.monotonic()
    target = options.target

    def releases(package: str) -> list[str]:
        return cache.release_list(package, target.index, options.index_ttl_hours, options.refresh)

    torch_releases = releases("torch")
    torch = torch_minors(torch_releases, options.torch_from)
    if options.torch_minors:
        torch = {m: p for m, p in torch.items() if m in options.torch_minors}
    in_minor = {m: [v for v in torch_releases if minor_of(v) == m] for m in torch}
    libraries = {lib: since(releases(lib), start) for lib, start in options.libraries}
    pairs = [Pair(lib, version, minor, newest) for lib, versions in libraries.items()
             for version in versions for minor, newest in torch.items()]
    log(f"resolve: {len(pairs)} pairs ({len(torch)} torch minors x "
        f"{sum(len(v) for v in libraries.values())} domain releases)")
    fresh: dict[str, dict] = {}  # this run's answers, errors included (never cached)

    def answer_all(questions: dict[str, list[str]], what: str) -> None:
        todo = {k: reqs for k, reqs in questions.items() if options.refresh or k not in cache.answers}
        if not todo:
            return
        log(f"  asking uv about {len(todo)} {what} ({len(questions) - len(todo)} cached), "
            f"{options.jobs} at once")
        try:
            with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
                answers = pool.map(lambda reqs: asker(reqs, target), todo.values())
                for done, (key, answer) in enumerate(zip(todo, answers, strict=True), 1):
                    fresh[key] = answer
                    if answer["status"] == AnswerStatus.ERROR:
                        log(f"  {' '.join(todo[key])}: resolver error: {answer['message'][:300]}")
                    else:
                        cache.answers[key] = {**answer, "checked": now()}
                    if done % 100 == 0:
                        log(f"  {done}/{len(todo)}")
                        cache.save()  # an interrupted cold run keeps what it learnt
        finally:
            cache.save()

    def answer(key: str) -> dict | None:
        return fresh.get(key) or cache.answers.get(key)

    # One probe per release: most releases pin one torch, which rules out every other minor.
    needs: dict[tuple[str, str], Requirement | None] = {}
    if not options.exhaustive:
        probes = {f"probe {lib}=={v} torch<{options.torch_from} | {target}":
                  probe_requirements(lib, v, options.torch_from)
                  for lib, versions in libraries.items() for v in versions}
        answer_all(probes, "releases' torch requirements")
        for key, (_, lib_req) in probes.items():
            lib, _, version = lib_req.partition("==")
            probe = answer(key)
            needs[(lib, version)] = torch_requirement(probe, lib, version) if probe else None

    def ruled_out(pair: Pair) -> str:
        req = needs.get((pair.library, pair.version))
        if req is None or any(req.specifier.contains(v, True) for v in in_minor[pair.torch]):
            return ""
        return (f"Because {pair.library}=={pair.version} depends on {req} and no torch "
                f"{pair.torch} release satisfies it, the requirements are unsatisfiable "
                f"(the release's torch requirement as the resolver stated it for torch<{options.torch_from}).")

    derived = {p: ruled_out(p) for p in pairs}
    answer_all({p.key(target): p.requirements for p in pairs if not derived[p]}, "pairs")
    entries = []
    for pair in pairs:
        found: dict | None = ({"status": AnswerStatus.CONFLICT, "resolved": {}, "message": derived[pair]}
                              if derived[pair] else answer(pair.key(target)))
        if found is None:  # every pair not derived was asked above: an answer or an error
            raise RuntimeError(f"{pair.key(target)}: asked, but no answer was kept")
        entries.append({"library": pair.library, "version": pair.version, "torch": pair.torch,
                        "requirements": pair.requirements, "status": found["status"],
                        "resolved": {k: v for k, v in found["resolved"].items()
                                     if k in ("torch", pair.library)},
                        "message": found["message"], "derived": bool(derived[pair])})
    errors = sum(1 for a in fresh.values() if a["status"] == AnswerStatus.ERROR)
    return ResolveMap(
        generated=now(), python=target.python, platform=target.platform, index=target.index,
        uv=uv.version(), seconds=round(time.monotonic() - started, 1), asked=len(fresh),
        errors=errors, derived=sum(1 for d in derived.values() if d),
        torch=[{"minor": m, "newest": p} for m, p in torch.items()], libraries=libraries,
        pairs=[PairEntry.from_json(e) for e in entries])
