"""The layout keeps its promises: no import cycle between the portal's modules, the pure
libraries stay pure, and the shared core knows nothing of the domains."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(package: str) -> dict[str, set[str]]:
    """Every module of a package and the package modules it imports, at the top or inside a
    function alike (an import inside a function is still a dependency)."""
    modules = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from package import module" depends on that module, not on the package
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_of_the_portal_imports_itself_through_others():
    graph = _imports("portal")
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_and_the_pure_libraries_know_nothing_of_the_domains():
    graph = _imports("portal")
    for name, deps in graph.items():
        if name.startswith(("portal.core", "portal.calendar", "portal.storage")):
            assert not [d for d in deps if d.startswith(("portal.modules", "portal.mail"))], name
        if name in ("portal.modules.sops.spec", "portal.modules.sops.engine") or \
                name.startswith("portal.calendar"):
            path = ROOT / (name.replace(".", "/") + ".py")
            if not path.exists():
                path = ROOT / name.replace(".", "/") / "__init__.py"
            source = path.read_text()
            assert "flask" not in source and "peewee" not in source, name


def test_signing_is_a_library_of_its_own():
    for path in (ROOT / "signing").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("portal", "flask", "peewee")), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(("portal", "flask", "peewee"))
                               for a in node.names), path


def test_no_module_passes_a_thousand_lines():
    for path in list((ROOT / "portal").rglob("*.py")) + list((ROOT / "signing").rglob("*.py")):
        assert len(path.read_text().splitlines()) <= 1000, path
