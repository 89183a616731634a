"""Issue 17's size rule for src/: no function over 80 lines, no file over 400 lines of code (docstrings, comments
and blank lines not counted). Prints offenders; exit 1 when any. Run: ``python tools/size_check.py [src]``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FUNCTION, MAX_FILE = 80, 400


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by module, class and function docstrings."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                out.update(range(first.lineno, first.end_lineno + 1))
    return out


def code_lines(lines: list[str], skip: set[int], start: int = 1, end: int | None = None) -> int:
    end = len(lines) if end is None else end
    return sum(
        1
        for i in range(start, end + 1)
        if i not in skip and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#")
    )


def check(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        lines = text.splitlines()
        skip = docstring_lines(tree)
        n = code_lines(lines, skip)
        if n > MAX_FILE:
            problems.append(f"{path}: {n} lines of code (> {MAX_FILE})")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                m = code_lines(lines, skip, node.lineno, node.end_lineno)
                if m > MAX_FUNCTION:
                    problems.append(f"{path}:{node.lineno} {node.name}: {m} lines (> {MAX_FUNCTION})")
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1] if len(sys.argv) > 1 else "src"))
    print("\n".join(found) or "size rule holds")
    sys.exit(1 if found else 0)
