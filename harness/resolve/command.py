"""The installability map: which torch releases install beside which domain-library releases.

Every pair (a torch minor release, one release of torchvision, torchaudio or torchtext) is
one question to the resolver: `uv pip compile` for a target interpreter and platform, from
package metadata only; nothing is downloaded beyond metadata and nothing is installed. The
torch side is `torch==2.3.*`, so the resolver also picks the patch release that fits.

A domain release pins one torch (torchvision 0.18.1 needs torch==2.3.1), so pairs rather than
whole four-package combinations carry the information: 16 torch minors x 59 domain releases
(944 pairs) in late 2026. Most of them are settled by one probe per release: asked with
`torch<2.0`, the resolver states the release's own torch requirement ("torchvision==0.23.0
depends on torch==2.8.0"), and a minor none of whose releases meets it cannot resolve. The
rest (about 90 pairs, and every pair of a release without a stated bound) go to the resolver;
`--exhaustive` sends every pair. Answers are cached in a JSON file keyed by the requirement set
and target, so a repeat asks only about releases published since (measured here: cold 67 s,
warm under a second, for the whole map).

    python -m harness.resolve                # writes reports/resolve.json and reports/resolve.html
    nox -s resolve -- --jobs 8 --refresh     # the same through nox
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness import fsio, settings
from harness.resolve.client import INDEX_TTL_HOURS, PLATFORM, PYTHON, Cache, ResolveError, Target
from harness.resolve.pairs import LIBRARIES, TORCH_FROM, Options, build_map
from harness.cases import read_result
from harness.resolve.view import MAP_FILE, MAP_PAGE, render_page, view


def _library(text: str) -> tuple[str, str]:
    name, _, start = text.partition("=")
    if name not in LIBRARIES:
        raise argparse.ArgumentTypeError(f"{name!r}: one of {', '.join(LIBRARIES)}")
    return name, start or LIBRARIES[name]


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m harness.resolve`."""
    p = argparse.ArgumentParser(prog="python -m harness.resolve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", type=Path, default=settings.current().reports,
                   help=f"writes {MAP_FILE} and {MAP_PAGE} here")
    p.add_argument("--cache", type=Path, default=None,
                   help="answers and release lists (default: $HARNESS_RESOLVE_CACHE or "
                        "~/.cache/torch-harness/resolve-cache.json)")
    p.add_argument("--python", default=PYTHON, help="target interpreter version")
    p.add_argument("--platform", default=PLATFORM, help="target platform (uv's --python-platform)")
    p.add_argument("--index", default=None, help="package index (default: uv's, else PyPI)")
    p.add_argument("--torch-from", default=TORCH_FROM, help="first torch minor")
    p.add_argument("--torch", nargs="+", default=[], metavar="MINOR", help="only these torch minors")
    p.add_argument("--library", dest="libraries", action="append", type=_library, metavar="NAME[=FIRST]",
                   help="a domain library and its first release (default: all three)")
    p.add_argument("--jobs", type=int, default=min(8, 2 * (os.cpu_count() or 1)),
                   help="resolutions at once (they wait on the index more than on the CPU)")
    p.add_argument("--refresh", action="store_true", help="ask again about every pair")
    p.add_argument("--exhaustive", action="store_true",
                   help="ask about every pair, also those a release's own torch requirement rules out")
    p.add_argument("--index-ttl-hours", type=float, default=INDEX_TTL_HOURS,
                   help="re-read the release lists when older than this")
    return p


def main(argv: list[str] | None = None) -> int:
    """Build the map, write resolve.json and resolve.html; 1 when the index could not be read
    or a pair could not be asked, else 0."""
    args = parser().parse_args(argv)
    options = Options(target=Target(args.python, args.platform, (args.index or settings.current().index).rstrip("/")),
                      torch_from=args.torch_from,
                      libraries=tuple(args.libraries or LIBRARIES.items()),
                      torch_minors=tuple(args.torch), jobs=args.jobs, refresh=args.refresh,
                      exhaustive=args.exhaustive,
                      index_ttl_hours=args.index_ttl_hours)
    cache = Cache(args.cache or settings.current().resolve_cache)
    try:
        built = build_map(options, cache)
    except ResolveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = built.to_json()
    fsio.write_json(args.reports / MAP_FILE, data)
    summary = None
    try:
        summary = fsio.read_json(args.reports / "summary.json")
    except (OSError, json.JSONDecodeError):
        pass
    drawn = view(data, summary, read_result(args.reports))
    fsio.write_text(args.reports / MAP_PAGE, render_page(drawn))
    c = drawn["counts"]
    print(f"resolve: {c['ok']} pairs resolve, {c['conflict']} do not, {c['error']} could not be asked; "
          f"{data['asked']} asked in {data['seconds']} s (cache {cache.path})")
    print(f"map: {args.reports / MAP_PAGE} and {args.reports / MAP_FILE}")
    return 1 if data["errors"] else 0
