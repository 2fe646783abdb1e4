"""Every relative link and image in the project's READMEs and CONTRIBUTING.md points at something
that exists: a file or folder of the repository, and, for a `#fragment` into a Markdown file, one of
its headings (as GitHub makes anchors of them). Links to web addresses are not followed."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'benchmarks/README.md', 'data/README.md',
             'checkpoints/README.md']

_FENCE = re.compile(r'^(```|~~~).*?^\1[^\n]*$', re.S | re.M)
_CODE_SPAN = re.compile(r'(`+).+?\1', re.S)
_COMMENT = re.compile(r'<!--.*?-->', re.S)
_INLINE = re.compile(r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
_REFERENCE = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$', re.M)
_HTML = re.compile(r'<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*["\']([^"\']+)["\']', re.I)


def _prose(text: str) -> str:
    """The Markdown without code blocks, code spans and comments, where links are not links."""
    return _CODE_SPAN.sub('', _FENCE.sub('', _COMMENT.sub('', text)))


def link_targets(text: str) -> list[str]:
    """Every link and image target in a Markdown text, in order."""
    prose = _prose(text)
    return [m.group(1) for pattern in (_INLINE, _REFERENCE, _HTML) for m in pattern.finditer(prose)]


def _is_external(target: str) -> bool:
    return bool(re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I)) or target.startswith('//')


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text (duplicates get -1, -2, ...)."""
    anchors, seen = set(), {}
    for line in _FENCE.sub('', text).splitlines():
        match = re.match(r'^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not match:
            continue
        title = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', match.group(1))  # a link keeps its text
        slug = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f'{slug}-{count}')
    return anchors


def broken_links(markdown: Path) -> list[str]:
    """The relative links and images of one Markdown file that point nowhere, each with the reason."""
    text = markdown.read_text(encoding='utf-8')
    problems = []
    for target in link_targets(text):
        if _is_external(target):
            continue
        path_part, _, fragment = target.partition('#')
        path_part = path_part.split('?', 1)[0]
        destination = (markdown.parent / path_part).resolve() if path_part else markdown
        if not destination.exists():
            problems.append(f'{target}: {destination} does not exist')
        elif fragment and destination.suffix.lower() == '.md' and destination.is_file():
            if fragment.lower() not in heading_anchors(destination.read_text(encoding='utf-8')):
                problems.append(f'{target}: {destination.name} has no heading with anchor #{fragment}')
    return problems


@pytest.mark.parametrize('document', DOCUMENTS)
def test_relative_links_and_images_exist(document):
    path = REPO_ROOT / document
    assert path.is_file(), f'{document} is missing'
    assert not broken_links(path), f'{document}: broken links:\n' + '\n'.join(broken_links(path))


def test_the_checker_finds_broken_links(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'here.png').write_bytes(b'png')
    (tmp_path / 'OTHER.md').write_text('# Other file\n\n## Known section\n', encoding='utf-8')
    readme = tmp_path / 'README.md'
    readme.write_text('\n'.join([
        '# Title', '',
        '## Get started', '',
        'Fine: [other](OTHER.md), ![picture](docs/here.png), [section](OTHER.md#known-section),',
        '[here](#get-started), [web](https://example.com/missing.md), <img src="docs/here.png">.',
        'Broken: [gone](MISSING.md), ![gone](docs/gone.png), [bad anchor](OTHER.md#no-such-section),',
        '[bad local anchor](#nowhere), <img src="docs/gone.svg">.', '',
        '[ref]: docs/gone-ref.md', '',
        'Not links: `[code](nope.md)`, <!-- [comment](nope.md) -->', '',
        '```', '[fenced](nope.md)', '```',
    ]), encoding='utf-8')
    problems = broken_links(readme)
    reported = sorted(problem.split(':')[0] for problem in problems)
    assert reported == sorted(['MISSING.md', 'docs/gone.png', 'OTHER.md#no-such-section', '#nowhere',
                               'docs/gone.svg', 'docs/gone-ref.md']), problems


def test_heading_anchors_follow_github():
    text = '# audio-cookbook\n## Get started\n## PyTorch: CPU or CUDA build\n## What `make run` does\n## Get started\n'
    assert heading_anchors(text) == {'audio-cookbook', 'get-started', 'pytorch-cpu-or-cuda-build',
                                     'what-make-run-does', 'get-started-1'}


def test_every_readme_picture_is_made_by_the_script_and_shown():
    """The README shows each picture scripts/make_readme_figures.py makes, and nothing else in docs/images."""
    spec = importlib.util.spec_from_file_location('make_readme_figures', REPO_ROOT / 'scripts' / 'make_readme_figures.py')
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # only the standard library at import time
    made = {f'docs/images/{name}.png' for name in script.FIGURES}
    shown = {target for target in link_targets((REPO_ROOT / 'README.md').read_text(encoding='utf-8'))
             if target.startswith('docs/images/')}
    present = {path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / 'docs' / 'images').glob('*')}
    assert shown == made, f'README shows {sorted(shown)}, the script makes {sorted(made)}'
    assert present == made, f'docs/images holds {sorted(present)}, the script makes {sorted(made)}'
