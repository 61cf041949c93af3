"""The house rules (issue 22), read from the code itself: data flows one way (extract -> text
-> fingerprint -> store / detect -> report), no import cycle, modules that fit on a few
screens. An AST walk over leakwatch/: every import counts, those inside functions too (a
lazy import is still a dependency)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "leakwatch"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The leakwatch modules ``name`` imports (a name imported from a package counts as
    its submodule when there is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    # Imports only the type checker sees (``if TYPE_CHECKING:``) are annotations, not
    # dependencies at run time.
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # ``from pkg import sub`` depends on the module pkg.sub; ``from mod import name``
            # on mod.
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            # Importing pkg.sub.mod first runs pkg/__init__ and pkg/sub/__init__: the
            # packages on the way are dependencies too.
            while target and target.startswith("leakwatch") and target != "leakwatch":
                if target != name and not name.startswith(target + "."):
                    found.add(target)
                target = target.rpartition(".")[0]
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_import_cycle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == [], cycles


def test_the_core_imports_no_detection_pipeline_report_or_cli() -> None:
    graph = _graph()
    core = [m for m in graph if _under(m, "leakwatch.extract", "leakwatch.store", "leakwatch.fingerprint",
                                       "leakwatch.text")]
    upper = ("leakwatch.detect", "leakwatch.pipeline", "leakwatch.scanner", "leakwatch.report", "leakwatch.cli",
             "leakwatch.batch", "leakwatch.watch")
    wrong = {m: sorted(t for t in graph[m] if _under(t, *upper)) for m in core}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_reports_import_neither_extraction_nor_the_store() -> None:
    graph = _graph()
    wrong = {m: sorted(t for t in graph[m] if _under(t, "leakwatch.extract", "leakwatch.store",
                                                      "leakwatch.isolate"))
             for m in graph if _under(m, "leakwatch.report")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_detection_does_not_import_the_pipeline() -> None:
    graph = _graph()
    wrong = {m: sorted(t for t in graph[m] if _under(t, "leakwatch.pipeline", "leakwatch.scanner",
                                                      "leakwatch.batch", "leakwatch.cli"))
             for m in graph if _under(m, "leakwatch.detect")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_only_the_cli_imports_the_cli() -> None:
    graph = _graph()
    wrong = {m: sorted(t for t in graph[m] if _under(t, "leakwatch.cli"))
             for m in graph if not _under(m, "leakwatch.cli", "leakwatch.entry", "leakwatch.__main__")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_no_module_over_600_lines() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_graph_is_read() -> None:
    """The rules above are only as good as the graph: it sees the imports it must."""
    graph = _graph()
    assert "leakwatch.model" in graph["leakwatch.pipeline"]
    deps: dict[str, int] = defaultdict(int)
    for targets in graph.values():
        for t in targets:
            deps[t] += 1
    assert deps["leakwatch.model"] >= 10 and deps["leakwatch.config"] >= 10


def test_scripts_and_benchmarks_import_names_that_exist() -> None:
    """benchmarks/ and scripts/ are not run by the suite: a rename in leakwatch/ would break
    them silently (it did once: the warm-scan benchmark imported a scanner that had moved)."""
    import importlib

    missing = []
    for path in sorted([*(PACKAGE.parent / "benchmarks").glob("*.py"), *(PACKAGE.parent / "scripts").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leakwatch"):
                module = importlib.import_module(str(node.module))
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        try:
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            missing.append(f"{path.name}: {node.module}.{alias.name}")
    assert missing == []
