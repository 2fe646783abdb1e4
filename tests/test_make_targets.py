"""The Makefile and CI name only what exists: every script, file and folder the main targets
would run or read is in the repository; `make bench` and `make bench-quick` run every benchmark
script, the quick runs write outside benchmarks/results/, and every CI job is a Makefile target."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGETS = ['setup', 'run', 'fast', 'test', 'setup-colab', 'test-colab', 'lab', 'bench', 'bench-quick',
           'clean', 'clean-data']
BENCHMARKS = sorted(p.name for p in (REPO_ROOT / 'benchmarks').glob('bench_*.py'))
pytestmark = pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')


def dry_run(*targets):
    """What `make -n` would run, with the repository's absolute path written as a relative one."""
    done = subprocess.run(['make', '-n', '--no-print-directory', *targets], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.replace(str(REPO_ROOT) + '/', '')


def test_every_path_the_targets_name_exists():
    commands = dry_run(*TARGETS)
    named = set(re.findall(r'(?<![\w$/.{-])((?:\.?[\w-]+/)*[\w.-]+\.(?:py|sh|txt|ipynb))\b', commands))
    named |= set(re.findall(r'(?<![\w$/{])((?:\.ci|scripts|benchmarks|notebooks|data/samples)/[\w./-]*)', commands))
    created = {'.venv/bin/python', '.venv-colab/bin/python', '.venv/bin/jupyter'}
    missing = sorted(p for p in named - created if not (REPO_ROOT / p).exists() and not p.startswith('outputs/'))
    assert named, commands
    assert not missing, f'the Makefile names paths that do not exist: {missing}'


def test_bench_runs_every_benchmark_once_and_then_quotes():
    commands = dry_run('bench')
    for script in BENCHMARKS:
        assert f'benchmarks/{script}' in commands, f'make bench does not run {script}'
    assert commands.rstrip().splitlines()[-1].endswith('benchmarks/results.py quote')


def test_bench_quick_runs_every_benchmark_quick_outside_the_results_folder():
    commands = dry_run('bench-quick').replace('\\\n', ' ')
    lines = [line for line in commands.splitlines() if re.search(r'benchmarks/bench_\w+\.py', line)]
    ran = {re.search(r'benchmarks/(bench_\w+\.py)', line).group(1) for line in lines}
    assert ran == set(BENCHMARKS), f'make bench-quick runs {sorted(ran)}, there are {BENCHMARKS}'
    for line in lines:
        assert '--quick' in line, line
        assert 'COOKBOOK_RESULTS_DIR=outputs/bench-quick' in line, line


def test_every_ci_job_is_a_make_target():
    jobs = re.findall(r'^job ([\w-]+)$', (REPO_ROOT / '.ci' / 'run').read_text(), re.M)
    assert 'bench-quick' in jobs and 'test' in jobs
    dry_run(*jobs)
