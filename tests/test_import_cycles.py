"""No import cycles between phonebound's modules (issue 15: data flows one way through the stages).

Every module under ``src/phonebound`` is parsed with :mod:`ast`; each ``import phonebound.x`` /
``from phonebound.x import y`` / relative import becomes an edge, wherever it is written (at the
top of the module or inside a function: a lazy import still ties the two modules together).
``from package import name`` is an edge to the submodule ``package.name`` when there is one, else
to the package's ``__init__``, which counts as a module of its own. Importing a submodule is not
counted as importing its parent packages' ``__init__`` (Python runs them, but an ``__init__``
re-exporting its own submodules is no cycle as long as they do not import it back).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "phonebound"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def module_names(root: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under ``root`` (``__init__`` files named
    after their package)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]  # the package the import is in
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``source`` (the text of ``module``) imports, anywhere in it."""
    found: set[str] = set()

    def add(name: str) -> None:
        # `import a.b.c` names a.b.c; an unknown tail (a function, a class) falls back to its module
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                base = node.module
            else:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base)  # `from pkg import submodule` imports the submodule
    return found


def import_graph(root: Path = SRC, package: str = PACKAGE) -> dict[str, set[str]]:
    files = module_names(root, package)
    known = set(files)
    return {name: imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", known)
            for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {node: WHITE for node in graph}
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        colour[start] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour.get(nxt, BLACK) == GREY:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


# --- the finder itself ------------------------------------------------------------------------


def assert_cycle(graph: dict[str, set[str]], cycle: list[str] | None, members: set[str]) -> None:
    """``cycle`` is a closed walk along edges of ``graph`` through exactly ``members``."""
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == members, cycle
    assert all(b in graph[a] for a, b in zip(cycle, cycle[1:])), cycle


def test_find_cycle_on_small_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # a diamond is fine
    for graph, members in [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, {"a", "b", "c"}),
                           ({"a": {"b"}, "b": {"c"}, "c": {"b"}, "d": set()}, {"b", "c"}),
                           ({"d": {"a"}, "a": {"b", "e"}, "b": {"a"}, "e": set()}, {"a", "b"}),
                           ({"x": {"x"}}, {"x"})]:
        assert_cycle(graph, find_cycle(graph), members)


def test_import_graph_sees_every_kind_of_import(tmp_path):
    """Relative and absolute, module level and inside functions, ``from . import submodule``,
    and a package ``__init__`` as a module of its own."""
    pkg = tmp_path / PACKAGE
    (pkg / "stage").mkdir(parents=True)
    files = {
        "__init__.py": "def __getattr__(name):\n    from .stage import runner\n    return runner\n",
        "base.py": "X = 1\n",
        "stage/__init__.py": "from .runner import run\n",
        "stage/runner.py": "from ..base import X\n\ndef run():\n    from . import helper\n    return helper\n",
        "stage/helper.py": "import phonebound.base\nfrom phonebound.stage.runner import run\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg, PACKAGE)
    assert graph == {
        "phonebound": {"phonebound.stage.runner"},
        "phonebound.base": set(),
        "phonebound.stage": {"phonebound.stage.runner"},
        "phonebound.stage.runner": {"phonebound.base", "phonebound.stage.helper"},
        "phonebound.stage.helper": {"phonebound.base", "phonebound.stage.runner"},
    }
    assert_cycle(graph, find_cycle(graph), {"phonebound.stage.runner", "phonebound.stage.helper"})

    (pkg / "stage" / "helper.py").write_text("import phonebound.base\n")  # the lazy import back removed
    assert find_cycle(import_graph(pkg, PACKAGE)) is None

    (pkg / "base.py").write_text("from . import __version__\n")  # a name of the package __init__
    graph = import_graph(pkg, PACKAGE)
    assert graph["phonebound.base"] == {"phonebound"}
    assert_cycle(graph, find_cycle(graph), {"phonebound", "phonebound.stage.runner", "phonebound.base"})

    (pkg / "base.py").write_text("def f():\n    from .stage import run\n")  # a name of stage/__init__
    graph = import_graph(pkg, PACKAGE)
    assert graph["phonebound.base"] == {"phonebound.stage"}
    assert_cycle(graph, find_cycle(graph), {"phonebound.base", "phonebound.stage", "phonebound.stage.runner"})


# --- phonebound -------------------------------------------------------------------------------


def test_the_graph_covers_the_package():
    graph = import_graph()
    assert len(graph) > 40 and "phonebound" in graph and "phonebound.cli" in graph
    assert "phonebound.cli" in graph["phonebound.__main__"]


def test_phonebound_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    if cycle:
        pytest.fail("import cycle: " + " -> ".join(cycle) + " (move what both need into a module of its own, "
                    "or let the lower stage take it as an argument)")
