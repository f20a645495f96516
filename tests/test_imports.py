"""The library's modules import one another one way: no cycles, lazy imports included."""

import ast
from pathlib import Path

RAG = Path(__file__).resolve().parent.parent / "rag"


def module_name(path: Path) -> str:
    parts = path.relative_to(RAG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The rag modules a file imports anywhere in it (at the top or inside a function)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "rag"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "rag":
                target = node.module
            else:
                continue
            # "from . import config" imports the module rag.config; "from .store import Index" imports rag.store.
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if (RAG.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          or (RAG.parent / sub.replace(".", "/")).is_dir() else target)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in RAG.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_module_of_the_library_imports_itself_back():
    edges = graph()
    assert "rag.store" in edges and "rag.retrieval" in edges["rag.answer.scoring"]  # the walk sees imports
    assert cycles(edges) == []


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
