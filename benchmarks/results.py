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

    python benchmarks/results.py show    # every figure with its unit, data, date and flags

The files searched are README.md, CONTRIBUTING.md, the READMEs and *.md under benchmarks/,
checkpoints/ and data/, and the Markdown cells of notebooks/*.ipynb. `check` reports, each on its
own line: a quote that differs from its figure; a quote of a figure no results file holds (run the
benchmark that writes it, see benchmarks/README.md); a quote of an absolute time measured while
other processes were busy, or of a quick run; a `<!--fig` marker that does not parse.

COOKBOOK_RESULTS_DIR, when set, is where `Results` writes (`make bench-quick` points it at
outputs/bench-quick). A quick run never writes into benchmarks/results/.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
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
                   r'(?: (?P<fmt>[^<>]*?))?-->(?P<text>(?:(?!<!--).)*?)<!--/fig-->', re.S)
QUOTED_FILES = ('README.md', 'CONTRIBUTING.md', 'benchmarks/*.md', 'checkpoints/*.md', 'data/*.md')
MARKER = re.compile(r'<!--\s*/?\s*fig\b')  # anything that looks like a quote marker


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
        if quick and _same_dir(self.path.parent, RESULTS_DIR):
            raise ValueError(f'a quick run of {benchmark} would write into {_relative(RESULTS_DIR)}: quick '
                             'figures say nothing and must not replace measured ones (unset '
                             'COOKBOOK_RESULTS_DIR or give another out_dir)')
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
        self._run_id = None
        self.figures: dict = {}
        if self.run['load_before'] and self.run['load_before'][0] > BUSY_OTHER_CORES + 0.5:
            print(f'[results] NOTE: load average {self.run["load_before"][0]} before {benchmark} started:'
                  ' another job may be running; absolute times of this run will be marked busy.')

    def add(self, key: str, value, unit: str, data: str, kind: str = 'value', format: str | None = None,
            **extra):
        if not re.fullmatch(r'[A-Za-z0-9_\-]+', key):
            raise ValueError(f'figure key {key!r}: letters, digits, _ and - only')
        if not isinstance(data, str) or not data.strip():
            raise ValueError(f'figure {key!r}: data= must name what it was measured on')
        reserved = {'value', 'unit', 'data', 'kind', 'format', 'run', 'busy'} & set(extra)
        if reserved:
            raise ValueError(f'figure {key!r}: {", ".join(sorted(reserved))} cannot be extra fields')
        figure = {'value': _plain(value), 'unit': unit, 'data': data, 'kind': kind}
        if format:
            figure['format'] = format
        figure.update({k: _plain(v) for k, v in extra.items() if v is not None})
        problems = _figure_problems(key, figure)
        if problems:
            raise ValueError('; '.join(problems))
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
        for figure in self.figures.values():
            if figure['kind'] == 'time' and self.run['busy']:
                figure['busy'] = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time per results file (read, merge, replace), and the file is replaced
        # in one step: a reader sees the old file or the new one, never half of one.
        with open(self.path.parent / f'.{self.path.name}.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            old = load(self.path) if self.path.exists() else {'figures': {}, 'runs': {}}
            if self._run_id is None:  # a run is named by its start, made unique within the file
                run_id, n = self.run['date'], 1
                while run_id in old.get('runs', {}):
                    n += 1
                    run_id = f'{self.run["date"]}-{n}'
                self._run_id = run_id
            run_id = self._run_id  # a run saved again (after each part) stays one run
            for figure in self.figures.values():
                figure['run'] = run_id
            figures = {**old.get('figures', {}), **self.figures}
            used = {f['run'] for f in figures.values()}
            runs = {k: v for k, v in {**old.get('runs', {}), run_id: self.run}.items() if k in used}
            doc = {'schema': SCHEMA, 'benchmark': self.benchmark, 'runs': dict(sorted(runs.items())),
                   'figures': dict(sorted(figures.items()))}
            problems = validate(doc)
            if problems:  # never write a file that `load` would refuse
                raise ValueError(f'{self.path}: ' + '; '.join(problems))
            _atomic_write(self.path, json.dumps(doc, indent=1, ensure_ascii=False) + '\n')
        print(f'[results] {len(self.figures)} figures written to {_relative(self.path)}'
              f' (other processes: {self.run["other_cores"]} cores; load {self.run["load_before"]}'
              f' -> {self.run["load_after"]})')
        return self.path


def _atomic_write(path: Path, text: str):
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    with tempfile.NamedTemporaryFile('w', dir=path.parent, prefix=f'.{path.name}.', suffix='.part',
                                     delete=False, encoding='utf-8') as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
        # mkstemp makes the file private (0600); give it the mode the file had, else the usual one.
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp.name, mode)
    try:
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise


def _same_dir(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


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


def _figure_problems(key, fig) -> list:
    """What is wrong with one figure on its own (its run aside)."""
    problems = []
    for field in ('value', 'unit', 'data', 'kind'):
        if field not in fig:
            problems.append(f'figure {key} has no {field}')
    value = fig.get('value')
    if isinstance(value, bool) or not isinstance(value, (int, float, str, list)):
        problems.append(f'figure {key}: value {value!r} is not a number, a string or a list')
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(f'figure {key}: value {value!r} is not finite')
    if not isinstance(fig.get('data', ''), str) or not str(fig.get('data', '')).strip():
        problems.append(f'figure {key}: data does not name what it was measured on')
    spec = fig.get('format')
    if spec is not None:
        for field in ('value', 'std', 'low', 'high'):
            if isinstance(fig.get(field), (int, float)) and not isinstance(fig.get(field), bool):
                try:
                    format(fig[field], spec)
                except (ValueError, TypeError) as exc:
                    problems.append(f'figure {key}: format {spec!r} does not apply to its {field} ({exc})')
    return problems


def validate(doc) -> list:
    """Every problem of a results document, as sentences; [] when it is sound."""
    problems = []
    if not isinstance(doc, dict) or doc.get('schema') != SCHEMA:
        return [f'schema is not {SCHEMA}']
    runs = doc.get('runs', {})
    figures = doc.get('figures', {})
    if not isinstance(runs, dict) or not isinstance(figures, dict):
        return ['runs and figures must be objects']
    for run_id, run in runs.items():
        for field in ('command', 'date', 'commit', 'machine', 'load_before', 'load_after', 'busy'):
            if field not in run:
                problems.append(f'run {run_id} has no {field}')
    for key, fig in figures.items():
        if not isinstance(fig, dict):
            problems.append(f'figure {key} is not an object')
            continue
        problems += _figure_problems(key, fig)
        if 'run' not in fig:
            problems.append(f'figure {key} has no run')
        elif fig['run'] not in runs:
            problems.append(f'figure {key} names run {fig["run"]!r}, which is not in the file')
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
    try:
        return format(value, fmt)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'{bench}.json figure {key!r}: format {fmt!r} does not apply to {value!r} ({exc})') from exc


def quoted_files(root=REPO_ROOT):
    root = Path(root)
    files = []
    for pattern in QUOTED_FILES:
        files.extend(sorted(root.glob(pattern)))
    files.extend(sorted((root / 'notebooks').glob('*.ipynb')))
    return files


def _figure(results, ref):
    bench, rest = ref.split('/', 1)
    key = rest.partition('.')[0]
    doc = results.get(bench)
    return (doc, doc['figures'].get(key)) if doc else (None, None)


_CODE = re.compile(r'^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$|(`+)(?!`).+?(?<!`)\2(?!`)', re.S | re.M)


def _code_ranges(text):
    """Where ``text`` has fenced code blocks and code spans: examples of the syntax, not quotes."""
    return [m.span() for m in _CODE.finditer(text)]


def _rewrite_text(text, results, where, problems):
    """(``text`` with every quote filled from ``results``, the number of quotes); each problem
    appended as a dict (where, ref, kind: 'differs' | 'unknown' | 'busy' | 'quick' | 'marker',
    message). Quotes inside code (fenced blocks, `spans`) are examples and left alone."""
    code = _code_ranges(text)

    def in_code(position):
        return any(start <= position < end for start, end in code)

    count = 0

    def replace(match):
        nonlocal count
        if in_code(match.start()):
            return match[0]
        count += 1
        ref = match['ref']
        try:
            wanted = format_figure(results, ref, match['fmt'])
        except (KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            problems.append({'where': where, 'ref': ref, 'kind': 'unknown', 'message': message})
            return match[0]
        doc, figure = _figure(results, ref)
        run = doc['runs'].get(figure['run'], {})
        field = ref.split('/', 1)[1].partition('.')[2] or 'value'
        timed_field = isinstance(figure.get(field), (int, float)) and field not in ('n', 'seeds')
        if figure.get('busy') and timed_field:  # its data or count is not a time
            problems.append({'where': where, 'ref': ref, 'kind': 'busy', 'message':
                             f'an absolute time measured while other processes used {run.get("other_cores")} '
                             f'cores ({run.get("date")}): measure it again alone'})
        if run.get('quick'):
            problems.append({'where': where, 'ref': ref, 'kind': 'quick', 'message':
                             f'measured by a quick run ({run.get("command")}), which says nothing'})
        if wanted != match['text']:
            problems.append({'where': where, 'ref': ref, 'kind': 'differs', 'message':
                             f'says {match["text"]!r}, its results file {wanted!r}'})
        return match[0][:match.start('text') - match.start()] + wanted + '<!--/fig-->'

    new = QUOTE.sub(replace, text)
    # A marker outside every well-formed quote (a typo, a missing closing marker) is never checked.
    quoted = [m.span() for m in QUOTE.finditer(text)]
    for marker in MARKER.finditer(text):
        if in_code(marker.start()) or any(start <= marker.start() < end for start, end in quoted):
            continue
        snippet = text[marker.start():marker.start() + 60].split('\n')[0]
        problems.append({'where': where, 'ref': '?', 'kind': 'marker', 'message':
                         f'a quote marker that does not parse: {snippet!r} (form: <!--fig BENCH/KEY[.FIELD] '
                         '[FORMAT]-->TEXT<!--/fig-->)'})
    return new, count


def quote_problems(root=REPO_ROOT, results_dir=None, write=False):
    """(problems, number of quotes): every problem as a dict (where, ref, kind, message).
    With write=True, quotes are rewritten from the results files first; what is then left is
    what rewriting cannot mend (unknown figures, busy or quick sources, broken markers)."""
    root = Path(root)
    results = all_results(results_dir or root / 'benchmarks' / 'results')
    problems, count = [], 0
    for path in quoted_files(root):
        rel = path.relative_to(root)
        if path.suffix == '.ipynb':
            nb = json.loads(path.read_text(encoding='utf-8'))
            changed = False
            for i, cell in enumerate(nb['cells']):
                if cell['cell_type'] != 'markdown':
                    continue
                text = ''.join(cell['source'])
                new, n = _rewrite_text(text, results, f'{rel} cell {i}', problems)
                count += n
                if new != text:
                    cell['source'] = new.splitlines(keepends=True)
                    changed = True
            if write and changed:
                _atomic_write(path, json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        else:
            text = path.read_text(encoding='utf-8')
            new, n = _rewrite_text(text, results, str(rel), problems)
            count += n
            if write and new != text:
                _atomic_write(path, new)
    if write:
        problems = [p for p in problems if p['kind'] != 'differs']
    return problems, count


def check_quotes(root=REPO_ROOT, results_dir=None, write=False):
    """(problems, number of quotes), each problem one line: 'WHERE: BENCH/KEY: what is wrong'.
    With write=True, quotes are rewritten from the results files."""
    problems, count = quote_problems(root, results_dir, write)
    return [f'{p["where"]}: {p["ref"]}: {p["message"]}' for p in problems], count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('action', choices=['check', 'quote', 'show'])
    parser.add_argument('--results', type=Path, default=None, help='results folder (default benchmarks/results)')
    parser.add_argument('--root', type=Path, default=REPO_ROOT, help='the tree whose prose is checked (default: this repository)')
    args = parser.parse_args(argv)
    results_dir = args.results or args.root / 'benchmarks' / 'results'
    try:
        if args.action == 'show':
            for bench, doc in all_results(results_dir).items():
                for key, fig in doc['figures'].items():
                    run = doc['runs'][fig['run']]
                    flags = ''.join([' BUSY' if fig.get('busy') else '', ' QUICK' if run.get('quick') else ''])
                    print(f'{bench}/{key} = {fig["value"]} {fig["unit"]}  [{fig["data"]}; {run["date"]}{flags}]')
            return 0
        if args.action == 'quote':
            before, _ = quote_problems(args.root, results_dir)
            rewritten = sorted({p['where'].split(' cell ')[0] for p in before if p['kind'] == 'differs'})
        problems, count = quote_problems(args.root, results_dir, write=args.action == 'quote')
    except ValueError as exc:  # an unreadable or invalid results file
        print(f'ERROR: {exc}', file=sys.stderr)
        return 2
    if args.action == 'quote':
        print(f'{sum(p["kind"] == "differs" for p in before)} quotes rewritten'
              + (f' in {", ".join(rewritten)}' if rewritten else ''))
    print(report(problems, count))
    return 1 if problems else 0


def report(problems, count) -> str:
    """The problems grouped by kind, each group with what to do, then one summary line."""
    headings = {
        'differs': 'quotes that differ from their results file (run `python benchmarks/results.py quote`)',
        'unknown': 'quotes of figures no results file holds (run the benchmark that writes them: '
                   'benchmarks/README.md, `make bench`)',
        'busy': 'quotes of absolute times measured on a busy machine (measure them again alone)',
        'quick': 'quotes of figures from a quick run (run the benchmark without --quick)',
        'marker': 'quote markers that do not parse',
    }
    lines = []
    for kind, heading in headings.items():
        mine = [p for p in problems if p['kind'] == kind]
        if mine:
            lines.append(f'{len(mine)} {heading}:')
            lines += [f'  {p["where"]}: {p["ref"]}: {p["message"]}' for p in mine]
    lines.append(f'{count} quoted figures, {len(problems)} problems')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
