#!/usr/bin/env python3
"""Benchmark figures as data, and the prose that quotes them.

Every benchmark writes its figures through `Results` into `benchmarks/results/<benchmark>.json`:
each figure's value and unit, the data it was measured on, and the run it came from (command line,
date, commit, CPU model, cores, threads, load average before and after, and how busy the rest of
the machine was while it ran). A quick run (`--quick`, CI) writes to `outputs/bench-quick/` instead,
so it never replaces a real figure.

Reader-facing text quotes a figure between two HTML comments, which Markdown, GitHub, Jupyter and
Colab do not show:

    one sentence at a real-time factor of <!--fig tts/one_sentence_rtf .2f-->0.17<!--/fig-->

`<!--fig BENCHMARK/KEY[.FIELD] [FORMAT]-->` names the results file, the figure, optionally a field
other than `value` (for example `std`, `low`, `high`, `n`), and a Python format specification
(default: the figure's own `format`, else `g`). Two commands keep the quotes true:

    python benchmarks/results.py check   # exit 1 and list every quote that differs from its source
    python benchmarks/results.py quote   # rewrite every quote from the results files

The files searched are README.md, CONTRIBUTING.md, the READMEs and *.md under benchmarks/,
checkpoints/ and data/, and the Markdown cells of notebooks/*.ipynb.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / 'benchmarks' / 'results'
QUICK_DIR = REPO_ROOT / 'outputs' / 'bench-quick'
SCHEMA = 1

# Another process using more than this many cores on average while a benchmark ran makes the
# run "busy": its absolute times are marked and should not be quoted.
BUSY_OTHER_CORES = 0.25

QUOTE = re.compile(r'<!--fig (?P<ref>[A-Za-z0-9_\-]+/[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_]+)?)'
                   r'(?: (?P<fmt>[^>]*?))?-->(?P<text>.*?)<!--/fig-->', re.S)
QUOTED_FILES = ('README.md', 'CONTRIBUTING.md', 'benchmarks/*.md', 'checkpoints/*.md', 'data/*.md')


# ---------------------------------------------------------------------------------------------
# The machine and the run
# ---------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """The commit, with '-dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        rev = subprocess.run(['git', 'rev-parse', '--short=12', 'HEAD'], cwd=REPO_ROOT, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=REPO_ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
        return rev + ('-dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def _busy_jiffies():
    """Busy CPU time of the whole machine in seconds (all cores), from /proc/stat; None elsewhere."""
    try:
        fields = Path('/proc/stat').read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    busy = sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf('SC_CLK_TCK')


def _own_cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


class Results:
    """Collects one benchmark run's figures and writes them, merged with earlier runs' figures.

        results = Results('tts', quick=args.quick)      # reads the load before anything runs
        results.add('one_sentence_rtf', 0.17, 'x real time', data='one sentence, random weights',
                    kind='time', format='.2f')
        results.save()                                  # benchmarks/results/tts.json

    kind: 'time' (an absolute duration or rate: marked when the machine was busy), 'ratio' (two
    things timed in the same run), 'cpu_time', or anything else ('accuracy', 'count', ...).
    Extra keyword arguments (std, low, high, n, seeds, note, ...) are stored with the figure.
    """

    def __init__(self, benchmark: str, quick: bool = False, out_dir=None, argv=None, threads=None):
        if not re.fullmatch(r'[A-Za-z0-9_\-]+', benchmark):
            raise ValueError(f'benchmark name {benchmark!r}: letters, digits, _ and - only')
        self.benchmark = benchmark
        self.quick = quick
        if out_dir is None:
            out_dir = os.environ.get('COOKBOOK_RESULTS_DIR') or (QUICK_DIR if quick else RESULTS_DIR)
        self.path = Path(out_dir) / f'{benchmark}.json'
        argv = sys.argv if argv is None else argv
        self.run = {
            'command': ' '.join(shlex.quote(a) for a in ['python', _relative(argv[0])] + list(argv[1:])),
            'date': _dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'commit': git_commit(),
            'machine': {'cpu': cpu_model(), 'cores': os.cpu_count(), 'platform': platform.platform(),
                        'python': platform.python_version()},
            'threads': threads,
            'quick': quick,
            'load_before': _load(),
        }
        self._start = (time.monotonic(), _busy_jiffies(), _own_cpu_seconds())
        self.figures: dict = {}
        if self.run['load_before'] and self.run['load_before'][0] > BUSY_OTHER_CORES + 0.5:
            print(f'[results] NOTE: load average {self.run["load_before"][0]} before {benchmark} started:'
                  ' another job may be running; absolute times of this run will be marked busy.')

    def add(self, key: str, value, unit: str, data: str, kind: str = 'value', format: str | None = None,
            **extra):
        if not re.fullmatch(r'[A-Za-z0-9_\-]+', key):
            raise ValueError(f'figure key {key!r}: letters, digits, _ and - only')
        figure = {'value': _plain(value), 'unit': unit, 'data': data, 'kind': kind}
        if format:
            figure['format'] = format
        figure.update({k: _plain(v) for k, v in extra.items() if v is not None})
        self.figures[key] = figure
        return figure

    def other_load(self):
        """Average cores used by other processes since the start (None where /proc/stat is missing)."""
        start_wall, start_busy, start_own = self._start
        busy = _busy_jiffies()
        wall = time.monotonic() - start_wall
        if busy is None or start_busy is None or wall <= 0:
            return None
        other = (busy - start_busy) - (_own_cpu_seconds() - start_own)
        return max(0.0, other / wall)

    def save(self):
        other = self.other_load()
        self.run['load_after'] = _load()
        self.run['seconds'] = round(time.monotonic() - self._start[0], 1)
        self.run['other_cores'] = None if other is None else round(other, 2)
        self.run['busy'] = bool(other is not None and other > BUSY_OTHER_CORES)
        if self.run['busy']:
            print(f'[results] WARNING: other processes used {other:.2f} cores on average while '
                  f'{self.benchmark} ran: its absolute times are marked busy (not for quoting).')
        run_id = self.run['date']
        for figure in self.figures.values():
            figure['run'] = run_id
            if figure['kind'] == 'time' and self.run['busy']:
                figure['busy'] = True
        old = load(self.path) if self.path.exists() else {'figures': {}, 'runs': {}}
        figures = {**old.get('figures', {}), **self.figures}
        used = {f['run'] for f in figures.values()}
        runs = {k: v for k, v in {**old.get('runs', {}), run_id: self.run}.items() if k in used}
        doc = {'schema': SCHEMA, 'benchmark': self.benchmark, 'runs': dict(sorted(runs.items())),
               'figures': dict(sorted(figures.items()))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_suffix('.json.part')
        part.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + '\n')
        part.replace(self.path)
        print(f'[results] {len(self.figures)} figures written to {_relative(self.path)}'
              f' (other processes: {self.run["other_cores"]} cores; load {self.run["load_before"]}'
              f' -> {self.run["load_after"]})')
        return self.path


def _relative(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _plain(value):
    """JSON-friendly numbers (numpy scalars and arrays become Python ones)."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# Reading results and checking quotes
# ---------------------------------------------------------------------------------------------
def load(path) -> dict:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable results file ({exc})') from exc
    problems = validate(doc)
    if problems:
        raise ValueError(f'{path}: ' + '; '.join(problems))
    return doc


def validate(doc) -> list:
    problems = []
    if not isinstance(doc, dict) or doc.get('schema') != SCHEMA:
        return [f'schema is not {SCHEMA}']
    runs = doc.get('runs', {})
    for run_id, run in runs.items():
        for field in ('command', 'date', 'commit', 'machine', 'load_before', 'load_after', 'busy'):
            if field not in run:
                problems.append(f'run {run_id} has no {field}')
    for key, fig in doc.get('figures', {}).items():
        for field in ('value', 'unit', 'data', 'kind', 'run'):
            if field not in fig:
                problems.append(f'figure {key} has no {field}')
        if fig.get('run') not in runs:
            problems.append(f'figure {key} names run {fig.get("run")!r}, which is not in the file')
    return problems


def all_results(results_dir=RESULTS_DIR) -> dict:
    return {p.stem: load(p) for p in sorted(Path(results_dir).glob('*.json'))}


def format_figure(results: dict, ref: str, fmt: str | None) -> str:
    bench, rest = ref.split('/', 1)
    key, _, field = rest.partition('.')
    if bench not in results:
        raise KeyError(f'no results file {bench}.json')
    figure = results[bench]['figures'].get(key)
    if figure is None:
        raise KeyError(f'{bench}.json has no figure {key!r}')
    value = figure.get(field or 'value')
    if value is None:
        raise KeyError(f'{bench}.json figure {key!r} has no field {field!r}')
    fmt = (fmt or '').strip() or figure.get('format') or 'g'
    if isinstance(value, str):
        return value
    return format(value, fmt)


def quoted_files(root=REPO_ROOT):
    root = Path(root)
    files = []
    for pattern in QUOTED_FILES:
        files.extend(sorted(root.glob(pattern)))
    files.extend(sorted((root / 'notebooks').glob('*.ipynb')))
    return files


def _rewrite_text(text, results, where, problems):
    def replace(match):
        try:
            wanted = format_figure(results, match['ref'], match['fmt'])
        except (KeyError, ValueError) as exc:
            problems.append(f'{where}: {match["ref"]}: {exc}')
            return match[0]
        if wanted != match['text']:
            problems.append(f'{where}: {match["ref"]} says {match["text"]!r}, its results file {wanted!r}')
        return match[0][:match.start('text') - match.start()] + wanted + '<!--/fig-->'
    return QUOTE.sub(replace, text)


def check_quotes(root=REPO_ROOT, results_dir=None, write=False):
    """(problems, number of quotes). With write=True, quotes are rewritten from the results."""
    root = Path(root)
    results = all_results(results_dir or root / 'benchmarks' / 'results')
    problems, count = [], 0
    for path in quoted_files(root):
        rel = path.relative_to(root)
        if path.suffix == '.ipynb':
            nb = json.loads(path.read_text())
            changed = False
            for i, cell in enumerate(nb['cells']):
                if cell['cell_type'] != 'markdown':
                    continue
                text = ''.join(cell['source'])
                count += len(QUOTE.findall(text))
                new = _rewrite_text(text, results, f'{rel} cell {i}', problems)
                if new != text:
                    cell['source'] = new.splitlines(keepends=True)
                    changed = True
            if write and changed:
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        else:
            text = path.read_text()
            count += len(QUOTE.findall(text))
            new = _rewrite_text(text, results, str(rel), problems)
            if write and new != text:
                path.write_text(new)
    if write:  # what is left after rewriting: unknown figures only
        problems = [p for p in problems if ' says ' not in p]
    return problems, count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('action', choices=['check', 'quote', 'show'])
    parser.add_argument('--results', type=Path, default=None, help='results folder (default benchmarks/results)')
    args = parser.parse_args(argv)
    if args.action == 'show':
        for bench, doc in all_results(args.results or RESULTS_DIR).items():
            for key, fig in doc['figures'].items():
                run = doc['runs'][fig['run']]
                flag = ' BUSY' if fig.get('busy') else ''
                print(f'{bench}/{key} = {fig["value"]} {fig["unit"]}  [{fig["data"]}; {run["date"]}{flag}]')
        return 0
    problems, count = check_quotes(results_dir=args.results, write=args.action == 'quote')
    for p in problems:
        print(p)
    print(f'{count} quoted figures, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
