#!/usr/bin/env python
"""What the project's main commands cost: wall time and CPU time of `make run` per notebook
(offline, on the shipped samples), of `make run` as a whole, of `make test`, and of `make setup`
from a fresh clone. Figures go through benchmarks/results.py into
benchmarks/results/notebook_runs.json (the README's cost table quotes them).

Every part runs in a fresh clone of this repository's HEAD (`git clone`) in a temporary folder,
so what is measured is the committed code, with empty data/, checkpoints/ and outputs/ (notebook 2
would otherwise resume the training checkpoints an earlier run left in checkpoints/dctts-own/).
The runs and `make test` use this repository's .venv (linked into the clone, so its `make setup`
finds it up to date); `--setup` builds a new virtualenv in the clone, with pip's cache and the
machine's package index as they are (say so when quoting it). Every setting a notebook reads
(COOKBOOK_*, SPEECH_COMMANDS_*, LJSPEECH_DIR, DCTTS_*, TTS_*, WAVEGAN_*, MELODY_*, SEED) is removed
from the environment, and the runs set COOKBOOK_OFFLINE=1: the notebooks' default settings on the
shipped samples, whatever the shell running this has set.

Absolute times need a quiet machine: run this alone (benchmarks/results.py marks the times of a
run during which other processes used the CPU). CPU time (user + system of every process the
command started, kernels included) depends much less on the load.

    python benchmarks/bench_notebooks.py --run 01,02,03   # each notebook as `make run` runs it (~10 min)
    python benchmarks/bench_notebooks.py --run-all        # `make run`, all three (~10 min)
    python benchmarks/bench_notebooks.py --test           # `make test` (~6 min)
    python benchmarks/bench_notebooks.py --setup          # git clone + `make setup`, a new .venv (minutes; 4 GB)
    python benchmarks/bench_notebooks.py --all            # the four above, one after the other
    python benchmarks/bench_notebooks.py --quick          # a check that this script works: notebook 03
                                                          # in fast mode, into outputs/bench-quick/

Keys: run_01_seconds, run_02_seconds, run_03_seconds (and _cpu_seconds), run_all_seconds,
test_seconds, setup_seconds (each with its _cpu_seconds), dctts_own_mib (what notebook 2's training
section leaves in checkpoints/dctts-own/), venv_gib (the virtualenv `make setup` built).
The log of every command, and the executed notebooks, are kept in outputs/bench-notebooks/.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))

import results as results_module  # noqa: E402

NOTEBOOKS = {path.name[:2]: path.name for path in sorted((REPO_ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb'))}
LOG_DIR = REPO_ROOT / 'outputs' / 'bench-notebooks'
# The environment variables the notebooks and tests read (CONTRIBUTING.md, "Settings").
SETTINGS = re.compile(r'^(COOKBOOK_|SPEECH_COMMANDS_|DCTTS_|TTS_|WAVEGAN_|MELODY_|LJSPEECH_DIR$|SEED$|'
                      r'MAKEFLAGS$|MFLAGS$|MAKELEVEL$)')


def say(text=''):
    print(text, flush=True)


def clean_environment(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not SETTINGS.match(k)}
    env.update(extra)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def folder_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                pass
    return total


class Clone:
    """A fresh clone of HEAD in a temporary folder, with this repository's .venv linked in
    (unless ``own_venv``), removed on exit (unless ``keep``)."""

    def __init__(self, own_venv=False, keep=False):
        self.own_venv, self.keep = own_venv, keep

    def __enter__(self):
        self.parent = Path(tempfile.mkdtemp(prefix='cookbook-bench-'))
        self.path = self.parent / 'audio-cookbook'
        subprocess.run(['git', 'clone', '--quiet', str(REPO_ROOT), str(self.path)], check=True)
        self.commit = subprocess.run(['git', 'rev-parse', '--short=12', 'HEAD'], cwd=self.path, text=True,
                                     capture_output=True, check=True).stdout.strip()
        if not self.own_venv:
            venv = REPO_ROOT / '.venv'
            if not (venv / '.cookbook-installed').exists():
                raise SystemExit(f'{venv} is not set up: run `make setup` first')
            (self.path / '.venv').symlink_to(venv)
            # Untimed: `make setup` finds the linked .venv up to date (or brings its stamp up to the
            # clone's requirements.txt), so the timed `make run` / `make test` measure no installing.
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            with open(LOG_DIR / 'setup-check.log', 'w') as log:
                subprocess.run(['bash', 'scripts/setup.sh'], cwd=self.path, env=clean_environment(),
                               stdout=log, stderr=subprocess.STDOUT, check=True)
        return self

    def __exit__(self, *exc):
        if self.keep:
            say(f'[bench] the clone is kept in {self.path}')
        else:
            shutil.rmtree(self.parent, ignore_errors=True)


def timed(name, command, cwd, env, timeout=None):
    """Run ``command``; (wall seconds, CPU seconds of it and everything it started, return code,
    last lines of its output). The whole output goes to outputs/bench-notebooks/<name>.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f'{name}.log'
    say(f'[bench] {name}: {" ".join(command)}  (in {cwd}; log {log.relative_to(REPO_ROOT)})')
    cpu_before = children_cpu()
    start = time.perf_counter()
    with open(log, 'w') as out:
        # Its own process group, so that a timeout or Ctrl-C stops the kernels it started too.
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, KeyboardInterrupt) as stop:
            stop_group(process)
            if isinstance(stop, KeyboardInterrupt):
                raise
            code = f'timeout after {timeout} s'
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu_before
    tail = log.read_text(errors='replace').strip().splitlines()[-8:]
    say(f'[bench] {name}: {"OK" if code == 0 else f"FAILED ({code})"} in {wall:.1f} s wall, {cpu:.1f} s CPU')
    if code != 0:
        say('\n'.join('    ' + line for line in tail))
    return wall, cpu, code, tail


def stop_group(process):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def keep_executed(clone, name):
    """Copy the executed notebooks (outputs and tracebacks) out of the clone before it goes."""
    executed = clone.path / 'outputs' / 'executed'
    if executed.is_dir():
        target = LOG_DIR / f'{name}-executed'
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(executed, target)


class Bench:
    def __init__(self, args):
        self.args = args
        self.results = results_module.Results('notebook_runs', quick=args.quick)
        self.failed = []
        mode = 'fast mode (COOKBOOK_FAST=1), says nothing about cost' if args.fast else \
            'offline (COOKBOOK_OFFLINE=1), on the shipped samples, default settings'
        self.mode = mode

    def add(self, key, wall, cpu, data, **extra):
        self.results.add(f'{key}_seconds', round(wall, 1), 's', data=data, kind='time', format='.0f', **extra)
        self.results.add(f'{key}_cpu_seconds', round(cpu, 1), 's', data=data, kind='cpu_time', format='.0f', **extra)

    def _notebook_env(self):
        return clean_environment(**({'COOKBOOK_FAST': '1'} if self.args.fast else {'COOKBOOK_OFFLINE': '1'}))

    def run_notebooks(self, numbers):
        for number in numbers:
            name = NOTEBOOKS[number]
            with Clone(keep=self.args.keep) as clone:
                wall, cpu, code, _ = timed(f'run_{number}', [str(clone.path / '.venv' / 'bin' / 'python'),
                                                            'scripts/run_notebooks.py', name],
                                           clone.path, self._notebook_env(), self.args.timeout)
                keep_executed(clone, f'run_{number}')
                if code != 0:
                    self.failed.append(f'run {name}')
                    continue
                self.add(f'run_{number}', wall, cpu, f'{name} as `make run` runs it (scripts/run_notebooks.py '
                         f'{name}), {self.mode}, fresh clone of {clone.commit}')
                self._training_checkpoints(clone, name)

    def run_all(self):
        with Clone(keep=self.args.keep) as clone:
            wall, cpu, code, _ = timed('run_all', ['make', 'run'], clone.path, self._notebook_env(),
                                       self.args.timeout)
            keep_executed(clone, 'run_all')
            if code != 0:
                self.failed.append('make run')
                return
            self.add('run_all', wall, cpu, f'`make run`: all {len(NOTEBOOKS)} notebooks, {self.mode}, '
                     f'fresh clone of {clone.commit} with a virtualenv already set up')
            self._training_checkpoints(clone, 'make run')

    def _training_checkpoints(self, clone, what):
        own = clone.path / 'checkpoints' / 'dctts-own'
        if own.is_dir():
            self.results.add('dctts_own_mib', round(folder_bytes(own) / 2**20, 1), 'MiB', format='.0f',
                             data=f'checkpoints/dctts-own/ after {what} ({self.mode}): what notebook 2\'s '
                                  'training section leaves', kind='size')

    # The one test that cannot pass here: it asks every quoted figure to have a results entry,
    # and this very run is what writes notebook_runs/test_seconds (milliseconds of the suite).
    CIRCULAR_TEST = 'tests/test_results.py::test_every_quoted_figure_in_the_repository_has_a_results_entry'

    def test(self):
        with Clone(keep=self.args.keep) as clone:
            env = clean_environment(PYTEST_ADDOPTS=f'--deselect {self.CIRCULAR_TEST}')
            wall, cpu, code, tail = timed('test', ['make', 'test'], clone.path, env, self.args.timeout)
            summary = next((line.strip('= ') for line in reversed(tail)
                            if re.search(r'\d+ (passed|failed)', line)), '')
            if not summary:  # pytest did not get to the end: no figure
                self.failed.append(f'make test (exit status {code}, no pytest summary)')
                return
            if code != 0:  # every test ran, so the time is the suite's; the summary says what failed
                self.failed.append(f'make test ({summary})')
                say(f'[bench] make test FAILED ({summary}); its time is written with that summary')
            self.add('test', wall, cpu, f'`make test` (unit tests and the notebooks in fast mode) in a fresh clone '
                     f'of {clone.commit} with a virtualenv already set up; {self.CIRCULAR_TEST.split("::")[1]} '
                     'deselected (this run writes the figure it asks for)', pytest=summary)

    def setup(self):
        with Clone(own_venv=True, keep=self.args.keep) as clone:
            wall, cpu, code, _ = timed('setup', ['make', 'setup'], clone.path, clean_environment(),
                                       self.args.timeout)
            if code != 0:
                self.failed.append('make setup')
                return
            python = subprocess.run([str(clone.path / '.venv' / 'bin' / 'python'), '-c',
                                     'import platform; print(platform.python_version())'],
                                    capture_output=True, text=True).stdout.strip()
            torch = subprocess.run([str(clone.path / '.venv' / 'bin' / 'python'), '-c',
                                    'import importlib.metadata as m; print(m.version("torch"))'],
                                   capture_output=True, text=True).stdout.strip()
            data = (f'`make setup` in a fresh clone of {clone.commit} (Python {python}, torch {torch}); '
                    'pip\'s cache and this machine\'s package index as they were, so not a first download')
            self.add('setup', wall, cpu, data)
            self.results.add('venv_gib', round(folder_bytes(clone.path / '.venv') / 2**30, 2), 'GiB',
                             data=f'the .venv that `make setup` built (Python {python}, torch {torch})',
                             kind='size', format='.1f')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--run', default='', metavar='01,02,03',
                        help=f'notebooks to run one by one, by number ({",".join(NOTEBOOKS)})')
    parser.add_argument('--run-all', action='store_true', help='`make run` (all notebooks in one run)')
    parser.add_argument('--test', action='store_true', help='`make test`')
    parser.add_argument('--setup', action='store_true', help='`make setup` from a fresh clone (a new .venv)')
    parser.add_argument('--all', action='store_true', help='--run with every notebook, --run-all, --test, --setup')
    parser.add_argument('--fast', action='store_true', help='run the notebooks in fast mode (implies --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='a check that this script works: notebook 03 in fast mode unless --run says '
                             'otherwise; figures go to outputs/bench-quick/, never to benchmarks/results/')
    parser.add_argument('--timeout', type=int, default=None, help='seconds allowed per command (default: none)')
    parser.add_argument('--keep', action='store_true', help='keep the clones (their paths are printed)')
    args = parser.parse_args(argv)
    if args.fast:
        args.quick = True
    if args.quick:
        args.fast = True
        if not (args.run or args.run_all or args.test or args.setup or args.all):
            args.run = '03'
    if args.all:
        args.run, args.run_all, args.test, args.setup = ','.join(NOTEBOOKS), True, True, True
    numbers = [n.strip().zfill(2) for n in args.run.split(',') if n.strip()]
    unknown = [n for n in numbers if n not in NOTEBOOKS]
    if unknown:
        parser.error(f'no notebook numbered {", ".join(unknown)} (there are {", ".join(NOTEBOOKS)})')
    if not (numbers or args.run_all or args.test or args.setup):
        parser.error('say what to measure: --run 01,02,03, --run-all, --test, --setup or --all')
    if shutil.which('make') is None and (args.run_all or args.test or args.setup):
        parser.error('`make` is not installed')

    bench = Bench(args)
    say(f'[bench] notebook_runs: {bench.mode}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores')
    if numbers:
        bench.run_notebooks(numbers)
    if args.run_all:
        bench.run_all()
    if args.test:
        bench.test()
    if args.setup:
        bench.setup()
    if bench.results.figures:
        bench.results.save()
        for key, figure in bench.results.figures.items():
            say(f'[bench]   {key} = {figure["value"]} {figure["unit"]}')
    if bench.failed:
        say(f'[bench] FAILED: {"; ".join(bench.failed)} (logs in {LOG_DIR.relative_to(REPO_ROOT)})')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
