"""A standalone script for one suite check: its code and every helper it reaches, inlined, without the harness.

`standalone_script(test_id, suites_root, depth)` reads the check's module (`suites/<area>/test_x.py`), finds the
test function, and walks (with `ast`) every module-level name it uses: definitions in the test module, in the
suites' helper modules (`suites/_models.py`, `suites/<area>/_*.py`) and in the harness (`harness.measure`'s
comparison, `harness.plugin.require_module`, `harness.isolate.run`) are copied verbatim, with the comment lines
just above them (where the tolerances give their reasons); imports of anything else (torch, numpy, scipy) stay
imports. The fixtures the check takes are inlined too (from the test module and `suites/<area>/conftest.py`,
decorators dropped), and harness/repro_runtime.py, pasted at the end, provides pytest's part: the parameters of
the test id, `request`, `tmp_path`, the row libraries, and the failure's first line on exit.

Raises ReproError when the check cannot be found or inlined (a name defined differently in two modules).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness import settings
from harness.collect import module_of

LOCAL_PACKAGES = ("suites", "harness", "fixtures")  # inlined; every other import stays an import
RUNTIME = Path(__file__).with_name("repro_runtime.py")


class ReproError(Exception):
    """The check cannot be turned into a standalone script; the message says which name or file."""


@dataclass
class Module:
    """One parsed module of the suites or the harness."""

    name: str
    path: Path
    text: str
    tree: ast.Module
    defs: dict[str, ast.stmt] = field(default_factory=dict)       # top-level name -> the statement binding it
    imports: dict[str, tuple[str, str | None, ast.stmt]] = field(default_factory=dict)  # name -> (module, attr)
    plain: dict[str, list[str]] = field(default_factory=dict)  # name -> its `import a.b` lines (a and a.b)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def _bound(stmt: ast.stmt) -> list[str]:
    """Names a top-level statement binds (defs, assignments, and those inside a top-level if/try)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(stmt, (ast.If, ast.Try, ast.With)):
        return [name for inner in ast.walk(stmt) if inner is not stmt and isinstance(inner, ast.stmt)
                for name in _bound(inner)] + [a.asname or a.name.split(".")[0] for inner in ast.walk(stmt)
                                              if isinstance(inner, (ast.Import, ast.ImportFrom)) for a in inner.names]
    return []


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join(package + ([node.module] if node.module else []))


class Inliner:
    """Collects the definitions a check needs, in dependency order, and the external imports."""

    def __init__(self, suites_root: Path):
        self.roots = {"suites": suites_root, **{name: settings.ROOT / name for name in LOCAL_PACKAGES[1:]}}
        self.modules: dict[str, Module] = {}
        self.blocks: list[str] = []            # emitted code, dependencies first
        self.imports: list[str] = []           # external import lines
        self.owner: dict[tuple, tuple[str, str]] = {}   # namespaces emitted
        self.names: dict[tuple[str, str], str | None] = {}  # (module, name) -> its name in the script
        self.notes: list[str] = []

    # ---- modules -------------------------------------------------------------------------------
    def path_of(self, module: str) -> Path | None:
        head, _, rest = module.partition(".")
        if head not in self.roots:
            return None
        base = self.roots[head].joinpath(*rest.split(".")) if rest else self.roots[head]
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def load(self, module: str) -> Module:
        if module not in self.modules:
            path = self.path_of(module)
            if path is None:
                raise ReproError(f"{module}: no such module under {self.roots[module.partition('.')[0]]}")
            text = path.read_text(encoding="utf-8")
            mod = Module(module, path, text, ast.parse(text, str(path)))
            for stmt in mod.tree.body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    for alias in stmt.names:
                        source = _absolute(module, stmt) if isinstance(stmt, ast.ImportFrom) else alias.name
                        local = alias.asname or alias.name.split(".")[0]
                        if isinstance(stmt, ast.ImportFrom):
                            mod.imports[local] = (source, alias.name, stmt)
                        else:
                            mod.imports[local] = (alias.name, None, stmt)
                            mod.plain.setdefault(local, []).append(
                                f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
                for name in _bound(stmt):
                    mod.defs.setdefault(name, stmt)
            self.modules[module] = mod
        return self.modules[module]

    def is_local(self, module: str) -> bool:
        return module.partition(".")[0] in LOCAL_PACKAGES

    def is_module(self, module: str) -> bool:
        return self.is_local(module) and self.path_of(module) is not None

    # ---- names ---------------------------------------------------------------------------------
    def need(self, module: str, name: str) -> str | None:
        """Make `name`, as `module` sees it, defined in the script; returns its name there (a name two
        modules define differently gets its module's prefix), None for a builtin or a local variable."""
        key = (module, name)
        if key in self.names:
            return self.names[key]
        mod = self.load(module)
        if name in mod.defs:
            return self.emit(mod, mod.defs[name], name)
        if name not in mod.imports:
            return None  # a builtin, a local variable, a parameter or a comprehension's name
        source, attr, stmt = mod.imports[name]
        if self.is_local(source):
            target = f"{source}.{attr}" if attr else source
            if attr and not self.is_module(target):
                self.names[key] = self.need(source, attr)
                return self.names[key]
            return None  # a module imported as a name: its attributes are inlined where used (see `uses`)
        if isinstance(stmt, ast.ImportFrom) and stmt.level:
            raise ReproError(f"{module}: relative import of {name} from outside the suites")
        lines = [f"from {source} import {attr}" + (f" as {name}" if name != attr else "")] if attr else mod.plain[name]
        self.imports += [line for line in lines if line not in self.imports]
        self.names[key] = name
        return name

    def uses(self, module: str, node: ast.AST, skip: frozenset[int] | set[int] = frozenset()) -> None:
        """Need every module-level name `node` reads; `alias.attr` of an inlined module is filled in."""
        mod = self.load(module)
        for inner in ast.walk(node):
            if id(inner) in skip:
                continue
            if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name):
                imported = mod.imports.get(inner.value.id)
                if imported and self.is_local(imported[0]):
                    target = f"{imported[0]}.{imported[1]}" if imported[1] else imported[0]
                    if self.is_module(target):
                        self._namespace(target, inner.value.id, inner.attr, self.need(target, inner.attr))
                        continue
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                self.need(module, inner.id)
            if isinstance(inner, ast.ImportFrom) and inner is not node and self.is_local(_absolute(module, inner)):
                for named in inner.names:  # an import inside a function: inline what it names
                    source = _absolute(module, inner)
                    if not self.is_module(f"{source}.{named.name}"):
                        self.names[(module, named.asname or named.name)] = self.need(source, named.name)

    def _namespace(self, module: str, alias: str, attr: str, defined: str | None) -> None:
        """`alias.attr` in the script: a SimpleNamespace per inlined module imported as a name."""
        if ("namespace", alias) not in self.owner:
            self.owner[("namespace", alias)] = (module, "")
            self.blocks.append(f"{alias} = types.SimpleNamespace()  # what the script uses of {module}\n")
            if "import types" not in self.imports:
                self.imports.append("import types")
        line = f"{alias}.{attr} = {defined or attr}\n"
        if line not in self.blocks:
            self.blocks.append(line)

    # ---- text ----------------------------------------------------------------------------------
    def source(self, mod: Module, stmt: ast.stmt, keep_decorators: bool = True) -> str:
        """The statement's own lines, with the comment lines right above it, its module-level names as the
        script names them; local imports inside it become `pass` (what they named is inlined above)."""
        lines = list(mod.lines)
        renames = []
        local = _locals(stmt)
        for inner in ast.walk(stmt):
            if isinstance(inner, ast.Name) and inner.id not in local:
                new = self.names.get((mod.name, inner.id))
                if new and new != inner.id:
                    renames.append((inner.lineno, inner.col_offset, inner.id, new))
        for lineno, col, old, new in sorted(renames, reverse=True):
            line = lines[lineno - 1]
            lines[lineno - 1] = line[:col] + new + line[col + len(old):]
        for name in _bound(stmt)[:1]:
            new = self.names.get((mod.name, name))
            if new and new != name and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                keyword = "class" if isinstance(stmt, ast.ClassDef) else "def"
                lines[stmt.lineno - 1] = lines[stmt.lineno - 1].replace(f"{keyword} {name}", f"{keyword} {new}", 1)
        top = min([d.lineno for d in getattr(stmt, "decorator_list", [])] + [stmt.lineno])
        first = top if keep_decorators else stmt.lineno
        comments = top - 1
        while comments > 0 and lines[comments - 1].lstrip().startswith("#"):
            comments -= 1
        above = lines[comments:top - 1]
        body = lines[first - 1:stmt.end_lineno]
        inner_imports = [n for n in ast.walk(stmt) if isinstance(n, ast.ImportFrom) and n is not stmt
                         and self.is_local(_absolute(mod.name, n))]
        for inner in sorted(inner_imports, key=lambda n: -n.lineno):
            body[inner.lineno - first:(inner.end_lineno or inner.lineno) - first + 1] = [
                f"{' ' * inner.col_offset}pass  # inlined above: {ast.unparse(inner)}"]
        return "\n".join(above + body) + "\n"

    def emit(self, mod: Module, stmt: ast.stmt, name: str, keep_decorators: bool = True) -> str:
        """Emit the statement binding `name` in `mod` (its dependencies first); its name in the script."""
        if (known := self.names.get((mod.name, name))) is not None:
            return known
        for bound in _bound(stmt) or [name]:
            taken = {v for k, v in self.names.items() if k[0] != mod.name}
            short = mod.name.rpartition(".")[2]
            self.names[(mod.name, bound)] = bound if bound not in taken else f"{short}__{bound.lstrip('_')}"
        skip = set() if keep_decorators else {id(n) for d in getattr(stmt, "decorator_list", [])
                                              for n in ast.walk(d)}
        self.uses(mod.name, stmt, skip)
        self.blocks.append(self.source(mod, stmt, keep_decorators))
        return self.names[(mod.name, name)] or name


def _locals(stmt: ast.stmt) -> set[str]:
    """Names a function binds itself (parameters, assignments): not renamed with the module's."""
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return set()
    found = {a.arg for a in ast.walk(stmt.args) if isinstance(a, ast.arg)}
    for inner in ast.walk(stmt):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
            found.add(inner.id)
        elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inner is not stmt:
            found.add(inner.name)
    return found


def _fixture_decorator(stmt: ast.stmt) -> ast.expr | None:
    for deco in getattr(stmt, "decorator_list", []):
        target = deco.func if isinstance(deco, ast.Call) else deco
        if ast.unparse(target) in ("pytest.fixture", "fixture"):
            return deco
    return None


def _keyword(call: ast.expr, name: str) -> ast.expr | None:
    return next((k.value for k in getattr(call, "keywords", []) if k.arg == name), None)


def _argnames(node: ast.expr) -> tuple[str, ...]:
    value = ast.literal_eval(node)
    return tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Script:
    """A generated script and what could not be inlined (said in the bundle's README)."""

    text: str
    notes: tuple[str, ...]


def standalone_script(test_id: str, suites_root: Path | None = None, depth: str = "quick",
                      header: str = "") -> Script:
    """The standalone script for `test_id` ("audio/test_x.py::test_y[param]", relative to the suites).

    Raises ReproError when the module or the test is not found, or a name cannot be inlined."""
    suites_root = Path(suites_root or settings.current().suites)
    path, _, rest = test_id.partition("::")
    path = module_of(path)  # node ids carry pytest's rootdir prefix when the suites live elsewhere
    func_name = rest.partition("[")[0].split("::")[-1]
    module = "suites." + path.removesuffix(".py").replace("/", ".")
    inliner = Inliner(suites_root)
    if inliner.path_of(module) is None:
        raise ReproError(f"{test_id}: no module {path} under {suites_root}")
    mod = inliner.load(module)
    test = mod.defs.get(func_name)
    if not isinstance(test, ast.FunctionDef):
        raise ReproError(f"{test_id}: no function {func_name} in {mod.path}")

    params: list[str] = []
    argnames_seen: set[str] = set()
    for deco in reversed(test.decorator_list):  # pytest joins ids from the innermost decorator out
        if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("mark.parametrize"):
            names = _argnames(deco.args[0])
            values = deco.args[1] if len(deco.args) > 1 else _keyword(deco, "argvalues")
            if values is None:
                raise ReproError(f"{test_id}: a parametrize of {func_name} without argvalues")
            ids = _keyword(deco, "ids")
            inliner.uses(module, values)
            if ids is not None:
                inliner.uses(module, ids)
            params.append(f"    ({names!r}, {ast.get_source_segment(mod.text, values)}, "
                          f"{ast.get_source_segment(mod.text, ids) if ids is not None else None}),")
            argnames_seen.update(names)

    conftest = f"suites.{path.rpartition('/')[0].replace('/', '.')}.conftest" if "/" in path else ""
    fixture_modules = [module] + ([conftest] if conftest and inliner.path_of(conftest) else [])
    fixtures: dict[str, str] = {}
    autouse: list[str] = []
    generated: list[str] = []

    def fixture(name: str) -> bool:
        for where in fixture_modules:
            owner = inliner.load(where)
            for stmt in owner.tree.body:
                deco = _fixture_decorator(stmt)
                if deco is None or not isinstance(stmt, ast.FunctionDef):
                    continue
                declared = _keyword(deco, "name") if isinstance(deco, ast.Call) else None
                if (declared is not None and ast.literal_eval(declared) != name) or \
                        (declared is None and stmt.name != name):
                    continue
                for arg in stmt.args.args:
                    if arg.arg != "request" and arg.arg not in fixtures:
                        fixture(arg.arg)
                fixtures[name] = inliner.emit(owner, stmt, stmt.name, keep_decorators=False)
                if isinstance(deco, ast.Call) and (values := _keyword(deco, "params")) is not None:
                    ids = _keyword(deco, "ids")
                    inliner.uses(where, values)
                    params.append(f"    (({name!r},), {ast.get_source_segment(owner.text, values)}, "
                                  f"{ast.get_source_segment(owner.text, ids) if ids is not None else None}),")
                return True
        return False

    for where in fixture_modules:
        for stmt in inliner.load(where).tree.body:
            marker = _fixture_decorator(stmt)
            flag = _keyword(marker, "autouse") if isinstance(marker, ast.Call) else None
            if isinstance(stmt, ast.FunctionDef) and isinstance(flag, ast.Constant) and flag.value is True \
                    and fixture(stmt.name):
                autouse.append(stmt.name)
    for arg in test.args.args:
        if arg.arg in argnames_seen or arg.arg in fixtures:
            continue
        if not fixture(arg.arg) and arg.arg not in PROVIDED:
            generated.append(arg.arg)  # filled by pytest_generate_tests: the id's text is the value
    generators = [inliner.emit(owner, owner.defs["pytest_generate_tests"], "pytest_generate_tests")
                  for owner in map(inliner.load, fixture_modules) if "pytest_generate_tests" in owner.defs]
    test_name = inliner.emit(mod, test, test.name, keep_decorators=False)
    inliner.blocks.append("# ---- how the harness names a failure (harness/status.py) " + "-" * 40 + "\n")
    root_cause = inliner.need("harness.status", "root_cause")
    if any(re.search(r"(?:from|import)\s+suites\b|-m\W+suites\.", block) for block in inliner.blocks):
        inliner.notes.append("the check starts a module of the suites in a child process: run this script "
                             "with the harness's suites folder on PYTHONPATH")

    runtime = RUNTIME.read_text(encoding="utf-8")
    runtime_doc = ast.get_docstring(ast.parse(runtime)) or ""
    runtime_body = runtime.split('"""', 2)[2].lstrip("\n")
    fixture_table = "".join(f"    {name!r}: {fn},\n" for name, fn in fixtures.items())
    text = "\n".join([
        "#!/usr/bin/env python3",
        f'"""Standalone reproduction of {test_id}.',
        "",
        header.strip(),
        "",
        "Generated by the compatibility harness (harness/repro_script.py): the check and every helper it uses",
        "are copied below from the suites; nothing of the harness is imported. Run it with the row's",
        'environment (requirements.lock): `python repro.py`. Exit 1 with the failure\'s first line last on',
        'stdout; exit 0 when the check passes."""',
        "from __future__ import annotations",
        "",
        *inliner.imports,
        "",
        "",
        "\n\n".join(block.rstrip("\n") for block in inliner.blocks),
        "",
        "# ---- the runner: pytest's part, for this one check " + "-" * 50,
        "\n".join(f"# {line}".rstrip() for line in runtime_doc.splitlines()),
        runtime_body,
        "",
        f"TEST_ID = {test_id!r}",
        f"DEPTH = {depth!r}  # the row's depth (quick or full): some checks sample models by it",
        "PARAMS = [  # (argnames, argvalues, ids), innermost parametrize first",
        *params,
        "]",
        f"GENERATED = {tuple(generated)!r}  # parameters no parametrize names: the id's text is the value",
        f"GENERATORS = ({''.join(f'{g}, ' for g in generators)})  # the suites' pytest_generate_tests",
        "FIXTURES = {",
        fixture_table.rstrip("\n"),
        "}",
        f"AUTOUSE = {tuple(autouse)!r}",
        "",
        'if __name__ == "__main__":',
        f"    sys.exit(run_check({test_name}, TEST_ID, PARAMS, GENERATED, FIXTURES, AUTOUSE, DEPTH,",
        f"                       lambda exc: {root_cause}(exc)[0], GENERATORS))",
        "",
    ])
    compile(text, f"repro for {test_id}", "exec")  # a SyntaxError here is the generator's bug, not the row's
    return Script(text, tuple(inliner.notes))


PROVIDED = {"torch", "torchvision", "torchaudio", "torchtext", "request", "depth", "harness_mode", "tmp_path",
            "fixtures_dir", "tmp_path_factory", "monkeypatch", "benchmark"}
