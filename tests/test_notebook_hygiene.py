"""Every notebook is stored clean and follows the same reader-facing template.

Outputs stripped, kernelspec python3, a title, a Colab badge pointing at the notebook itself,
the bootstrap cell first, one parameters cell (Colab form fields, overridable by environment
variables) that is the only place reading the environment, set-up cells collapsed, no visible
code cell over 40 lines, quiet installs, and the book's recipe skeleton.
"""
import json
import re
from pathlib import Path

import pytest

import cookbook

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / 'notebooks'
EXPECTED_NOTEBOOKS = [
    '01_voice_commands.ipynb',
    '02_text_to_speech.ipynb',
    '03_melody_generation.ipynb',
]
RECIPE_SECTIONS = ['Getting ready', 'How to do it', 'How it works', "There's more", 'See also']
MAX_VISIBLE_LINES = 40
# A cell holding nothing but one model class may run longer (the reader reads it as one unit).
MAX_CLASS_CELL_LINES = 60
ENV_READ = re.compile(r'os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)|cookbook\.env_|is_fast\(\)')


def _cells(path):
    return json.loads(path.read_text(encoding='utf-8'))['cells']


def _source(cell):
    src = cell.get('source', '')
    return ''.join(src) if isinstance(src, list) else src


def _tags(cell):
    return cell.get('metadata', {}).get('tags', [])


def test_all_three_notebooks_exist():
    present = sorted(p.name for p in NOTEBOOKS_DIR.glob('*.ipynb'))
    assert present == EXPECTED_NOTEBOOKS


@pytest.fixture(params=EXPECTED_NOTEBOOKS)
def notebook(request):
    path = NOTEBOOKS_DIR / request.param
    if not path.exists():
        pytest.fail(f'{path} is missing')
    return path


def test_stored_without_outputs(notebook):
    dirty = [i for i, c in enumerate(_cells(notebook))
             if c['cell_type'] == 'code' and (c.get('outputs') or c.get('execution_count') is not None)]
    assert not dirty, f'{notebook.name}: code cells {dirty} hold outputs or execution counts'


def test_kernelspec_is_python3(notebook):
    meta = json.loads(notebook.read_text(encoding='utf-8'))['metadata']
    assert meta.get('kernelspec', {}).get('name') == 'python3'


def test_stored_with_cell_ids(notebook):
    # nbformat 4.5 gives every cell an id; older files make nbformat warn (a hard error to come).
    nb = json.loads(notebook.read_text(encoding='utf-8'))
    assert (nb['nbformat'], nb['nbformat_minor']) >= (4, 5), f'{notebook.name}: stored as nbformat < 4.5'
    ids = [cell.get('id') for cell in nb['cells']]
    assert all(ids) and len(set(ids)) == len(ids), f'{notebook.name}: cells without a unique id'


def test_title_and_colab_badge(notebook):
    cells = _cells(notebook)
    assert cells[0]['cell_type'] == 'markdown' and _source(cells[0]).lstrip().startswith('# '), \
        'the first cell must be a markdown title'
    head = '\n'.join(_source(c) for c in cells[:3] if c['cell_type'] == 'markdown')
    repo = cookbook.REPO_URL.removeprefix('https://github.com/')
    badge = f'colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook.name}'
    assert badge in head, f'{notebook.name}: no Colab badge pointing at the notebook near the top'


def test_bootstrap_then_parameters_cell(notebook):
    code = [c for c in _cells(notebook) if c['cell_type'] == 'code']
    assert 'import cookbook' in _source(code[0]) and 'colab_setup' in _source(code[0]), \
        'the first code cell must be the bootstrap that imports the helper'
    params = [i for i, c in enumerate(code) if 'parameters' in _tags(c)]
    assert len(params) == 1, f'{notebook.name}: expected exactly one cell tagged "parameters", found {len(params)}'
    assert params[0] <= 2, 'the parameters cell must be near the top'
    assert ENV_READ.search(_source(code[params[0]])), 'the parameters cell must read environment variables'


def test_only_the_parameters_cell_reads_the_environment(notebook):
    offenders = [i for i, c in enumerate(_cells(notebook))
                 if c['cell_type'] == 'code' and 'parameters' not in _tags(c)
                 and ENV_READ.search(_source(c))]
    assert not offenders, f'{notebook.name}: cells {offenders} read the environment outside the parameters cell'


def test_recipe_skeleton(notebook):
    headings = '\n'.join(line for c in _cells(notebook) if c['cell_type'] == 'markdown'
                         for line in _source(c).splitlines() if line.startswith('#'))
    missing = [s for s in RECIPE_SECTIONS if s.lower() not in headings.lower()]
    assert not missing, f'{notebook.name}: missing sections {missing}'


def test_library_cells_exist_and_do_no_work_at_import(notebook):
    """Tests and benchmarks import the `library` cells; they must only define things."""
    library = [c for c in _cells(notebook) if c['cell_type'] == 'code' and 'library' in _tags(c)]
    assert library, f'{notebook.name}: no cell tagged "library"'
    for cell in library:
        src = _source(cell)
        assert not re.search(r'^\s*[!%]', src, re.M), 'shell or magic commands in a library cell'
        assert 'display(' not in '\n'.join(l for l in src.splitlines() if not l.startswith((' ', '\t'))), \
            'top-level display in a library cell'


def _collapsed(cell):
    meta = cell.get('metadata', {})
    return (meta.get('cellView') == 'form' and meta.get('jupyter', {}).get('source_hidden') is True
            and _source(cell).lstrip().startswith('#@title'))


def _code_lines(src):
    return [l for l in src.splitlines() if l.strip() and not l.strip().startswith('#')]


def _only_one_class(src):
    import ast
    try:
        body = ast.parse(src).body
    except SyntaxError:
        return False
    definitions = [node for node in body if isinstance(node, ast.ClassDef)]
    others = [node for node in body if not isinstance(node, (ast.ClassDef, ast.Import, ast.ImportFrom))
              and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    return len(definitions) == 1 and not others


def test_setup_and_parameters_cells_are_collapsed_forms(notebook):
    code = [c for c in _cells(notebook) if c['cell_type'] == 'code']
    setup = [code[0]] + [c for c in code if 'parameters' in _tags(c)]
    for cell in setup:
        assert _collapsed(cell), (f'{notebook.name}: set-up cell {_source(cell)[:60]!r} must be a '
                                  'collapsed form (#@title, cellView "form", jupyter.source_hidden)')


def test_parameters_are_form_fields(notebook):
    params = [c for c in _cells(notebook) if 'parameters' in _tags(c)]
    assert params and '#@param' in _source(params[0]), \
        f'{notebook.name}: the settings a reader changes must be #@param form fields'


def test_no_visible_code_cell_is_too_long(notebook):
    long_cells = []
    for index, cell in enumerate(_cells(notebook)):
        if cell['cell_type'] != 'code' or _collapsed(cell):
            continue
        n = len(_code_lines(_source(cell)))
        limit = MAX_CLASS_CELL_LINES if _only_one_class(_source(cell)) else MAX_VISIBLE_LINES
        if n > limit:
            long_cells.append((index, n))
    assert not long_cells, f'{notebook.name}: visible code cells over the limit (index, lines): {long_cells}'


def test_installs_are_quiet(notebook):
    for index, cell in enumerate(_cells(notebook)):
        src = _source(cell)
        for line in src.splitlines():
            if re.search(r'\bpip3? install\b', line):
                assert re.search(r'(\s-q\b|--quiet)', line), f'{notebook.name} cell {index}: loud pip: {line}'
            if re.search(r'apt(-get)? install', line):
                assert '--no-install-recommends' in line and '-qq' in line, \
                    f'{notebook.name} cell {index}: apt-get install without -qq --no-install-recommends: {line}'
