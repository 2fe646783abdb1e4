"""cookbook.notebook: importing a notebook's tagged cells as a module."""
import sys

import nbformat
import pytest

import cookbook


# ------------------------------------------------------------------------------ notebooks

def _write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_code_cell if kind == 'code' else nbformat.v4.new_markdown_cell
        cell = make(source)
        if tags:
            cell.metadata['tags'] = tags
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


NOTEBOOK_CELLS = [
    ('markdown', '# Title', None),
    ('code', 'import math\nSCALE = 3\n\ndef triple(x):\n    return SCALE * x', ['library']),
    ('code', 'raise RuntimeError("untagged cells must not run")', None),
    ('code', 'raise RuntimeError("parameters cells must not run")', ['parameters']),
    ('code', 'class Model:\n    size = triple(2)\nROOT = math.sqrt(16)', ['library', 'other']),
]


def test_import_notebook_code_runs_only_library_cells(tmp_path):
    path = _write_notebook(tmp_path / '01_demo.ipynb', NOTEBOOK_CELLS)
    module = cookbook.import_notebook_code(path)
    try:
        assert module.triple(5) == 15 and module.Model.size == 6 and module.ROOT == 4.0
        assert module.__name__ == 'nb_01_demo' and sys.modules['nb_01_demo'] is module
        assert module.Model.__module__ == 'nb_01_demo'
    finally:
        sys.modules.pop('nb_01_demo', None)


def test_import_notebook_code_other_tag_runs_only_that_cell(tmp_path):
    """Only the cell tagged 'other' runs, so the name it borrows from a library cell is missing."""
    path = _write_notebook(tmp_path / 'demo.ipynb', NOTEBOOK_CELLS)
    with pytest.raises(NameError) as info:
        cookbook.import_notebook_code(path, tag='other', module_name='demo_other')
    assert 'demo.ipynb' in ''.join(getattr(info.value, '__notes__', []))
    assert 'demo_other' not in sys.modules


def test_import_notebook_code_finds_notebooks_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(cookbook.env, 'REPO_ROOT', tmp_path)
    (tmp_path / 'notebooks').mkdir()
    _write_notebook(tmp_path / 'notebooks' / 'nb.ipynb', NOTEBOOK_CELLS[:2])
    monkeypatch.chdir(tmp_path)
    module = cookbook.import_notebook_code('nb.ipynb', module_name='found_nb')
    sys.modules.pop('found_nb', None)
    assert module.triple(1) == 3


def test_import_notebook_code_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.ipynb'):
        cookbook.import_notebook_code(tmp_path / 'missing.ipynb')
    path = _write_notebook(tmp_path / 'empty.ipynb', NOTEBOOK_CELLS[2:4])
    with pytest.raises(ValueError, match="no code cells tagged 'library'"):
        cookbook.import_notebook_code(path)


