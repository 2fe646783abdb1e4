"""benchmarks/results.py: figures written as data (merged, validated, marked when the machine was
busy, written atomically), and the prose that quotes them checked and rewritten from them. The last
tests check this repository: every results file is sound and every quoted figure matches its source.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / 'benchmarks' / 'results.py'
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))
import results  # noqa: E402

sys.path.remove(str(REPO_ROOT / 'benchmarks'))


@pytest.fixture(autouse=True)
def _no_results_dir_setting(monkeypatch):
    monkeypatch.delenv('COOKBOOK_RESULTS_DIR', raising=False)


def _quiet(monkeypatch):
    """No other process uses the CPU, whatever the machine is doing."""
    clock = {'busy': 100.0}
    monkeypatch.setattr(results, '_busy_jiffies', lambda: clock['busy'])
    return clock


def _write(tmp_path, name='tts', figures=None, quick=False, argv=('bench_tts.py', '--x')):
    r = results.Results(name, quick=quick, out_dir=tmp_path / 'benchmarks' / 'results', argv=list(argv))
    for key, (value, fmt, extra) in (figures or {}).items():
        r.add(key, value, 'x', data='one sentence, random weights', kind=extra.pop('kind', 'ratio'),
              format=fmt, **extra)
    return r.save()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def test_a_run_is_written_with_its_figures_and_where_it_ran(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    r = results.Results('tts', out_dir=tmp_path, argv=['benchmarks/bench_tts.py', '--steps', '210'], threads=2)
    r.add('one_sentence_rtf', 0.1734, 'x real time', data='one sentence, random weights', kind='time',
          format='.2f', n=3)
    r.add('decoder_speedup', 14.2, 'x', data='210 decoder steps', kind='ratio', low=12.0, high=None)
    path = r.save()
    assert path == tmp_path / 'tts.json'
    doc = json.loads(path.read_text())
    assert results.validate(doc) == []
    assert doc['benchmark'] == 'tts' and doc['schema'] == results.SCHEMA
    (run_id, run), = doc['runs'].items()
    assert run['command'] == 'python benchmarks/bench_tts.py --steps 210'
    assert run['threads'] == 2 and run['quick'] is False and run['busy'] is False
    for field in ('date', 'commit', 'machine', 'load_before', 'load_after', 'other_cores', 'seconds'):
        assert field in run, field
    assert run['machine']['cores'] == os.cpu_count() and run['machine']['cpu']
    figure = doc['figures']['one_sentence_rtf']
    assert figure == {'value': 0.1734, 'unit': 'x real time', 'data': 'one sentence, random weights',
                      'kind': 'time', 'format': '.2f', 'n': 3, 'run': run_id}
    assert 'high' not in doc['figures']['decoder_speedup']  # None is left out
    assert not list(tmp_path.glob('*.part')) and not list(tmp_path.glob('.*.part'))


def test_files_keep_their_mode_and_new_ones_get_the_usual_one(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    old_umask = os.umask(0o022)
    try:
        path = _write(tmp_path, figures={'rtf': (0.2, None, {})})
        assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
        path.chmod(0o664)
        _write(tmp_path, figures={'rtf': (0.3, None, {})})
        assert path.stat().st_mode & 0o777 == 0o664
        readme = tmp_path / 'README.md'
        readme.write_text('<!--fig tts/rtf-->0.2<!--/fig-->\n')
        readme.chmod(0o644)
        results.quote_problems(tmp_path, write=True)
        assert readme.read_text() == '<!--fig tts/rtf-->0.3<!--/fig-->\n'
        assert readme.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old_umask)


def test_numpy_values_become_plain_json(tmp_path, monkeypatch):
    np = pytest.importorskip('numpy')
    _quiet(monkeypatch)
    r = results.Results('voice_commands', out_dir=tmp_path, argv=['b.py'])
    r.add('test_accuracy', np.float32(0.875), 'accuracy', data='495 test clips', std=np.float64(0.006),
          n=np.int64(2), per_seed=np.array([0.87, 0.88]))
    doc = json.loads(r.save().read_text())
    figure = doc['figures']['test_accuracy']
    assert isinstance(figure['value'], float) and figure['n'] == 2 and figure['per_seed'] == [0.87, 0.88]


def test_a_later_run_merges_and_only_the_runs_still_used_are_kept(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    first = results.Results('melody', out_dir=tmp_path, argv=['bench_melody.py', '--held-out'])
    first.add('bundle_nats_per_step', -1.116, 'nats/step', data='175 held-out tunes')
    first.add('generation_steps_per_s', 150.0, 'steps/s', data='Twinkle Twinkle', kind='time')
    first.save()
    time.sleep(1.1)  # runs are named by their date, to the second
    second = results.Results('melody', out_dir=tmp_path, argv=['bench_melody.py', '--speed'])
    second.add('generation_steps_per_s', 170.0, 'steps/s', data='Twinkle Twinkle', kind='time')
    second.save()
    doc = results.load(tmp_path / 'melody.json')
    assert doc['figures']['bundle_nats_per_step']['value'] == -1.116  # kept from the first run
    assert doc['figures']['generation_steps_per_s']['value'] == 170.0  # replaced by the second
    assert len(doc['runs']) == 2
    assert doc['runs'][doc['figures']['bundle_nats_per_step']['run']]['command'].endswith('--held-out')
    time.sleep(1.1)
    third = results.Results('melody', out_dir=tmp_path, argv=['bench_melody.py', '--all'])
    third.add('bundle_nats_per_step', -1.1, 'nats/step', data='175 held-out tunes')
    third.save()
    doc = results.load(tmp_path / 'melody.json')
    # the first run is no longer the source of any figure, so its record is gone
    assert sorted(r['command'].split()[-1] for r in doc['runs'].values()) == ['--all', '--speed']


def test_runs_in_the_same_second_stay_apart_and_a_run_saved_twice_is_one_run(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    first = results.Results('tts', out_dir=tmp_path, argv=['bench_tts.py', '--part', 'a'])
    second = results.Results('tts', out_dir=tmp_path, argv=['bench_tts.py', '--part', 'b'])
    second.run['date'] = first.run['date']  # started in the same second
    first.add('a', 1.0, 'x', data='d')
    first.save()
    first.add('a2', 2.0, 'x', data='d')
    first.save()  # after its second part
    second.add('b', 3.0, 'x', data='d')
    second.save()
    doc = results.load(tmp_path / 'tts.json')
    assert len(doc['runs']) == 2
    assert doc['figures']['a']['run'] == doc['figures']['a2']['run'] != doc['figures']['b']['run']
    assert doc['runs'][doc['figures']['a']['run']]['command'].endswith('a')
    assert doc['runs'][doc['figures']['b']['run']]['command'].endswith('b')


@pytest.mark.parametrize('call, message', [
    (dict(key='bad key'), 'letters, digits'),
    (dict(data=''), 'must name what'),
    (dict(data=None), 'must name what'),
    (dict(format='.2q'), "format '.2q'"),
    (dict(value=float('nan')), 'not finite'),
    (dict(value=True), 'not a number'),
    (dict(value={'a': 1}), 'not a number'),
    (dict(run='x'), 'cannot be extra'),
])
def test_a_bad_figure_is_refused_when_added(tmp_path, call, message):
    r = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    args = dict(key='rtf', value=0.2, unit='x', data='one sentence', format=None)
    args.update(call)
    key, value, unit = args.pop('key'), args.pop('value'), args.pop('unit')
    with pytest.raises(ValueError, match=message):
        r.add(key, value, unit, **args)
    assert r.figures == {}


def test_bad_benchmark_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match='benchmark name'):
        results.Results('../escape', out_dir=tmp_path)


def test_a_quick_run_goes_to_the_quick_folder_and_never_into_benchmarks_results(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    monkeypatch.setattr(results, 'QUICK_DIR', tmp_path / 'quick')
    r = results.Results('tts', quick=True, argv=['b.py', '--quick'])
    r.add('rtf', 0.2, 'x', data='one sentence')
    assert r.save() == tmp_path / 'quick' / 'tts.json'
    assert results.load(r.path)['runs'][r.run['date']]['quick'] is True
    with pytest.raises(ValueError, match='quick run'):
        results.Results('tts', quick=True, out_dir=results.RESULTS_DIR)
    monkeypatch.setenv('COOKBOOK_RESULTS_DIR', str(results.RESULTS_DIR))
    with pytest.raises(ValueError, match='quick run'):
        results.Results('tts', quick=True)


def test_the_results_dir_setting_is_where_results_go(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    monkeypatch.setenv('COOKBOOK_RESULTS_DIR', str(tmp_path / 'elsewhere'))
    r = results.Results('tts', quick=True, argv=['b.py'])
    r.add('rtf', 0.2, 'x', data='one sentence')
    assert r.save() == tmp_path / 'elsewhere' / 'tts.json'


# ---------------------------------------------------------------------------------------------
# Busy machine
# ---------------------------------------------------------------------------------------------
def test_other_processes_mark_absolute_times_busy_and_keep_ratios(tmp_path, monkeypatch, capsys):
    clock = _quiet(monkeypatch)
    r = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    r.add('one_sentence_rtf', 0.2, 'x real time', data='one sentence', kind='time')
    r.add('decoder_speedup', 14.0, 'x', data='210 steps', kind='ratio')
    r.add('train_step_cpu', 1.5, 's', data='batch 4', kind='cpu_time')
    clock['busy'] += 1000.0  # a thousand CPU seconds that were not ours, in well under that wall time
    doc = json.loads(r.save().read_text())
    assert 'WARNING' in capsys.readouterr().out
    run = next(iter(doc['runs'].values()))
    assert run['busy'] is True and run['other_cores'] > results.BUSY_OTHER_CORES
    assert doc['figures']['one_sentence_rtf']['busy'] is True
    assert 'busy' not in doc['figures']['decoder_speedup']
    assert 'busy' not in doc['figures']['train_step_cpu']


def test_a_quiet_run_is_not_busy(tmp_path, monkeypatch):
    _quiet(monkeypatch)  # the machine's counter does not move beyond our own time
    r = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    r.add('one_sentence_rtf', 0.2, 'x real time', data='one sentence', kind='time')
    monkeypatch.setattr(results, '_busy_jiffies', lambda: 100.0 + results._own_cpu_seconds() - r._start[2])
    doc = json.loads(r.save().read_text())
    assert next(iter(doc['runs'].values()))['busy'] is False
    assert 'busy' not in doc['figures']['one_sentence_rtf']


@pytest.mark.skipif(not Path('/proc/stat').exists(), reason='reads /proc/stat')
def test_a_real_process_spinning_beside_the_run_makes_it_busy(tmp_path):
    r = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    spinner = subprocess.Popen([sys.executable, '-c', 'import time\nend = time.time() + 1.5\nwhile time.time() < end: pass'])
    try:
        time.sleep(1.5)
        r.add('one_sentence_rtf', 0.2, 'x real time', data='one sentence', kind='time')
        r.save()  # before the spinner is waited for: its CPU time is not ours
    finally:
        spinner.wait()
    doc = results.load(r.path)
    assert doc['figures']['one_sentence_rtf'].get('busy') is True, doc['runs']


def test_our_own_children_do_not_make_a_run_busy(tmp_path, monkeypatch):
    """CPU time of a child that was waited for (a notebook's kernel, pip) is the run's own."""
    before = results._own_cpu_seconds()
    subprocess.run([sys.executable, '-c', 'import time\nend = time.process_time() + 0.5\n'
                    'while time.process_time() < end: pass'], check=True)
    assert results._own_cpu_seconds() - before >= 0.4


# ---------------------------------------------------------------------------------------------
# Atomic write, concurrent writers, reading
# ---------------------------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    _quiet(monkeypatch)
    r = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    r.add('rtf', 0.2, 'x', data='one sentence')
    r.save()
    before = (tmp_path / 'tts.json').read_bytes()

    def broken_replace(src, dst):
        raise OSError('disk full')
    monkeypatch.setattr(results.os, 'replace', broken_replace)
    r2 = results.Results('tts', out_dir=tmp_path, argv=['b.py'])
    r2.add('rtf', 0.3, 'x', data='one sentence')
    with pytest.raises(OSError, match='disk full'):
        r2.save()
    assert (tmp_path / 'tts.json').read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.tts.json.lock', 'tts.json']


def test_writers_at_the_same_time_lose_no_figure(tmp_path):
    code = ('import sys; sys.path.insert(0, sys.argv[1]); import results; '
            'r = results.Results("melody", out_dir=sys.argv[2], argv=["b.py"]); '
            '[r.add(f"k{sys.argv[3]}_{i}", i, "x", data="d") for i in range(50)]; r.save()')
    writers = [subprocess.Popen([sys.executable, '-c', code, str(SCRIPT.parent), str(tmp_path), str(n)])
               for n in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    doc = results.load(tmp_path / 'melody.json')
    assert len(doc['figures']) == 200


def test_load_names_the_file_and_what_is_wrong(tmp_path):
    bad = tmp_path / 'tts.json'
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='tts.json: not a readable results file'):
        results.load(bad)
    bad.write_text(json.dumps({'schema': results.SCHEMA, 'runs': {}, 'figures': {
        'rtf': {'value': 0.2, 'unit': 'x', 'data': 'd', 'kind': 'time', 'run': 'nowhere'}}}))
    with pytest.raises(ValueError, match="figure rtf names run 'nowhere'"):
        results.load(bad)


@pytest.mark.parametrize('change, message', [
    (lambda d: d.update(schema=99), 'schema'),
    (lambda d: next(iter(d['runs'].values())).pop('commit'), 'has no commit'),
    (lambda d: d['figures']['rtf'].pop('unit'), 'has no unit'),
    (lambda d: d['figures']['rtf'].update(data=''), 'data does not name'),
    (lambda d: d['figures']['rtf'].pop('run'), 'has no run'),
    (lambda d: d['figures']['rtf'].update(format='.2q'), 'format'),
])
def test_validate_reports_each_problem(tmp_path, monkeypatch, change, message):
    _quiet(monkeypatch)
    doc = json.loads(_write(tmp_path, figures={'rtf': (0.2, '.2f', {})}).read_text())
    assert results.validate(doc) == []
    change(doc)
    assert any(message in p for p in results.validate(doc)), results.validate(doc)


# ---------------------------------------------------------------------------------------------
# Quotes
# ---------------------------------------------------------------------------------------------
MARKDOWN = '\n'.join([
    '# A README',
    'Right: <!--fig tts/one_sentence_rtf-->0.17<!--/fig-->, spread '
    '<!--fig voice_commands/test_accuracy.std .3f-->0.006<!--/fig-->.',
    'Wrong: <!--fig tts/decoder_speedup .1f-->115<!--/fig-->x.',
    'Unknown: <!--fig tts/no_such_key-->1<!--/fig--> <!--fig nobench/x-->1<!--/fig--> '
    '<!--fig tts/one_sentence_rtf.high-->1<!--/fig-->.',
    'An example, not a quote: `<!--fig tts/x-->7<!--/fig-->`.',
    '```', '<!--fig tts/y-->8<!--/fig-->', '```',
    'Broken: <!--fig tts/one_sentence_rtf 0.17<!--/fig-->.',
    'Text: <!--fig melody/best_baseline_name-->bigram<!--/fig-->',
    '',
])


def _tree(tmp_path, monkeypatch):
    """A repository-like tree: results for tts, voice_commands and melody, a README quoting them
    and a notebook with a quote in a Markdown cell (and one in a code cell, which is not prose)."""
    _quiet(monkeypatch)
    _write(tmp_path, 'tts', {'one_sentence_rtf': (0.1734, '.2f', {'kind': 'time'}),
                             'decoder_speedup': (14.24, None, {})})
    _write(tmp_path, 'voice_commands', {'test_accuracy': (0.8791, '.3f', {'std': 0.0061, 'n': 2})})
    r = results.Results('melody', out_dir=tmp_path / 'benchmarks' / 'results', argv=['b.py'])
    r.add('best_baseline_name', 'previous label and position in the bar', '', data='175 held-out tunes')
    r.save()
    (tmp_path / 'README.md').write_text(MARKDOWN, encoding='utf-8')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell('| CPU | <!--fig voice_commands/test_accuracy-->0.9<!--/fig--> ± '
                                      '<!--fig voice_commands/test_accuracy.std .3f-->0.006<!--/fig--> |\n'
                                      'second line'),
        nbformat.v4.new_code_cell('print("<!--fig tts/decoder_speedup-->1<!--/fig-->")'),
    ]
    for n, cell in enumerate(notebook.cells):
        cell['id'] = f'cell-{n}'
    (tmp_path / 'notebooks').mkdir()
    nbformat.write(notebook, tmp_path / 'notebooks' / '01_x.ipynb')
    return tmp_path


def _by_kind(problems):
    found = {}
    for p in problems:
        found.setdefault(p['kind'], []).append((p['where'], p['ref']))
    return found


def test_check_reports_each_wrong_unknown_and_broken_quote(tmp_path, monkeypatch):
    root = _tree(tmp_path, monkeypatch)
    problems, count = results.quote_problems(root)
    kinds = _by_kind(problems)
    assert sorted(kinds) == ['differs', 'marker', 'unknown']
    assert sorted(kinds['differs']) == [('README.md', 'melody/best_baseline_name'),
                                        ('README.md', 'tts/decoder_speedup'),
                                        ('notebooks/01_x.ipynb cell 0', 'voice_commands/test_accuracy')]
    assert sorted(ref for _, ref in kinds['unknown']) == ['nobench/x', 'tts/no_such_key',
                                                          'tts/one_sentence_rtf.high']
    assert kinds['marker'] == [('README.md', '?'), ('README.md', '?')]  # the opening, and its orphan closing
    assert count == 9  # README: 8 well-formed quotes outside code; notebook: 2 in Markdown (not the code cell)
    messages = {p['ref']: p['message'] for p in problems}
    assert "says '115', its results file '14.2'" in messages['tts/decoder_speedup']
    assert 'no results file nobench.json' in messages['nobench/x']
    assert "no figure 'no_such_key'" in messages['tts/no_such_key']
    assert "no field 'high'" in messages['tts/one_sentence_rtf.high']
    # the string form: one line each, naming file and figure
    lines, _ = results.check_quotes(root)
    assert 'README.md: tts/decoder_speedup: says' in '\n'.join(lines)


def test_quote_rewrites_prose_from_the_results_and_nothing_else(tmp_path, monkeypatch):
    root = _tree(tmp_path, monkeypatch)
    notebook_before = nbformat.read(root / 'notebooks' / '01_x.ipynb', as_version=4)
    problems, _ = results.quote_problems(root, write=True)
    assert 'differs' not in _by_kind(problems)  # mended; unknown and broken ones are left to a person
    text = (root / 'README.md').read_text(encoding='utf-8')
    assert 'Right: <!--fig tts/one_sentence_rtf-->0.17<!--/fig-->' in text  # the figure's own format
    assert '<!--fig voice_commands/test_accuracy.std .3f-->0.006<!--/fig-->' in text
    assert '<!--fig tts/decoder_speedup .1f-->14.2<!--/fig-->x.' in text
    assert '<!--fig melody/best_baseline_name-->previous label and position in the bar<!--/fig-->' in text
    assert '`<!--fig tts/x-->7<!--/fig-->`' in text and '<!--fig tts/y-->8<!--/fig-->' in text
    assert text.replace('14.2', '115').replace('previous label and position in the bar', 'bigram') == MARKDOWN
    notebook = nbformat.read(root / 'notebooks' / '01_x.ipynb', as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].source == notebook_before.cells[0].source.replace(
        'test_accuracy-->0.9<', 'test_accuracy-->0.879<')
    assert notebook.cells[1].source == notebook_before.cells[1].source
    assert [c['id'] for c in notebook.cells] == ['cell-0', 'cell-1']
    again, _ = results.quote_problems(root)
    assert 'differs' not in _by_kind(again)


def test_quotes_of_busy_times_and_quick_runs_are_reported(tmp_path, monkeypatch):
    clock = _quiet(monkeypatch)
    r = results.Results('tts', out_dir=tmp_path / 'benchmarks' / 'results', argv=['b.py'])
    r.add('one_sentence_rtf', 0.2, 'x real time', data='one sentence', kind='time', format='.1f')
    r.add('decoder_speedup', 14.0, 'x', data='210 steps', kind='ratio', format='.0f')
    clock['busy'] += 1000.0
    r.save()
    quick = results.Results('melody', quick=True, out_dir=tmp_path / 'benchmarks' / 'results', argv=['b.py'])
    quick.add('bundle_nats_per_step', -1.1, 'nats/step', data='3 tunes', format='.1f')
    quick.save()
    (tmp_path / 'README.md').write_text('<!--fig tts/one_sentence_rtf-->0.2<!--/fig--> '
                                        '<!--fig tts/decoder_speedup-->14<!--/fig--> '
                                        '<!--fig tts/one_sentence_rtf.data-->one sentence<!--/fig--> '
                                        '<!--fig melody/bundle_nats_per_step-->-1.1<!--/fig-->\n')
    problems, count = results.quote_problems(tmp_path)
    assert count == 4  # the busy time's data is not a time: quoting it is fine
    assert _by_kind(problems) == {'busy': [('README.md', 'tts/one_sentence_rtf')],
                                  'quick': [('README.md', 'melody/bundle_nats_per_step')]}


def test_the_command_line_exits_non_zero_and_groups_the_problems(tmp_path, monkeypatch):
    root = _tree(tmp_path, monkeypatch)
    run = lambda *a: subprocess.run([sys.executable, str(SCRIPT), *a, '--root', str(root)],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    check = run('check')
    assert check.returncode == 1
    assert '3 quotes that differ from their results file' in check.stdout
    assert '3 quotes of figures no results file holds' in check.stdout
    assert '2 quote markers that do not parse' in check.stdout
    assert check.stdout.strip().endswith('9 quoted figures, 8 problems')
    quote = run('quote')
    assert quote.returncode == 1 and 'differ' not in quote.stdout  # the unknown ones are still there
    assert quote.stdout.startswith('3 quotes rewritten in README.md, notebooks/01_x.ipynb\n'), quote.stdout
    (root / 'README.md').write_text('Only <!--fig tts/decoder_speedup .1f-->115<!--/fig-->.\n')
    nbformat.write(nbformat.v4.new_notebook(), root / 'notebooks' / '01_x.ipynb')
    assert run('check').returncode == 1
    assert run('quote').returncode == 0
    fixed = run('check')
    assert fixed.returncode == 0 and fixed.stdout.strip() == '1 quoted figures, 0 problems'
    show = run('show')
    assert show.returncode == 0 and 'tts/decoder_speedup = 14.24 x' in show.stdout


def test_an_invalid_results_file_stops_the_check_with_its_name(tmp_path):
    (tmp_path / 'benchmarks' / 'results').mkdir(parents=True)
    (tmp_path / 'benchmarks' / 'results' / 'tts.json').write_text('{}')
    done = subprocess.run([sys.executable, str(SCRIPT), 'check', '--root', str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and 'tts.json' in done.stderr and 'schema' in done.stderr


# ---------------------------------------------------------------------------------------------
# This repository
# ---------------------------------------------------------------------------------------------
def test_every_results_file_in_the_repository_is_sound():
    files = sorted(results.RESULTS_DIR.glob('*.json'))
    for path in files:
        doc = results.load(path)  # raises with the file's name and every problem
        assert doc['benchmark'] == path.stem, f'{path.name} holds benchmark {doc["benchmark"]!r}'
        quick = [run_id for run_id, run in doc['runs'].items() if run.get('quick')]
        assert not quick, f'{path.name}: quick runs {quick} belong in outputs/bench-quick, not here'
    assert not list(results.RESULTS_DIR.glob('*.part')), 'a half-written results file was left behind'


def _repository_problems(kinds):
    problems, count = results.quote_problems(REPO_ROOT)
    return [p for p in problems if p['kind'] in kinds], count


def test_every_quoted_figure_in_the_repository_matches_its_results_file():
    """The test that fails when prose and its source drift apart: a quote that differs, quotes a
    busy machine's time or a quick run, or a marker that does not parse."""
    problems, count = _repository_problems({'differs', 'busy', 'quick', 'marker'})
    assert not problems, results.report(problems, count)


def test_every_quoted_figure_in_the_repository_has_a_results_entry():
    """Fails, naming each figure, until the benchmark that writes it has run (`make bench`)."""
    problems, count = _repository_problems({'unknown'})
    missing = sorted({p['ref'].split('/')[0] for p in problems if 'no results file' in p['message']})
    assert not problems, (f'{len(problems)} of {count} quoted figures have no results entry yet'
                          f' (missing files: {", ".join(f"benchmarks/results/{m}.json" for m in missing) or "none"};'
                          ' run `make bench`, see benchmarks/README.md)\n' + results.report(problems, count))
