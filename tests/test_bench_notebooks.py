"""benchmarks/bench_notebooks.py: the environment a timed run gets, CPU time of what a command
started, and what is written when `make test` passes, fails or stops. (A real run is
`bench_notebooks.py --quick`, which `make bench-quick` runs in CI.)"""
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))
import bench_notebooks  # noqa: E402

sys.path.remove(str(REPO_ROOT / 'benchmarks'))


def test_the_notebooks_settings_are_removed_and_the_rest_kept(monkeypatch):
    for name in ('COOKBOOK_FAST', 'COOKBOOK_OUTPUT_DIR', 'SPEECH_COMMANDS_DIR', 'SPEECH_COMMANDS_EPOCHS',
                 'LJSPEECH_DIR', 'DCTTS_SSRN', 'TTS_TRAIN_STEPS', 'WAVEGAN_MODEL', 'MELODY_BUNDLE', 'SEED',
                 'MAKEFLAGS'):
        monkeypatch.setenv(name, 'x')
    monkeypatch.setenv('PATH_LIKE_SEED', 'kept')
    env = bench_notebooks.clean_environment(COOKBOOK_OFFLINE='1')
    assert env['COOKBOOK_OFFLINE'] == '1' and env['PATH'] and env['PATH_LIKE_SEED'] == 'kept'
    assert not [k for k in env if k.startswith(('COOKBOOK_FAST', 'SPEECH_', 'LJSPEECH', 'DCTTS', 'TTS_',
                                                 'WAVEGAN', 'MELODY', 'MAKEFLAGS')) or k == 'SEED']


def test_cpu_time_counts_the_commands_children(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_notebooks, 'LOG_DIR', tmp_path / 'logs')
    monkeypatch.setattr(bench_notebooks, 'REPO_ROOT', tmp_path)
    spin = ('import subprocess, sys; subprocess.run([sys.executable, "-c", "import time\\n'
            'end = time.process_time() + 0.4\\nwhile time.process_time() < end: pass"]); print("done")')
    wall, cpu, code, tail = bench_notebooks.timed('spin', [sys.executable, '-c', spin], tmp_path, None)
    assert code == 0 and tail == ['done']
    assert cpu >= 0.35 and wall >= 0.35  # the grandchild's CPU time, not only the child's
    assert (tmp_path / 'logs' / 'spin.log').read_text().strip() == 'done'


def test_a_timeout_stops_the_command_and_what_it_started(tmp_path, monkeypatch):
    psutil = pytest.importorskip('psutil')
    monkeypatch.setattr(bench_notebooks, 'LOG_DIR', tmp_path / 'logs')
    monkeypatch.setattr(bench_notebooks, 'REPO_ROOT', tmp_path)
    pid_file = tmp_path / 'grandchild.pid'
    code = (f'import subprocess, sys; p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]); '
            f'open({str(pid_file)!r}, "w").write(str(p.pid)); p.wait()')
    wall, cpu, status, _ = bench_notebooks.timed('hang', [sys.executable, '-c', code], tmp_path, None, timeout=3)
    assert status == 'timeout after 3 s' and wall < 30
    grandchild = int(pid_file.read_text())
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


@pytest.fixture
def fake_runs(tmp_path, monkeypatch):
    """Bench with no clone and no command: `timed` answers with what the test says."""
    answers = {}

    @contextmanager
    def fake_clone(own_venv=False, keep=False):
        class C:
            path, commit = tmp_path, 'abc123'
        yield C()

    monkeypatch.setattr(bench_notebooks, 'Clone', fake_clone)
    monkeypatch.setattr(bench_notebooks, 'timed', lambda name, command, cwd, env, timeout=None: answers[name])
    monkeypatch.setenv('COOKBOOK_RESULTS_DIR', str(tmp_path / 'results'))
    return answers, tmp_path / 'results' / 'notebook_runs.json'


def test_a_passing_make_test_is_written_with_its_summary(fake_runs):
    answers, path = fake_runs
    answers['test'] = (300.0, 500.0, 0, ['== 640 passed, 2 skipped in 290.00s =='])
    assert bench_notebooks.main(['--test']) == 0
    figures = json.loads(path.read_text())['figures']
    assert figures['test_seconds']['value'] == 300.0 and figures['test_seconds']['kind'] == 'time'
    assert figures['test_seconds']['pytest'] == '640 passed, 2 skipped in 290.00s'
    assert figures['test_cpu_seconds']['kind'] == 'cpu_time'
    assert 'deselected' in figures['test_seconds']['data']


def test_failing_tests_are_written_with_the_failures_named_and_a_failing_exit(fake_runs, capsys):
    answers, path = fake_runs
    answers['test'] = (300.0, 500.0, 2, ['== 1 failed, 639 passed in 290.00s =='])
    assert bench_notebooks.main(['--test']) == 1
    assert json.loads(path.read_text())['figures']['test_seconds']['pytest'] == '1 failed, 639 passed in 290.00s'
    assert 'FAILED' in capsys.readouterr().out


def test_a_run_that_stopped_early_writes_nothing(fake_runs):
    answers, path = fake_runs
    answers['test'] = (3.0, 1.0, 2, ['make: *** [Makefile:30: setup] Error 1'])
    answers['run_03'] = (3.0, 1.0, 1, ['[run] 03_melody_generation.ipynb: FAILED'])
    assert bench_notebooks.main(['--test', '--run', '3']) == 1
    assert not path.exists()


def test_options_are_checked(capsys):
    with pytest.raises(SystemExit):
        bench_notebooks.main([])
    assert 'say what to measure' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_notebooks.main(['--run', '9'])
    assert 'no notebook numbered 09' in capsys.readouterr().err
