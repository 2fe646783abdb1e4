"""Running the cells of a notebook that carry a tag as a module (tests import teaching code this way)."""
from __future__ import annotations

import json
import os
import re
import sys
import types
from pathlib import Path

from . import env


# --------------------------------------------------------------------------------------
# Notebook code
# --------------------------------------------------------------------------------------

def _find_notebook(notebook: str | os.PathLike) -> Path:
    path = Path(notebook)
    if path.is_file():
        return path
    candidate = env.REPO_ROOT / 'notebooks' / path
    if not path.is_absolute() and candidate.is_file():
        return candidate
    raise FileNotFoundError(f'notebook not found: {notebook} (looked in the current folder '
                            f'and in {env.REPO_ROOT / "notebooks"})')


def import_notebook_code(notebook: str | os.PathLike, tag: str = 'library',
                         module_name: str | None = None) -> types.ModuleType:
    """Run the code cells tagged ``tag`` of a notebook in a fresh module and return it.

    A bare file name is looked up in the current folder, then in REPO_ROOT/notebooks. The module
    is registered in sys.modules (so pickling and dataclasses work) under ``module_name``
    (default: 'nb_' + the notebook's stem).
    """
    path = _find_notebook(notebook)
    try:
        nb = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as error:
        raise ValueError(f'{path} is not a readable notebook: {error}') from error
    cells = [(index, cell) for index, cell in enumerate(nb.get('cells', []))
             if cell.get('cell_type') == 'code' and tag in cell.get('metadata', {}).get('tags', [])]
    if not cells:
        raise ValueError(f'{path} has no code cells tagged {tag!r}')
    name = module_name or 'nb_' + re.sub(r'\W', '_', path.stem)
    module = types.ModuleType(name, f'Cells tagged {tag!r} of {path.name}')
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        for index, cell in cells:
            source = cell.get('source', '')
            source = ''.join(source) if isinstance(source, list) else source
            exec(compile(source, f'{path}#cell{index}', 'exec'), module.__dict__)
    except BaseException as error:
        sys.modules.pop(name, None)
        if isinstance(error, Exception):
            error.add_note(f'while running cell {index} (tag {tag!r}) of {path}')
        raise
    return module
