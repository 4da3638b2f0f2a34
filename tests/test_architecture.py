"""The shape of the code base, checked by an AST scan of ``indexer/`` and ``search_api/``.

Rules: the lower layer (``indexer``) never imports the upper one
(``search_api``); no import cycles between modules; no function over 80 lines; no module
over 450 lines; SQL ``execute`` calls live in at most 3 modules; heavy libraries are only
imported inside the functions that need them.

Rooms that say what they do (issue 25): evaluation, calibration and abstention live in
``search_api.quality``; shards are written by the indexer (``indexer.cluster``) through the
writer's public API, never by ``search_api``; the indexer knows nothing of HTTP; the
cluster's searcher composes a ``Searcher`` instead of subclassing it, and nothing silences
an override check; commands are registered in one module per group root.

Imports are found with ``ast.walk``, so an import inside a function (or under
``if TYPE_CHECKING:``) counts for layering and cycles: a lazy import is still a
dependency. The scanner's helpers are tested on synthetic sources at the end of this
file, so a scanner bug cannot make the rules pass silently.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("indexer", "search_api")

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 450
MAX_SQL_MODULES = 3
SQL_METHODS = frozenset({"execute", "executemany", "executescript"})
# Slow to import (or pulling in a large native library): only inside functions.
HEAVY_MODULES = frozenset({
    "torch", "faiss", "onnxruntime", "scipy", "sentence_transformers", "trafilatura", "ray",
})


# ---------------------------------------------------------------------------
# Scanner
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    """One parsed source file."""

    name: str          # dotted module name; a package's __init__ is the package's name
    path: str          # path shown in messages
    is_package: bool   # True for an __init__.py
    source: str
    tree: ast.Module

    @property
    def line_count(self) -> int:
        return len(self.source.splitlines())


def module_name(rel_path: str) -> tuple[str, bool]:
    """``a/b/c.py`` → ``("a.b.c", False)``; ``a/b/__init__.py`` → ``("a.b", True)``."""
    parts = list(Path(rel_path).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def parse_sources(sources: dict[str, str]) -> dict[str, Module]:
    """Parse ``{relative path: source}`` into modules keyed by dotted name."""
    modules = {}
    for rel_path, source in sources.items():
        name, is_package = module_name(rel_path)
        modules[name] = Module(name, rel_path, is_package, source, ast.parse(source, rel_path))
    return modules


def load_tree(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Module]:
    """Every ``.py`` file under the given top-level packages of ``root``."""
    sources = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            sources[file.relative_to(root).as_posix()] = file.read_text(encoding="utf-8")
    return parse_sources(sources)


def resolve_from(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module a ``from X import ...`` statement names as X."""
    if node.level == 0:
        return node.module or ""
    # Relative: level 1 is the current package (for a package's __init__, itself).
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        raise ValueError(f"{module.path}:{node.lineno}: relative import beyond top level")
    base = parts[: len(parts) - (node.level - 1)]
    if node.module:
        base.append(node.module)
    return ".".join(base)


def imports_of(module: Module, known: Iterable[str], nodes: Iterable[ast.AST] | None = None
               ) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for every import in ``nodes`` (default: anywhere).

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a known module,
    else as importing ``pkg``.
    """
    known = set(known)
    seen: set[tuple[str, int]] = set()
    for node in ast.walk(module.tree) if nodes is None else nodes:
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(module, node)
            candidates = (f"{base}.{alias.name}" if base else alias.name for alias in node.names)
            found = [c if c in known else base for c in candidates]
        else:
            continue
        for target in found:
            if (target, node.lineno) not in seen:  # `from x import a, b` is one import of x
                seen.add((target, node.lineno))
                yield target, node.lineno


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Edges between scanned modules (a package's __init__ → its own submodules left out)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, module in modules.items():
        for target, _ in imports_of(module, modules):
            if target not in modules or target == name:
                continue
            if module.is_package and target.startswith(name + "."):
                continue  # re-exporting its own submodules
            graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first node repeated at the end) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(start: str) -> None:
        # Iterative Tarjan, so a deep graph cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return [_cycle_in(graph, set(component)) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A concrete cycle through the smallest-named member of a strongly connected set."""
    start = min(component)
    parents = {start: ""}
    queue = [start]
    for node in queue:  # breadth first: the shortest way back to start
        for child in sorted(graph[node] & component):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in parents:
                parents[child] = node
                queue.append(child)
    raise AssertionError("a strongly connected component without a cycle")


def long_functions(module: Module, limit: int = MAX_FUNCTION_LINES) -> Iterator[tuple[str, int, int]]:
    """``(qualified name, line, length)`` of every def (methods and nested ones too)
    longer than ``limit`` lines; a def's line is its ``def``, so decorators are excluded."""
    for qualname, node in _defs(module.tree, ""):
        length = node.end_lineno - node.lineno + 1
        if length > limit:
            yield qualname, node.lineno, length


def _defs(tree: ast.AST, prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualname = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield qualname, node
            yield from _defs(node, qualname + ".")
        else:
            yield from _defs(node, prefix)


def sql_call_count(module: Module) -> int:
    """Calls of ``.execute(``, ``.executemany(`` and ``.executescript(`` in a module."""
    return sum(
        1 for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_METHODS
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes that run when the module is imported: everything but function bodies and
    ``if TYPE_CHECKING:`` blocks (class bodies, ``try``, ``with``, ``if`` do run)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield stmt
                yield from import_time_nodes(stmt)
            continue
        yield child
        yield from import_time_nodes(child)


def heavy_top_level_imports(module: Module, known: Iterable[str]) -> Iterator[tuple[str, int]]:
    """``(heavy module, line)`` imported at import time of ``module``."""
    for target, line in imports_of(module, known, import_time_nodes(module.tree)):
        if target.split(".")[0] in HEAVY_MODULES:
            yield target, line


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_violations(modules: dict[str, Module], lower: str, upper: str) -> list[str]:
    """``path:line: module imports target`` for every import of ``upper`` in ``lower``."""
    return [
        f"{module.path}:{line}: {name} imports {target}"
        for name, module in sorted(modules.items()) if in_package(name, lower)
        for target, line in imports_of(module, modules) if in_package(target, upper)
    ]


# ---------------------------------------------------------------------------
# The rules, on the real tree
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tree() -> dict[str, Module]:
    return load_tree()


def _offenders(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)


def test_scan_finds_the_packages() -> None:
    modules = _tree()
    for package in PACKAGES:
        assert package in modules, f"{package}/__init__.py not scanned"
    assert len(modules) > 10, sorted(modules)


def test_indexer_never_imports_search_api() -> None:
    offenders = layer_violations(_tree(), "indexer", "search_api")
    assert not offenders, _offenders("indexer (lower layer) imports search_api", offenders)


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph(_tree()))
    lines = [" -> ".join(cycle) for cycle in cycles]
    assert not cycles, _offenders("import cycles (one path per cycle group)", lines)


def test_no_long_functions() -> None:
    lines = [
        f"{module.path}:{line}: {name} is {length} lines"
        for module in _tree().values() for name, line, length in long_functions(module)
    ]
    assert not lines, _offenders(f"functions over {MAX_FUNCTION_LINES} lines", sorted(lines))


def test_no_long_modules() -> None:
    lines = [
        f"{module.path}: {module.line_count} lines"
        for module in sorted(_tree().values(), key=lambda m: m.path)
        if module.line_count > MAX_MODULE_LINES
    ]
    assert not lines, _offenders(f"modules over {MAX_MODULE_LINES} lines", lines)


def test_sql_runs_in_few_modules() -> None:
    counts = {module.path: n for module in _tree().values() if (n := sql_call_count(module))}
    lines = [f"{path}: {n} call(s)" for path, n in sorted(counts.items())]
    assert len(counts) <= MAX_SQL_MODULES, _offenders(
        f"execute/executemany/executescript called in more than {MAX_SQL_MODULES} modules", lines)


def test_heavy_libraries_imported_lazily() -> None:
    modules = _tree()
    lines = [
        f"{module.path}:{line}: imports {target} at import time"
        for module in sorted(modules.values(), key=lambda m: m.path)
        for target, line in heavy_top_level_imports(module, modules)
    ]
    assert not lines, _offenders("heavy imports outside functions", lines)


# ---------------------------------------------------------------------------
# Rooms (issue 25)
# ---------------------------------------------------------------------------

#: The modules that may register commands on a group: the root ``vnsearch`` group's one
#: list, and the indexer's own group (``python -m indexer``).
COMMAND_REGISTRIES = frozenset({"search_api.cli", "indexer.commands"})
#: Imported by the indexer, these would make it an HTTP layer.
HTTP_MODULES = frozenset({"fastapi", "starlette", "uvicorn", "httpx", "http", "requests"})


def command_registrations(module: Module) -> Iterator[tuple[str, int]]:
    """``(call, line)`` for every ``group.add_command(...)`` and every ``@group.command(...)``
    / ``@group.group(...)`` decorator on a group object (``click.command`` itself makes a
    command without registering it, so it is not one; nor is a regex's ``m.group(1)``)."""
    decorators = {id(d) for node in ast.walk(module.tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for d in node.decorator_list}
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, owner = node.func.attr, node.func.value
        if attr == "add_command" or (
                attr in ("command", "group") and id(node) in decorators
                and not (isinstance(owner, ast.Name) and owner.id == "click")):
            yield f"{ast.unparse(node.func)}(", node.lineno


def subclasses_of(module: Module, base: str) -> Iterator[tuple[str, int]]:
    """``(class, line)`` for every class of ``module`` with ``base`` among its bases
    (named plainly or as ``something.base``)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ClassDef):
            for b in node.bases:
                name = b.id if isinstance(b, ast.Name) else getattr(b, "attr", None)
                if name == base:
                    yield node.name, node.lineno


def names_used(module: Module, name: str) -> Iterator[int]:
    """Lines where ``name`` appears as a name, an attribute or an argument/def name."""
    for node in ast.walk(module.tree):
        found = (isinstance(node, ast.Name) and node.id == name) or (
            isinstance(node, ast.Attribute) and node.attr == name) or (
            isinstance(node, ast.arg) and node.arg == name) or (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name)
        if found:
            yield node.lineno


def test_quality_modules_live_in_the_quality_package() -> None:
    modules = _tree()
    loose = [name for name in ("search_api.evaluation", "search_api.calibration",
                               "search_api.abstention") if name in modules]
    assert not loose, _offenders("quality modules loose in search_api/ (use search_api/quality/)",
                                 loose)
    for name in ("search_api.quality", "search_api.quality.evaluation",
                 "search_api.quality.calibration", "search_api.quality.abstention"):
        assert name in modules, f"{name} missing"


def test_writer_used_through_its_public_api() -> None:
    """Outside ``indexer.writer`` only the package's names are imported, never its modules."""
    modules = _tree()
    lines = [
        f"{module.path}:{line}: imports {target}"
        for name, module in sorted(modules.items()) if not in_package(name, "indexer.writer")
        for target, line in imports_of(module, modules)
        if target.startswith("indexer.writer.")
    ]
    assert not lines, _offenders("writer internals imported (use `from indexer.writer import`)",
                                 lines)


def test_search_api_writes_no_shards() -> None:
    """Shards are written on the write side (``indexer.cluster``); the serving side's
    cluster package reads them and never imports the writer."""
    modules = _tree()
    assert "indexer.cluster.ray_index" in modules
    stray = [name for name in modules if in_package(name, "search_api")
             and name.rpartition(".")[2] == "ray_index"]
    lines = [
        f"{module.path}:{line}: imports {target}"
        for name, module in sorted(modules.items()) if in_package(name, "search_api.cluster")
        for target, line in imports_of(module, modules) if in_package(target, "indexer.writer")
    ]
    assert not stray and not lines, _offenders("shard writing in search_api", stray + lines)


def test_indexer_knows_no_http() -> None:
    modules = _tree()
    lines = [
        f"{module.path}:{line}: http_status"
        for name, module in sorted(modules.items()) if in_package(name, "indexer")
        for line in names_used(module, "http_status")
    ] + [
        f"{module.path}:{line}: imports {target}"
        for name, module in sorted(modules.items()) if in_package(name, "indexer")
        for target, line in imports_of(module, modules)
        if target.split(".")[0] in HTTP_MODULES
    ]
    assert not lines, _offenders("HTTP in the indexer (map errors in search_api.errors)", lines)


def test_cluster_searcher_composes_the_searcher() -> None:
    modules = _tree()
    assert "ClusterSearcher" in modules["search_api.cluster.searcher"].source
    lines = [
        f"{module.path}:{line}: class {cls}(Searcher)"
        for module in sorted(modules.values(), key=lambda m: m.path)
        for cls, line in subclasses_of(module, "Searcher")
    ]
    assert not lines, _offenders("subclasses of Searcher (hand it parts instead)", lines)


def test_no_silenced_override_checks() -> None:
    lines = [
        f"{module.path}:{number}"
        for module in sorted(_tree().values(), key=lambda m: m.path)
        for number, text in enumerate(module.source.splitlines(), 1)
        if "type: ignore[override]" in text
    ]
    assert not lines, _offenders("`# type: ignore[override]`", lines)


def test_commands_registered_in_one_module() -> None:
    modules = _tree()
    lines = [
        f"{module.path}:{line}: {call}"
        for name, module in sorted(modules.items()) if name not in COMMAND_REGISTRIES
        for call, line in command_registrations(module)
    ]
    assert not lines, _offenders(
        f"commands registered outside {sorted(COMMAND_REGISTRIES)}", lines)
    assert any(True for _ in command_registrations(modules["search_api.cli"]))


# ---------------------------------------------------------------------------
# The scanner itself, on synthetic sources
# ---------------------------------------------------------------------------


def _synthetic() -> dict[str, Module]:
    return parse_sources({
        "pkg/__init__.py": "from .a import thing\nfrom pkg.sub import helper\n",
        "pkg/a.py": "import os\n\ndef f():\n    from .b import g\n",
        "pkg/b.py": "from . import a\n",
        "pkg/c.py": "from pkg import a\nfrom pkg import thing\n",
        "pkg/sub/__init__.py": "from . import deep\nfrom .deep import x\n",
        "pkg/sub/deep.py": "from ..a import y\nfrom .. import c\nfrom pkg.sub import other\n",
        "pkg/sub/other.py": "x = 1\n",
    })


def _imports(modules: dict[str, Module], name: str) -> set[str]:
    return {target for target, _ in imports_of(modules[name], modules)}


def test_scanner_resolves_relative_imports() -> None:
    modules = _synthetic()
    assert modules["pkg"].is_package and modules["pkg.sub"].is_package
    assert not modules["pkg.a"].is_package
    # Inside a function still counts; `from . import a` names the module pkg.a.
    assert _imports(modules, "pkg.a") == {"os", "pkg.b"}
    assert _imports(modules, "pkg.b") == {"pkg.a"}
    # `from pkg import thing` (not a module) is an import of the package itself.
    assert _imports(modules, "pkg.c") == {"pkg.a", "pkg"}
    # In a package's __init__, `.` is the package itself.
    assert _imports(modules, "pkg.sub") == {"pkg.sub.deep"}
    # `..` from pkg/sub/deep.py is pkg; `from pkg.sub import other` is the module.
    assert _imports(modules, "pkg.sub.deep") == {"pkg.a", "pkg.c", "pkg.sub.other"}
    (bad,) = parse_sources({"top.py": "from .. import x\n"}).values()
    with pytest.raises(ValueError, match="beyond top level"):
        list(imports_of(bad, ()))


def test_scanner_finds_cycles_but_not_reexports() -> None:
    modules = _synthetic()
    graph = import_graph(modules)
    # pkg/__init__ → pkg.a and pkg → pkg.sub are re-exports of its own submodules.
    assert graph["pkg"] == set()
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert find_cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []
    three = find_cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}})
    assert three == [["x", "y", "z", "x"]]
    # A package's __init__ importing a *sibling* package's module is an ordinary edge.
    other = parse_sources({
        "p/__init__.py": "", "p/q/__init__.py": "from p.r import f\n",
        "p/r.py": "from p.q import g\n",
    })
    assert find_cycles(import_graph(other)) == [["p.q", "p.r", "p.q"]]


def test_scanner_layers_lengths_sql_and_heavy_imports() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(80))
    modules = parse_sources({
        "low/__init__.py": "",
        "low/m.py": (
            "import typing\nfrom typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import torch\nelse:\n    import scipy.sparse\n"
            "try:\n    import faiss\nexcept ImportError:\n    pass\n"
            "class C:\n    import ray\n"
            "    def method(self):\n        import trafilatura\n"
            f"@decorator\ndef long():\n{body}\n"
            "def short():\n    import up.api\n    db.execute('x')\n    db.executemany('y', [])\n"
        ),
        "up/__init__.py": "", "up/api.py": "from low import m\nconn.executescript('z')\n",
    })
    assert layer_violations(modules, "low", "up") == ["low/m.py:98: low.m imports up.api"]
    assert layer_violations(modules, "up", "low") == ["up/api.py:1: up.api imports low.m"]
    assert list(long_functions(modules["low.m"])) == [("long", 16, 81)]
    inner = "\n".join("        " + line for line in body.splitlines())
    nested = parse_sources({"n.py": f"class K:\n    def outer(self):\n        def inner():\n{inner}\n"})
    assert list(long_functions(nested["n"], limit=79)) == [
        ("K.outer", 2, 82), ("K.outer.inner", 3, 81)]
    assert [sql_call_count(modules[n]) for n in ("low.m", "up.api", "low")] == [2, 1, 0]
    assert sorted(heavy_top_level_imports(modules["low.m"], modules)) == [
        ("faiss", 8), ("ray", 12), ("scipy.sparse", 6)]


def test_scanner_finds_registrations_subclasses_and_names() -> None:
    modules = parse_sources({"m.py": (
        "import click\n"
        "@click.command('a')\ndef a(): pass\n"
        "@main.command('b')\ndef b(): pass\n"
        "@cluster_group.group('g')\ndef g(): pass\n"
        "main.add_command(a)\nm.group(1)\n"
        "class S(Searcher): pass\nclass T(pkg.Searcher): pass\nclass U(Other): pass\n"
        "class E:\n    http_status = 1\nx = err.http_status\n"
    )})
    module = modules["m"]
    assert list(command_registrations(module)) == [
        ("main.command(", 4), ("cluster_group.group(", 6), ("main.add_command(", 8)]
    assert list(subclasses_of(module, "Searcher")) == [("S", 10), ("T", 11)]
    assert sorted(names_used(module, "http_status")) == [14, 15]
