"""Issue 17's closure rule for src/: no nested function or lambda that mutates its enclosing function's state
(``nonlocal``, or ``name.append(...)`` / ``name[k] = ...`` / ``name.attr = ...`` on a name the enclosing function
binds). Prints offenders; exit 1 when any. Run: ``python tools/closure_check.py [src]``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MUTATORS = {
    "append",
    "appendleft",
    "extend",
    "update",
    "add",
    "insert",
    "pop",
    "popleft",
    "setdefault",
    "clear",
    "remove",
    "discard",
}
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def bound_names(fn: ast.AST) -> set[str]:
    """Names a function binds: its arguments and every name it assigns (nested scopes included)."""
    args = fn.args  # type: ignore[attr-defined]
    names = {a.arg for a in ast.walk(args) if isinstance(a, ast.arg)}
    body = [fn.body] if isinstance(fn, ast.Lambda) else fn.body  # type: ignore[attr-defined]
    for stmt in body:
        names |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def mutated_names(node: ast.AST) -> list[tuple[int, str]]:
    """``(line, name)`` for each mutation of a plain name inside ``node`` (method call, item or attribute store)."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Nonlocal):
            out += [(n.lineno, f"nonlocal {name}") for name in n.names]
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in MUTATORS:
            if isinstance(n.func.value, ast.Name):
                out.append((n.lineno, n.func.value.id))
        elif isinstance(n, (ast.Assign, ast.AugAssign)):
            for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                if isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name):
                    out.append((n.lineno, t.value.id))
    return out


def check(root: Path) -> list[str]:
    """One line per nested function of a file under ``root`` that mutates state of the function enclosing it."""
    problems = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for outer in ast.walk(tree):
            if not isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            enclosing = bound_names(outer)
            for inner in ast.walk(outer):
                if inner is outer or not isinstance(inner, _FUNCS):
                    continue
                own = bound_names(inner)
                for line, name in mutated_names(inner):
                    if name.startswith("nonlocal ") or (name in enclosing and name not in own and name != "self"):
                        where = getattr(inner, "name", "lambda")
                        problems.add(f"{path}:{line} {where} in {outer.name} mutates {name}")
    return sorted(problems)


if __name__ == "__main__":
    found = check(Path(sys.argv[1] if len(sys.argv) > 1 else "src"))
    sys.stdout.write(("\n".join(found) or "closure rule holds") + "\n")
    sys.exit(1 if found else 0)
