"""A stand-in for Colab's GPU runtime, built from its published pip freeze, for CI.

    python .ci/colab_replica.py constraints FREEZE --source URL --date YYYY-MM-DD > .ci/constraints/colab-gpu-YYYY-MM.txt
    python .ci/colab_replica.py base CONSTRAINTS    # our packages that Colab has (names, one a line)
    python .ci/colab_replica.py calls               # the notebooks' set-up calls, as the set-up cells make them
    python .ci/colab_replica.py setup-cells         # run those calls as Colab would (COLAB_RELEASE_TAG set)
    python .ci/colab_replica.py check CONSTRAINTS   # fail if any package Colab has is not at Colab's version

scripts/setup.sh uses it when COOKBOOK_CONSTRAINTS names such a file (`make test-colab`):
1. every package of requirements.txt that Colab also has, at Colab's version (pip -c CONSTRAINTS);
2. what Colab lacks, installed by each notebook's own ``cookbook.colab_setup(...)`` call, read
   from its set-up cell and run with Colab detected, so the set-up cells themselves are tested;
3. the test tools Colab lacks (nbval), through the same constrained installer;
4. ``check``: the set-up cells and the test tools changed none of Colab's packages.

`constraints`, `base`, `calls` and `check` need only the standard library (and pip's
`importlib.metadata` view of the running interpreter for `check`).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / 'notebooks'
# The test tools that Colab lacks, installed like the notebooks' packages (pinned as in
# requirements.txt by colab_setup).
TEST_TOOLS = ['nbval']
_PIN = re.compile(r'^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$')
# Pins of Colab's CUDA 12.8 build of torch 2.11.0 (from PyTorch's own index, which this project
# cannot reach). PyPI's torch 2.11.0 is the CUDA 13.0 build and requires cuda-toolkit==13.0.2,
# cuda-bindings>=13.0.3,<14 and nvidia-nccl-cu13==2.28.9, which these pins forbid.
TORCH_BUILD_PINS = ('cuda-toolkit', 'cuda-bindings', 'nvidia-nccl-cu13')


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of '-', '_', '.' as one '-'."""
    return re.sub(r'[-_.]+', '-', name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of every 'name==version' line (comments and others skipped)."""
    pins = {}
    for line in Path(path).read_text(encoding='utf-8').splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def constraints_from_freeze(freeze_text: str, source: str, date: str) -> str:
    """pip constraints from a `pip freeze`: local version labels dropped, URL entries left out."""
    pins, dropped_labels, left_out, torch_build = [], [], [], []
    for line in freeze_text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        match = _PIN.match(line)
        if not match:
            left_out.append(line.split(' @ ')[0].strip())
            continue
        name, version = match.groups()
        if canonical(name) in TORCH_BUILD_PINS:
            torch_build.append(f'{name}=={version}')
            continue
        if '+' in version:  # e.g. torch==2.11.0+cu128: PyPI serves no such local builds
            dropped_labels.append(f'{name}=={version}')
            version = version.split('+', 1)[0]
        pins.append(f'{name}=={version}')
    header = [
        "# Colab's GPU runtime as Google publishes it: googlecolab/backend-info, pip-freeze.gpu.txt",
        f'#   {source}',
        f'#   published {date}; that runtime is Python 3.13 (os-info-gpu.txt of the same commit).',
        '# Used as pip constraints (pip install -c) by `make test-colab`: every package that Colab',
        '# has is installed at Colab\'s version. Made by `python .ci/colab_replica.py constraints`.',
        '# Changed from the freeze: local version labels dropped (PyPI serves none; whichever build',
        '# PyPI has for that version installs): ' + ', '.join(dropped_labels),
        '# Left out (installed in Colab from a URL or a file, not from PyPI): ' + ', '.join(left_out),
        "# Left out, pins of Colab's CUDA 12.8 torch build that PyPI's torch 2.11.0 (a CUDA 13.0",
        '# build) cannot meet: ' + ', '.join(torch_build),
    ]
    return '\n'.join(header + pins) + '\n'


def base_packages(constraints: Path, requirements: Path = REPO_ROOT / 'requirements.txt') -> list[str]:
    """The packages of requirements.txt that Colab has: installed at Colab's versions."""
    colab = read_pins(constraints)
    ours = [line.split('==')[0].strip() for line in requirements.read_text(encoding='utf-8').splitlines()
            if _PIN.match(line.strip())]
    return [name for name in ours if canonical(name) in colab]


def setup_calls(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[tuple[str, dict]]:
    """(notebook name, keyword arguments) of each notebook's `cookbook.colab_setup(...)` call.

    Read from the notebook's first code cell (its set-up cell); the arguments must be literals,
    as they are shown to the reader. A notebook without such a call is an error.
    """
    calls = []
    for path in sorted(notebooks_dir.glob('*.ipynb')):
        cells = json.loads(path.read_text(encoding='utf-8'))['cells']
        code = [c for c in cells if c['cell_type'] == 'code']
        source = ''.join(code[0]['source']) if code else ''
        # Colab form annotations ('#@title') are comments; IPython '!' and '%' lines are not Python.
        source = '\n'.join('' if line.lstrip().startswith(('!', '%')) else line
                           for line in source.splitlines())
        found = [node for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'colab_setup']
        if len(found) != 1:
            raise SystemExit(f'{path.name}: its first code cell must call cookbook.colab_setup once '
                             f'(found {len(found)} calls)')
        call = found[0]
        names = ['pip_packages', 'apt_packages', 'magenta']
        kwargs = {names[i]: ast.literal_eval(arg) for i, arg in enumerate(call.args)}
        kwargs.update({kw.arg: ast.literal_eval(kw.value) for kw in call.keywords})
        calls.append((path.name, kwargs))
    return calls


def changed_pins(constraints: Path) -> list[str]:
    """'name: Colab has X, installed Y' for each installed package not at Colab's version."""
    from importlib import metadata
    colab = read_pins(constraints)
    changed = []
    for dist in metadata.distributions():
        name = canonical(dist.metadata['Name'] or '')
        version = dist.version.split('+', 1)[0]
        if name in colab and version != colab[name]:
            changed.append(f'{name}: Colab has {colab[name]}, installed {dist.version}')
    return sorted(changed)


def run_setup_cells() -> None:
    """Run each notebook's colab_setup call as in Colab, then the test tools' install."""
    os.environ['COLAB_RELEASE_TAG'] = os.environ.get('COLAB_RELEASE_TAG') or 'audio-cookbook-ci-replica'
    sys.path.insert(0, str(NOTEBOOKS_DIR))
    import cookbook
    can_apt = hasattr(os, 'geteuid') and os.geteuid() == 0
    for name, kwargs in setup_calls():
        if not can_apt and kwargs.get('apt_packages'):
            print(f'[colab] {name}: not root, so its apt packages {kwargs["apt_packages"]} are skipped')
            kwargs['apt_packages'] = []
        print(f'[colab] {name}: cookbook.colab_setup(**{kwargs!r})', flush=True)
        cookbook.colab_setup(**kwargs)
    print(f'[colab] test tools: cookbook.colab_setup({TEST_TOOLS!r})', flush=True)
    cookbook.colab_setup(TEST_TOOLS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    make = sub.add_parser('constraints', help="write pip constraints from Colab's pip freeze to stdout")
    make.add_argument('freeze', type=Path)
    make.add_argument('--source', required=True, help='where the freeze was read (URL with commit)')
    make.add_argument('--date', required=True, help='the date it was published')
    base = sub.add_parser('base', help='our packages that Colab has')
    base.add_argument('constraints', type=Path)
    sub.add_parser('calls', help="the notebooks' colab_setup calls")
    sub.add_parser('setup-cells', help="run the notebooks' colab_setup calls as in Colab")
    check = sub.add_parser('check', help="fail if a package Colab has is not at Colab's version")
    check.add_argument('constraints', type=Path)
    args = parser.parse_args(argv)

    if args.command == 'constraints':
        sys.stdout.write(constraints_from_freeze(args.freeze.read_text(encoding='utf-8'),
                                                 args.source, args.date))
    elif args.command == 'base':
        print('\n'.join(base_packages(args.constraints)))
    elif args.command == 'calls':
        for name, kwargs in setup_calls():
            print(f'{name}: {kwargs!r}')
    elif args.command == 'setup-cells':
        run_setup_cells()
    elif args.command == 'check':
        changed = changed_pins(args.constraints)
        if changed:
            print("[colab] ERROR: these packages are not at the version Colab has "
                  f"({args.constraints.name}); something upgraded or replaced them:", file=sys.stderr)
            for line in changed:
                print(f'[colab]   {line}', file=sys.stderr)
            return 1
        print(f"[colab] every installed package that Colab has is at Colab's version ({args.constraints.name})")
    return 0


if __name__ == '__main__':
    sys.exit(main())
