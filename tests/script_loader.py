"""Load a standalone script (a study's ``summarise.py``, a ``tools/`` check) as a module under its own name, so two
studies' ``summarise.py`` never share an entry in ``sys.modules``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_script(path: Path, name: str) -> ModuleType:
    """The module made by executing the file ``path`` as ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
