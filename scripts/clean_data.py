#!/usr/bin/env python3
"""Delete what the notebooks downloaded or trained, and keep what the repository ships.

    python scripts/clean_data.py              # list every path with its size, then delete them
    python scripts/clean_data.py --dry-run    # only list
    make clean-data                           # the same as the first line

Removed:
  data/*          downloaded datasets, their archives and extracted folders, the decoded-clip
                  cache (data/cache/), partial downloads (*.part)
  checkpoints/*   downloaded model files (DC-TTS, WaveGAN, MelodyRNN bundles) and the checkpoints
                  notebook 2's training section writes into checkpoints/dctts-own/ (the largest
                  item after a full notebook-2 run)
Kept:
  data/README.md, data/samples/, checkpoints/README.md, checkpoints/shipped/ (tracked in git);
  the download records `<file>.download.json` (a few hundred bytes each: the size and SHA-256
  of the first copy of a file without a published checksum, so a new download must match it;
  --forget-records deletes them too, and the next download is trusted afresh).
outputs/ is `make clean`'s, and the virtualenvs (.venv, .venv-colab) are left alone.
Only the standard library: runs without the virtualenv.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
KEEP = {'data': {'README.md', 'samples'}, 'checkpoints': {'README.md', 'shipped'}}
RECORD_SUFFIX = '.download.json'


def size_of(path: Path) -> int:
    """Bytes under ``path``; symbolic links count as themselves, never as what they point at."""
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                pass
    return total


def human(size: int) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if size < 1024 or unit == 'GiB':
            return f'{size:.0f} {unit}' if unit == 'B' else f'{size:.1f} {unit}'
        size /= 1024
    return f'{size:.1f} GiB'


def to_remove(root: Path = REPO_ROOT, forget_records: bool = False) -> list[Path]:
    """Every path in data/ and checkpoints/ that goes, in order."""
    found = []
    for folder, keep in KEEP.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.name in keep:
                continue
            if path.name.endswith(RECORD_SUFFIX) and not forget_records:
                continue
            found.append(path)
    return found


def remove(path: Path):
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dry-run', action='store_true', help='list what would go, delete nothing')
    parser.add_argument('--forget-records', action='store_true',
                        help='also delete the <file>.download.json records of first downloads')
    parser.add_argument('--root', type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    paths = to_remove(args.root, args.forget_records)
    if not paths:
        print('[clean-data] nothing to remove: data/ and checkpoints/ hold only what the repository ships')
        return 0
    total = 0
    for path in paths:
        size = size_of(path)
        total += size
        kind = 'link' if path.is_symlink() else 'folder' if path.is_dir() else 'file'
        print(f'[clean-data] {"would remove" if args.dry_run else "removing"} {kind} '
              f'{path.relative_to(args.root)}  ({human(size)})')
        if not args.dry_run:
            remove(path)
    print(f'[clean-data] {"would free" if args.dry_run else "freed"} {human(total)} in {len(paths)} paths; '
          'kept data/samples/, checkpoints/shipped/ and the READMEs'
          + ('' if args.forget_records else ', and the download records (*.download.json)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
