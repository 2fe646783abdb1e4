"""Point every link to this repository at another GitHub repository (a fork).

    python scripts/set_repo_url.py OWNER/NAME            # e.g. python scripts/set_repo_url.py alice/audio-cookbook
    python scripts/set_repo_url.py OWNER/NAME --check    # only list what would change

The repository's address is one constant, ``REPO_URL`` in notebooks/cookbook/env.py. The
notebooks' set-up cells (which clone it in Colab, before ``cookbook`` can be imported) and the
"Open in Colab" badges of the notebooks and the README hold copies of it;
tests/test_repo_url.py checks that every copy matches the constant. This script rewrites the
constant and every copy: each ``github.com/OLD`` and ``colab.research.google.com/github/OLD``
in the repository's files, where OLD is the owner/name that REPO_URL names now. The folder
that Colab clones into (/content/audio-cookbook) keeps its name. Only standard library.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = Path('notebooks') / 'cookbook' / 'env.py'
SLUG = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$')
REPO_URL_LINE = re.compile(r"^REPO_URL = '(https://github\.com/([^/']+/[^/']+))'$", re.M)
TEXT_SUFFIXES = {'.md', '.ipynb', '.py', '.txt', '.sh', '.cfg', '.ini', '.toml', '.yml', '.yaml', '.json'}
SKIPPED_DIRS = {'.git', 'outputs', 'data', '__pycache__', '.pytest_cache', 'node_modules'}


def current_slug(root: Path) -> str:
    """The owner/name that REPO_URL in env.py names."""
    match = REPO_URL_LINE.search((root / ENV_FILE).read_text(encoding='utf-8'))
    if not match:
        raise SystemExit(f"{root / ENV_FILE}: no line REPO_URL = 'https://github.com/OWNER/NAME'")
    return match.group(2)


def link_pattern(slug: str) -> re.Pattern:
    """A link to ``slug`` on GitHub or Colab (not a longer name that starts the same)."""
    return re.compile(r'(?<=github\.com/)' + re.escape(slug) + r'(?![A-Za-z0-9._-])'
                      r'|(?<=colab\.research\.google\.com/github/)' + re.escape(slug) + r'(?![A-Za-z0-9._-])')


def repository_files(root: Path) -> list[Path]:
    """The files git tracks under ``root``; without git, the text files found by walking it."""
    try:
        listed = subprocess.run(['git', '-C', str(root), 'ls-files', '-z'], capture_output=True,
                                text=True, check=True).stdout.split('\0')
        if (root / '.git').exists():
            return sorted(root / name for name in listed if name and (root / name).is_file())
    except (OSError, subprocess.CalledProcessError):
        pass
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith('.venv')]
        found += [Path(folder) / f for f in files if Path(f).suffix in TEXT_SUFFIXES or f == 'Makefile']
    return sorted(found)


def rewrite(root: Path, new_slug: str, check_only: bool = False) -> dict[Path, int]:
    """Replace every link to the current repository by one to ``new_slug``: {file: links}."""
    old_slug = current_slug(root)
    pattern = link_pattern(old_slug)
    changes = {}
    for path in repository_files(root):
        try:
            text = path.read_text(encoding='utf-8')
        except (UnicodeDecodeError, OSError):
            continue
        new_text, count = pattern.subn(new_slug, text)
        if count and new_text != text:
            changes[path] = count
            if not check_only:
                with tempfile.NamedTemporaryFile('w', dir=path.parent, delete=False, suffix='.tmp',
                                                 encoding='utf-8', newline='') as tmp:
                    tmp.write(new_text)
                os.chmod(tmp.name, path.stat().st_mode & 0o777)
                os.replace(tmp.name, path)
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('slug', metavar='OWNER/NAME', help='the GitHub repository, e.g. alice/audio-cookbook')
    parser.add_argument('--check', action='store_true', help='list what would change, change nothing')
    parser.add_argument('--root', type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    slug = args.slug.strip().removeprefix('https://github.com/').removesuffix('.git').strip('/')
    if not SLUG.match(slug):
        parser.error(f'{args.slug!r} is not OWNER/NAME of a GitHub repository (e.g. alice/audio-cookbook)')
    old = current_slug(args.root)
    if slug == old:
        print(f'REPO_URL already names {slug}: nothing to change')
        return 0
    changes = rewrite(args.root, slug, check_only=args.check)
    verb = 'would change' if args.check else 'changed'
    for path, count in changes.items():
        print(f'{path.relative_to(args.root)}: {count} link(s)')
    print(f'{verb} {sum(changes.values())} link(s) in {len(changes)} file(s): {old} -> {slug}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
