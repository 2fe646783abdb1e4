"""The repository's address is one constant (cookbook.REPO_URL): every copy in the repository,
the notebooks' clone commands and the Colab badges, matches it, and scripts/set_repo_url.py
changes all of them at once for a fork."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import cookbook

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / 'scripts' / 'set_repo_url.py'
sys.path.insert(0, str(REPO_ROOT / 'scripts'))
import set_repo_url  # noqa: E402

sys.path.remove(str(REPO_ROOT / 'scripts'))

COLAB_LINK = re.compile(r'colab\.research\.google\.com/github/([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)/blob/')
GITHUB_LINK = re.compile(r'github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?(?![A-Za-z0-9._-])')
NOTEBOOKS = ['01_voice_commands.ipynb', '02_text_to_speech.ipynb', '03_melody_generation.ipynb']


def _slug(url):
    return url.removeprefix('https://github.com/')


def _mismatches(root, slug):
    """'file: link' for every link to this project that does not name ``slug``.

    Links to this project: Colab badges (any), the notebooks' set-up cells' GitHub URLs (the
    clone), and any GitHub link sharing the owner or the name of ``slug``.
    """
    owner, name = slug.split('/')
    wrong = []
    for path in set_repo_url.repository_files(root):
        try:
            text = path.read_text(encoding='utf-8')
        except (UnicodeDecodeError, OSError):
            continue
        for found in COLAB_LINK.findall(text):
            if found != slug:
                wrong.append(f'{path.relative_to(root)}: Colab link to {found}')
        for found in GITHUB_LINK.findall(text):
            found_owner, found_name = found.split('/')
            if (found_owner == owner or found_name == name) and found != slug:
                wrong.append(f'{path.relative_to(root)}: GitHub link to {found}')
    for notebook in NOTEBOOKS:
        cells = json.loads((root / 'notebooks' / notebook).read_text(encoding='utf-8'))['cells']
        setup = ''.join(next(c for c in cells if c['cell_type'] == 'code')['source'])
        wrong += [f'{notebook} set-up cell: {found}' for found in GITHUB_LINK.findall(setup)
                  if found != slug]
    return wrong


def _counts(root, slug):
    """(Colab badges, clone URLs) naming ``slug`` in the notebooks and the README."""
    badges = clones = 0
    for notebook in NOTEBOOKS:
        cells = json.loads((root / 'notebooks' / notebook).read_text(encoding='utf-8'))['cells']
        badges += sum(COLAB_LINK.findall(''.join(c['source'])).count(slug) for c in cells)
        setup = ''.join(next(c for c in cells if c['cell_type'] == 'code')['source'])
        clones += GITHUB_LINK.findall(setup).count(slug)
    readme = COLAB_LINK.findall((root / 'README.md').read_text(encoding='utf-8')).count(slug)
    return badges, clones, readme


def test_every_copy_of_the_address_matches_repo_url():
    slug = _slug(cookbook.REPO_URL)
    assert _mismatches(REPO_ROOT, slug) == []
    badges, clones, readme = _counts(REPO_ROOT, slug)
    assert badges >= 3 and clones == 3 and readme >= 3, (badges, clones, readme)


def test_the_script_reads_the_constant_from_env_py():
    assert set_repo_url.current_slug(REPO_ROOT) == _slug(cookbook.REPO_URL)


@pytest.fixture
def copy(tmp_path):
    """The files that hold the address, copied (no git there: the script walks the folder)."""
    slug = _slug(cookbook.REPO_URL)
    pattern = set_repo_url.link_pattern(slug)
    for path in set_repo_url.repository_files(REPO_ROOT):
        if path.suffix in {'.md', '.ipynb', '.py'} and pattern.search(path.read_text(encoding='utf-8')):
            target = tmp_path / path.relative_to(REPO_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return tmp_path


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_set_repo_url_rewrites_every_copy_and_back(copy):
    old = _slug(cookbook.REPO_URL)
    before = {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()}
    counts = _counts(copy, old)
    done = _run('alice/my-audio-book', '--root', str(copy))
    assert done.returncode == 0, done.stderr
    assert 'alice/my-audio-book' in done.stdout
    assert set_repo_url.current_slug(copy) == 'alice/my-audio-book'
    assert _mismatches(copy, 'alice/my-audio-book') == []
    assert _counts(copy, 'alice/my-audio-book') == counts
    for path, original in before.items():
        text = path.read_text(encoding='utf-8')
        assert old not in text.replace('/content/' + old.split('/')[1], '')  # only the clone folder
        assert text.replace('alice/my-audio-book', old).encode() == original  # nothing else changed
        if path.suffix == '.ipynb':
            nbformat.validate(nbformat.reads(text, as_version=4))
    back = _run(old, '--root', str(copy))
    assert back.returncode == 0, back.stderr
    assert {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()} == before


def test_check_only_changes_nothing(copy):
    before = {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()}
    done = _run('alice/fork', '--check', '--root', str(copy))
    assert done.returncode == 0 and 'would change' in done.stdout
    assert {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()} == before


def test_same_address_and_url_forms(copy):
    old = _slug(cookbook.REPO_URL)
    assert 'nothing to change' in _run(old, '--root', str(copy)).stdout
    done = _run('https://github.com/alice/fork.git', '--root', str(copy))
    assert done.returncode == 0 and set_repo_url.current_slug(copy) == 'alice/fork'


@pytest.mark.parametrize('bad', ['', 'alice', 'alice/fork/extra', 'al ice/fork', '_alice/fork',
                                 'alice/fo"rk'])
def test_bad_address_is_refused_and_nothing_changes(copy, bad):
    before = {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()}
    done = _run(bad, '--root', str(copy))
    assert done.returncode == 2 and 'is not OWNER/NAME' in done.stderr
    assert {p: p.read_bytes() for p in copy.rglob('*') if p.is_file()} == before
