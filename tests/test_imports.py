"""Imports of the package run one way, down the stages, with no cycle between modules.

Every ``import`` and ``from ... import`` of every module under ``src/pinnff``
is read with :mod:`ast`, at module level and inside functions alike (a
function-level import is a dependency all the same; it only runs later).
``from pkg import name`` depends on ``pkg.name`` when that is a module, else
on ``pkg`` itself.

Stages and their ranks: a module may import its own stage and any stage of a
lower rank, never a stage of its own rank or above. The data stages (curate,
then label, split, noise) sit beside physics and model: they need neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pinnff"

RANKS = {
    # the ground: chemistry, files, geometry, units, errors, config, the allocator settings
    # (and the package's own __init__)
    "pinnff": 0, "chem": 0, "io": 0, "geometry": 0, "units": 0, "errors": 0, "config": 0, "memory": 0,
    "physics": 1, "curate": 1,
    "model": 2, "label": 2, "split": 2, "noise": 2,
    # the stages that use a model: none imports another
    "train": 3, "validation": 3, "md": 3, "evaluate": 3,
    "analysis": 4,
    "cli": 5,
}
GROUND = {name for name, rank in RANKS.items() if rank == 0}


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file of every module of the package (packages by their ``__init__``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = ("pinnff",) + path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """pinnff modules that module ``name`` (file ``path``) imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the pinnff modules it imports."""
    names = module_names(root)
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def stage(module: str) -> str:
    """The stage of a module: the first name below ``pinnff`` (``pinnff`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def stage_violations(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for every import of a stage of the same or a higher rank (other than its own stage)."""
    bad = []
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            sa, sb = stage(a), stage(b)
            same_ground = sa in GROUND and sb in GROUND
            if sa != sb and not same_ground and RANKS[sb] >= RANKS[sa]:
                bad.append(f"{a} ({sa}, rank {RANKS[sa]}) -> {b} ({sb}, rank {RANKS[sb]})")
    return bad


def test_every_module_has_a_stage():
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    assert sorted({stage(m) for m in graph} - set(RANKS)) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_imports_run_down_the_stages():
    assert stage_violations(import_graph()) == []


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """The same walk on a small made-up package: a function-level cycle and train importing md are found."""
    root = tmp_path / "pinnff"
    for folder in ("physics", "train", "md"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "physics" / "a.py").write_text("from pinnff.physics import b\n")
    (root / "physics" / "b.py").write_text("def f():\n    from pinnff.physics.a import g\n")
    (root / "md" / "run.py").write_text("from pinnff.physics.a import g\n")
    (root / "train" / "fit.py").write_text("def h():\n    from ..md import run\n")
    graph = import_graph(root)
    assert graph["pinnff.train.fit"] == {"pinnff.md.run"}
    assert cycles(graph) == [["pinnff.physics.a", "pinnff.physics.b"]]
    assert stage_violations(graph) == ["pinnff.train.fit (train, rank 3) -> pinnff.md.run (md, rank 3)"]
