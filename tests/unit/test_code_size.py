"""Issue 17.4 as tests: the size rule (tools/size_check.py: functions ≤ 80, files ≤ 400 lines of code) and the
closure rule (tools/closure_check.py: no nested function mutating its enclosing function's state) hold in src/."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> ModuleType:
    return load_script(ROOT / "tools" / f"{name}.py", f"_tools_{name}")


def test_size_rule_holds_in_src() -> None:
    assert _tool("size_check").check(ROOT / "src") == []


def test_closure_rule_holds_in_src() -> None:
    assert _tool("closure_check").check(ROOT / "src") == []


def test_size_check_names_a_long_function_and_ignores_docstrings(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(81))
    doc = '    """' + "\n".join("doc line" for _ in range(50)) + '"""\n'
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n")  # def line + 81 lines: 82
    (tmp_path / "short.py").write_text(f"def short():\n{doc}" + "\n".join(f"    y{i} = {i}" for i in range(79)) + "\n")
    found = _tool("size_check").check(tmp_path)
    assert len(found) == 1 and "long.py:1 long: 82 lines" in found[0]


def test_closure_check_names_mutating_closures_only(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
        def outer():
            rows, seen, n = [], {}, 0
            def add(r):
                rows.append(r)
            def store(k):
                seen[k] = 1
            def count():
                nonlocal n
                n += 1
            def pure(r, acc=None):
                acc = []
                acc.append(r)
                return [*rows, r]
            return add, store, count, pure
        """
        )
    )
    found = _tool("closure_check").check(tmp_path)
    assert [f.split(" ", 1)[1] for f in found] == [
        "add in outer mutates rows",
        "store in outer mutates seen",
        "count in outer mutates nonlocal n",
    ]
