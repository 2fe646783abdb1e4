"""Every notebook is stored clean and follows the same reader-facing template.

Outputs stripped, kernelspec python3, a title, a Colab badge pointing at the notebook itself,
the bootstrap cell first, one parameters cell that is the only place reading the environment,
and the book's recipe skeleton.
"""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / 'notebooks'
EXPECTED_NOTEBOOKS = [
    '01_voice_commands.ipynb',
    '02_text_to_speech.ipynb',
    '03_melody_generation.ipynb',
]
RECIPE_SECTIONS = ['Getting ready', 'How to do it', 'How it works', "There's more", 'See also']
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


def test_title_and_colab_badge(notebook):
    cells = _cells(notebook)
    assert cells[0]['cell_type'] == 'markdown' and _source(cells[0]).lstrip().startswith('# '), \
        'the first cell must be a markdown title'
    head = '\n'.join(_source(c) for c in cells[:3] if c['cell_type'] == 'markdown')
    badge = f'colab.research.google.com/github/audio-cookbook/audio-cookbook/blob/main/notebooks/{notebook.name}'
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
