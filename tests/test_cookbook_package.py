"""The helper package: every module has its own tests, and the package imports cheaply."""
from pathlib import Path

import pytest

import cookbook

PACKAGE = Path(cookbook.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent
MODULES = sorted(p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__')


def test_package_has_the_general_modules():
    assert {'env', 'assets', 'checkpoints', 'display', 'files', 'notebook'} <= set(MODULES)


@pytest.mark.parametrize('module', MODULES)
def test_every_module_has_a_test_file(module):
    files = sorted(TESTS.glob(f'test_cookbook_{module}*.py'))
    assert files, f'cookbook/{module}.py has no tests/test_cookbook_{module}*.py'
    text = '\n'.join(f.read_text(encoding='utf-8') for f in files)
    assert 'def test_' in text, f'{[f.name for f in files]} hold no tests'
