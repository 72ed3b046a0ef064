"""The runner pasted at the end of every standalone reproduction script (harness/repro_script.py).

It stands in for pytest where one check needs it and imports nothing of the harness: it picks the
parameters of the failing test id, provides the fixtures the check takes (the row libraries, `request`,
`tmp_path`, `monkeypatch`, the check's own inlined fixtures and the autouse ones), runs the check once,
runs the fixtures' teardown, and prints the failure's first line last on stdout (exit 1), or PASS (exit 0).
Its source is copied verbatim into the scripts, so it must stay self-contained.
"""
import importlib
import inspect
import itertools
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

LIBRARY_FIXTURES = ("torch", "torchvision", "torchaudio", "torchtext")


class _Config:
    """pytest's config as the checks read it: the row's depth and mode."""

    def __init__(self, depth):
        self.options = {"--depth": depth, "--harness-mode": "matrix", "--harness-phase": "all"}

    def getoption(self, name, default=None):
        return self.options.get(name, default)


class _Node:
    def __init__(self, name):
        self.name, self.user_properties = name, []


class _Request:
    """pytest's `request`: config, node (measurements land in node.user_properties) and, for a
    parametrized fixture, param."""

    def __init__(self, config, node, param=None):
        self.config, self.node, self.param = config, node, param


class _TmpPathFactory:
    def mktemp(self, name, numbered=True):
        return Path(tempfile.mkdtemp(prefix=f"{name}-"))


class _Benchmark:
    """pytest-benchmark's fixture: times the rounds with the process's CPU clock (as the suites' benchmarks do)
    and prints their median in seconds, the figure a regression's bundle compares."""

    def __init__(self):
        self.extra_info = {}

    def __call__(self, fn, *args, **kwargs):
        return self.pedantic(fn, args=args, kwargs=kwargs, rounds=20, warmup_rounds=2)

    def pedantic(self, fn, args=(), kwargs=None, rounds=20, warmup_rounds=0, iterations=1, **_ignored):
        result = None
        for _ in range(warmup_rounds):
            result = fn(*args, **(kwargs or {}))
        times = []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(iterations):
                result = fn(*args, **(kwargs or {}))
            times.append((time.process_time() - started) / iterations)
        times.sort()
        print(f"benchmark: median {times[len(times) // 2]:.6g} s, min {times[0]:.6g} s over {rounds} rounds")
        return result


def _idval(value, argname, index, ids):
    """pytest's id of one parameter value (_pytest/python.py: IdMaker._idval)."""
    if callable(ids):
        made = ids(value)
        if made is not None:
            return str(made)
    if isinstance(value, (str, int, float, bool, complex)) or value is None:
        return str(value)
    if isinstance(value, re.Pattern):
        return value.pattern
    if inspect.isclass(value) or inspect.isfunction(value):
        return value.__name__
    return f"{argname}{index}"


def _choices(argnames, argvalues, ids):
    """(id, {argname: value}) for each parameter set of one parametrize call or parametrized fixture."""
    found = []
    for index, values in enumerate(argvalues):
        explicit = None
        if hasattr(values, "marks") and hasattr(values, "values"):  # pytest.param(...)
            explicit, values = values.id, tuple(values.values)
        elif len(argnames) == 1:
            values = (values,)
        listed = isinstance(ids, (list, tuple))
        if explicit is None and listed and index < len(ids) and ids[index] is not None:
            explicit = str(ids[index])
        made = explicit or "-".join(_idval(v, n, index, None if listed else ids)
                                    for n, v in zip(argnames, tuple(values), strict=True))
        found.append((made, dict(zip(argnames, tuple(values), strict=True))))
    return found


def select(test_id, params, generated):
    """The parameters named by `test_id`'s [...] part: `params` are (argnames, argvalues, ids) sources,
    `generated` the argnames pytest_generate_tests fills (their value is the id text, e.g. a model name).
    Raises LookupError when no combination gives the id."""
    wanted = test_id.partition("[")[2][:-1] if test_id.endswith("]") else ""
    sources = [_choices(*p) for p in params]
    if not sources and not generated:
        return {}
    for order in itertools.permutations(range(len(sources) + len(generated))):
        for combo in itertools.product(*sources):
            pattern, values = [], {}
            for slot in order:
                if slot < len(sources):
                    made, chosen = combo[slot]
                    pattern.append(re.escape(made))
                    values.update(chosen)
                else:
                    pattern.append(f"(?P<g{slot}>.+?)")
            match = re.fullmatch("-".join(pattern), wanted)
            if match:
                for slot, name in enumerate(generated, start=len(sources)):
                    values[name] = match.group(f"g{slot}")
                return values
    raise LookupError(f"no parameters of this check make the id [{wanted}]")


class _Metafunc:
    """pytest's metafunc for the suites' pytest_generate_tests: the parametrize calls it makes are recorded."""

    def __init__(self, config, fixturenames, function):
        self.config, self.fixturenames, self.function = config, list(fixturenames), function
        self.calls = []

    def parametrize(self, argnames, argvalues, indirect=False, ids=None, scope=None):
        names = tuple(n.strip() for n in argnames.split(",")) if isinstance(argnames, str) else tuple(argnames)
        self.calls.append((names, list(argvalues), ids))


def run_check(test, test_id, params, generated, fixtures, autouse, depth, describe, generators=()):
    """Run `test` once as pytest would for `test_id`; returns the exit status (0 pass, 1 failure).
    `generators` are the suites' pytest_generate_tests: their parametrize calls join `params`."""
    config = _Config(depth)
    node = _Node(test_id)
    metafunc = _Metafunc(config, [*inspect.signature(test).parameters, *fixtures, *autouse], test)
    for generate in generators:
        generate(metafunc)
    covered = {name for names, _, _ in metafunc.calls for name in names}
    params = [*params, *metafunc.calls]
    chosen = select(test_id, params, [name for name in generated if name not in covered])
    values: dict = {}
    teardown: list = []  # generators of fixtures, and monkeypatch

    def resolve(name):
        if name in values:
            return values[name]
        if name in fixtures:
            fn = fixtures[name]
            request = _Request(config, node, chosen.get(name))
            kwargs = {p: request if p == "request" else resolve(p) for p in inspect.signature(fn).parameters}
            made = fn(**kwargs)
            if inspect.isgenerator(made):
                teardown.append(made)
                made = next(made)
        elif name in chosen:
            made = chosen[name]
        elif name in LIBRARY_FIXTURES:
            made = importlib.import_module(name)
        elif name == "request":
            made = _Request(config, node)
        elif name in ("depth", "harness_mode"):
            made = config.getoption(f"--{name.replace('_', '-')}")
        elif name in ("tmp_path", "fixtures_dir"):
            made = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        elif name == "tmp_path_factory":
            made = _TmpPathFactory()
        elif name == "monkeypatch":
            import pytest

            made = pytest.MonkeyPatch()
            teardown.append(made)
        elif name == "benchmark":
            made = _Benchmark()
        else:
            raise LookupError(f"the check takes {name!r}, which this script cannot provide")
        values[name] = made
        return made

    failure = None
    try:
        for name in autouse:
            resolve(name)
        test(**{p: resolve(p) for p in inspect.signature(test).parameters})
    except BaseException as exc:  # any failure of the check is what is reproduced
        if isinstance(exc, KeyboardInterrupt):
            raise
        failure = exc
        traceback.print_exc()
    for made in reversed(teardown):
        try:
            if inspect.isgenerator(made):
                next(made, None)
            else:
                made.undo()  # monkeypatch
        except Exception as exc:  # noqa: BLE001 - a failing teardown is the check's error, as in pytest
            traceback.print_exc()
            failure = failure or exc
    for key, measured in node.user_properties:
        print(f"{key}: {measured}")
    sys.stdout.flush()
    if failure is not None:
        print(describe(failure))
        return 1
    print(f"PASS: {test_id}")
    return 0
