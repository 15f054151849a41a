#!/usr/bin/env python3
"""Checks that the modules of each crate depend one way: no cycle of `use crate::…` /
`super::…` references between the files of `crates/*/src` (binaries and tests aside).

    python3 scripts/module_cycles.py          # every crate; exit 1 if any cycle exists

A file's module is its path under src/ (`a/b.rs` and `a/b/mod.rs` are both `a::b`). A
reference counts when it names another module of the same crate; `#[cfg(test)] mod … { … }`
blocks, comments and files named `tests.rs` (or under a `tests/` folder) are skipped.
"""
import pathlib
import re
import sys

TEST_BLOCK = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
CRATE_PATH = re.compile(r"\bcrate((?:::\w+)+)")
CRATE_GROUP = re.compile(r"\bcrate::\{([^}]*)\}")
SUPER_PATH = re.compile(r"\b((?:super::)+)(\w+(?:::\w+)*)")


def without_tests(text):
    """The source with its inline test modules and line comments removed."""
    kept, at = [], 0
    while (found := TEST_BLOCK.search(text, at)) is not None:
        kept.append(text[at:found.start()])
        depth, at = 1, found.end()
        while at < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            at += 1
    kept.append(text[at:])
    return re.sub(r"//[^\n]*", "", "".join(kept))


def modules(src):
    """Module path (a tuple) -> file, for every non-binary, non-test file under `src`."""
    found = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        if rel.parts[0] == "bin" or "tests" in rel.parts[:-1] or rel.name == "tests.rs":
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts.pop()
        found[tuple(parts)] = path
    return found


def edges(mods):
    """Module -> the other modules of the crate it references."""
    def owner(path):
        for end in range(len(path), 0, -1):
            if tuple(path[:end]) in mods:
                return tuple(path[:end])
        return None

    graph = {}
    for module, path in mods.items():
        text = without_tests(path.read_text(encoding="utf-8", errors="replace"))
        refs = [m.group(1).strip(":").split("::") for m in CRATE_PATH.finditer(text)]
        for group in CRATE_GROUP.finditer(text):
            refs += [item.strip().split("::") for item in group.group(1).split(",") if item.strip()]
        for m in SUPER_PATH.finditer(text):
            ups = m.group(1).count("super::")
            refs.append(list(module[: max(len(module) - ups, 0)]) + m.group(2).split("::"))
        graph[module] = {t for t in map(owner, refs) if t and t != module}
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted("::".join(m) for m in component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    total = 0
    for src in sorted(root.glob("crates/*/src")):
        for component in cycles(edges(modules(src))):
            total += 1
            print(f"{src.parent.name}: modules in a cycle: {', '.join(component)}")
    print(f"module cycles: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
