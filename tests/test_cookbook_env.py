"""cookbook.env: settings from the environment, paths, device, seeding, notices, Colab set-up."""
import importlib.util
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import cookbook


# ------------------------------------------------------------------------------ environment

def test_import_is_light():
    code = ('import sys, cookbook; heavy = [m for m in ("torch", "tensorflow", "librosa", '
            '"matplotlib") if m in sys.modules]; print(heavy)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(cookbook.__file__)), check=True)
    assert result.stdout.strip() == '[]'


def test_paths():
    assert (cookbook.REPO_ROOT / 'notebooks' / 'cookbook' / '__init__.py').is_file()
    assert cookbook.DATA_DIR == cookbook.REPO_ROOT / 'data'
    assert cookbook.SAMPLES_DIR == cookbook.DATA_DIR / 'samples'
    assert cookbook.CHECKPOINT_DIR == cookbook.REPO_ROOT / 'checkpoints'
    # its value is checked against every copy in the repository by tests/test_repo_url.py
    assert re.fullmatch(r'https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+', cookbook.REPO_URL)


@pytest.mark.parametrize('value, expected', [
    ('1', True), ('true', True), ('Yes', True), ('ON', True),
    ('0', False), ('false', False), ('no', False), ('off', False)])
def test_env_bool(monkeypatch, value, expected):
    monkeypatch.setenv('CB_TEST', value)
    assert cookbook.env_bool('CB_TEST', not expected) is expected


def test_env_defaults_when_unset_or_blank(monkeypatch):
    monkeypatch.delenv('CB_TEST', raising=False)
    assert cookbook.env_int('CB_TEST', 7) == 7
    assert cookbook.env_float('CB_TEST', 0.5) == 0.5
    assert cookbook.env_bool('CB_TEST', True) is True
    assert cookbook.env_str('CB_TEST', 'x') == 'x'
    assert cookbook.env_list('CB_TEST', ['a', 'b']) == ['a', 'b']
    monkeypatch.setenv('CB_TEST', '  ')
    assert cookbook.env_int('CB_TEST', 7) == 7


def test_env_values(monkeypatch):
    monkeypatch.setenv('CB_TEST', '12')
    assert cookbook.env_int('CB_TEST', 0) == 12 and cookbook.env_float('CB_TEST', 0) == 12.0
    monkeypatch.setenv('CB_TEST', ' bed, bird ,tree ')
    assert cookbook.env_list('CB_TEST', []) == ['bed', 'bird', 'tree']
    assert cookbook.env_str('CB_TEST', None) == 'bed, bird ,tree'


@pytest.mark.parametrize('helper, value', [
    (cookbook.env_int, '3.5'), (cookbook.env_int, 'ten'), (cookbook.env_float, 'fast'),
    (cookbook.env_float, 'nan'), (cookbook.env_bool, 'maybe'), (cookbook.env_list, 'a,,b')])
def test_env_bad_values_name_variable_and_value(monkeypatch, helper, value):
    monkeypatch.setenv('CB_TEST', value)
    with pytest.raises(ValueError) as info:
        helper('CB_TEST', None)
    assert 'CB_TEST' in str(info.value) and repr(value) in str(info.value)


def test_fast_and_network_switches(monkeypatch):
    monkeypatch.delenv('COOKBOOK_FAST', raising=False)
    monkeypatch.delenv('COOKBOOK_OFFLINE', raising=False)
    assert not cookbook.is_fast() and cookbook.network_allowed()
    monkeypatch.setenv('COOKBOOK_FAST', '1')
    assert cookbook.is_fast() and not cookbook.network_allowed()
    monkeypatch.setenv('COOKBOOK_FAST', '0')
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    assert not cookbook.is_fast() and not cookbook.network_allowed()


def test_is_colab(monkeypatch):
    monkeypatch.delenv('COLAB_RELEASE_TAG', raising=False)
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    assert not cookbook.is_colab()
    monkeypatch.setitem(sys.modules, 'google.colab', types.ModuleType('google.colab'))
    assert cookbook.is_colab()


def test_output_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('COOKBOOK_OUTPUT_DIR', str(tmp_path / 'custom'))
    path = cookbook.output_dir('tts', 'wavs')
    assert path == tmp_path / 'custom' / 'tts' / 'wavs' and path.is_dir()
    monkeypatch.delenv('COOKBOOK_OUTPUT_DIR')
    monkeypatch.setattr(cookbook.env, 'REPO_ROOT', tmp_path / 'repo')
    assert cookbook.output_dir('melody') == tmp_path / 'repo' / 'outputs' / 'melody'
    assert (tmp_path / 'repo' / 'outputs' / 'melody').is_dir()


def test_relative_output_dir_is_taken_from_the_repository_root(monkeypatch, tmp_path):
    monkeypatch.setattr(cookbook.env, 'REPO_ROOT', tmp_path / 'repo')
    monkeypatch.chdir(tmp_path)  # a kernel started elsewhere (nbval starts it in notebooks/)
    monkeypatch.setenv('COOKBOOK_OUTPUT_DIR', 'outputs/mine')
    assert cookbook.output_dir('tts') == tmp_path / 'repo' / 'outputs' / 'mine' / 'tts'


def test_describe_device_prints_once(monkeypatch, capsys):
    monkeypatch.setattr(cookbook.env, '_device_description', None)
    first = cookbook.describe_device()
    second = cookbook.describe_device()
    out = capsys.readouterr().out
    assert first == second and ('CPU' in first or 'GPU' in first)
    assert out.count('Device:') == 1 and first in out


def test_torch_device():
    torch = pytest.importorskip('torch')
    assert cookbook.torch_device().type == ('cuda' if torch.cuda.is_available() else 'cpu')


def test_seed_everything_repeats_draws():
    torch = pytest.importorskip('torch')
    draws = []
    for _ in range(2):
        assert cookbook.seed_everything(123) == 123
        draws.append((__import__('random').random(), np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]
    cookbook.seed_everything(124)
    assert np.random.rand() != draws[0][1]


def test_seed_everything_seeds_loaded_tensorflow_and_keras(monkeypatch):
    """Frameworks already imported are seeded (fakes here: importing TensorFlow takes seconds)."""
    seeds = []
    fake_tf = types.SimpleNamespace(random=types.SimpleNamespace(
        set_seed=lambda s: seeds.append(('tf', s))))
    fake_keras = types.SimpleNamespace(utils=types.SimpleNamespace(
        set_random_seed=lambda s: seeds.append(('keras', s))))
    monkeypatch.setitem(sys.modules, 'tensorflow', fake_tf)
    monkeypatch.setitem(sys.modules, 'keras', fake_keras)
    cookbook.seed_everything(7)
    assert sorted(seeds) == [('keras', 7), ('tf', 7)]


def test_describe_device_asks_tensorflow_when_only_it_is_loaded(monkeypatch, capsys):
    gpu = types.SimpleNamespace(name='/physical_device:GPU:0')
    fake_tf = types.SimpleNamespace(config=types.SimpleNamespace(
        list_physical_devices=lambda kind: [gpu] if kind == 'GPU' else []))
    monkeypatch.setitem(sys.modules, 'tensorflow', fake_tf)
    monkeypatch.delitem(sys.modules, 'torch', raising=False)
    monkeypatch.setattr(cookbook.env, '_device_description', None)
    assert cookbook.describe_device() == 'GPU (TensorFlow): 1 device(s): /physical_device:GPU:0'
    assert 'GPU (TensorFlow)' in capsys.readouterr().out


def test_notice_plain(capsys, monkeypatch):
    monkeypatch.setattr(cookbook.env, '_in_jupyter', lambda: False)
    cookbook.notice('Using the sample data.')
    assert capsys.readouterr().out == 'NOTICE: Using the sample data.\n'


def test_notice_in_jupyter_is_markdown(monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(cookbook.env, '_in_jupyter', lambda: True)
    monkeypatch.setattr(IPython.display, 'display', lambda obj, **kw: shown.append((obj, kw)))
    cookbook.notice('Offline: falling back\nto samples.')
    (bundle, kwargs), = shown
    assert kwargs == {'raw': True}
    assert bundle['text/markdown'].startswith('> **Notice**')
    assert '> Offline: falling back\n> to samples.' in bundle['text/markdown']
    assert bundle['text/plain'] == 'NOTICE: Offline: falling back\nto samples.'


# ------------------------------------------------------------------------------ colab_setup

@pytest.fixture
def fake_run(monkeypatch):
    """Record subprocess.run calls; dpkg reports only 'sox' as installed."""
    calls = []

    def run(command, **kwargs):
        calls.append(list(command))
        if command[0] == 'dpkg-query':
            installed = command[-1] == 'sox'
            return subprocess.CompletedProcess(command, 0 if installed else 1,
                                               'install ok installed' if installed else '', '')
        return subprocess.CompletedProcess(command, 0, '', '')

    monkeypatch.setattr(cookbook.env.subprocess, 'run', run)
    return calls


def test_colab_setup_is_a_no_op_outside_colab(monkeypatch, fake_run):
    monkeypatch.setattr(cookbook.env, 'is_colab', lambda: False)
    assert cookbook.colab_setup(['surely_missing_pkg'], ['fluidsynth'], magenta=True) == []
    assert fake_run == []


KEPT_VERSIONS = {'tensorflow': '2.20.0', 'keras': '3.13.2', 'tf_keras': '2.20.1',
                 'torch': '2.11.0+cu128', 'numpy': '2.1.3', 'protobuf': '5.29.6'}


@pytest.fixture
def colab(monkeypatch, tmp_path):
    """Pretend to be in Colab with Colab's versions of the kept packages; no real installs."""
    monkeypatch.setattr(cookbook.env, 'is_colab', lambda: True)
    versions = dict(KEPT_VERSIONS)
    monkeypatch.setattr(cookbook.env, '_installed_version', lambda name: versions.get(name))
    monkeypatch.setattr(cookbook.env, '_kept_constraints_path',
                        lambda: tmp_path / 'cookbook-colab-constraints.txt')
    return versions


def test_colab_setup_installs_only_what_is_missing_pinned_and_held(monkeypatch, fake_run, capsys,
                                                                   colab, tmp_path):
    monkeypatch.delenv('TF_USE_LEGACY_KERAS', raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name in ('magenta', 'surely_missing_pkg', 'missing_mod',
                                                          'pretty_midi', 'fluidsynth') else real_find_spec(name))
    commands = cookbook.colab_setup(
        pip_packages=['numpy', 'surely_missing_pkg', 'soundfile>=0.12',
                      'missing_mod:some-dist==1.0', 'IPython:ipython',
                      'pretty_midi:pretty_midi>=0.2.11', 'fluidsynth:pyfluidsynth'],
        apt_packages=['sox', 'fluidsynth'], magenta=True)
    constraints = tmp_path / 'cookbook-colab-constraints.txt'
    pip = [sys.executable, '-m', 'pip', 'install', '-q']
    # bare or ranged specs take requirements.txt's tested version; exact pins stay as written
    expected = [pip + ['-c', str(constraints), 'surely_missing_pkg', 'some-dist==1.0',
                       'pretty_midi==0.2.11.post0', 'pyfluidsynth==1.4.0'],
                ['apt-get', 'update', '-qq'],
                ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'fluidsynth'],
                pip + ['--no-deps', 'magenta==2.1.4']]
    assert commands == expected
    assert [c for c in fake_run if c[0] != 'dpkg-query'] == expected
    assert constraints.read_text().split() == [
        'tensorflow==2.20.0', 'keras==3.13.2', 'tf_keras==2.20.1', 'torch==2.11.0+cu128',
        'numpy==2.1.3', 'protobuf==5.29.6']
    assert os.environ['TF_USE_LEGACY_KERAS'] == '1'
    assert '$ apt-get install -y -qq --no-install-recommends fluidsynth' in capsys.readouterr().out


def test_colab_setup_holds_only_the_kept_packages_that_are_installed(monkeypatch, fake_run, colab,
                                                                     tmp_path):
    del colab['torch'], colab['tf_keras']  # e.g. a runtime without them
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None)
    cookbook.colab_setup(['num2words==0.5.14'])
    assert (tmp_path / 'cookbook-colab-constraints.txt').read_text().split() == [
        'tensorflow==2.20.0', 'keras==3.13.2', 'numpy==2.1.3', 'protobuf==5.29.6']
    assert fake_run[-1][-3:] == ['-c', str(tmp_path / 'cookbook-colab-constraints.txt'),
                                 'num2words==0.5.14']


def test_colab_setup_refuses_an_installed_package_too_old_for_our_calls(monkeypatch, fake_run,
                                                                        colab):
    """A pre-installed pretty_midi 0.2.10 has no fluidsynth(synthesizer=...): say so, change nothing."""
    colab['pretty_midi'] = '0.2.10'
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: object() if name == 'pretty_midi' else real_find_spec(name))
    with pytest.raises(RuntimeError) as info:
        cookbook.colab_setup(['pretty_midi:pretty_midi>=0.2.11', 'surely_missing_pkg'])
    message = str(info.value)
    assert 'pretty_midi 0.2.10 is installed' in message and 'pretty_midi>=0.2.11' in message
    assert 'pip install "pretty_midi==0.2.11.post0"' in message and 'Restart session' in message
    assert fake_run == []  # nothing installed, nothing upgraded


def test_colab_setup_too_old_kept_package_is_named_as_colabs(monkeypatch, fake_run, colab):
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: object())
    with pytest.raises(RuntimeError, match=r'tf_keras 2\.20\.1 is installed \(one of the packages Colab'):
        cookbook.colab_setup(['tf_keras>=2.21'])
    assert fake_run == []


def test_colab_setup_installed_and_new_enough_runs_nothing(monkeypatch, fake_run, colab):
    colab['pretty_midi'] = '0.2.11.post0'
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: object())
    assert cookbook.colab_setup(['pretty_midi:pretty_midi>=0.2.11', 'tf_keras', 'numpy>=2']) == []
    assert fake_run == []


@pytest.mark.parametrize('spec, expected', [
    ('verovio', 'verovio==6.4.1'),                            # bare: the tested version
    ('pretty_midi>=0.2.11', 'pretty_midi==0.2.11.post0'),     # a range the tested version meets
    ('pretty_midi<0.2', 'pretty_midi<0.2'),                   # a range it does not meet: as written
    ('note-seq==0.0.4', 'note-seq==0.0.4'),                   # an exact pin: as written
    ('surely-unknown-pkg', 'surely-unknown-pkg'),             # not in requirements.txt
    ('Pretty-MIDI', 'Pretty-MIDI==0.2.11.post0'),             # names compared as PEP 503 names
])
def test_pinned_takes_the_tested_version_when_the_spec_allows(spec, expected):
    assert cookbook.env._pinned(spec, cookbook.env._project_pins()) == expected


def test_project_pins_read_requirements():
    pins = cookbook.env._project_pins()
    assert pins['tensorflow'] and pins['pretty-midi'] and pins['nbval']
    assert all('==' not in v and ' ' not in v for v in pins.values())


def test_colab_setup_failed_install_says_what_pip_was_held_to(monkeypatch, colab):
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None)

    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, '', 'ResolutionImpossible: numpy>=2.4 wanted')

    monkeypatch.setattr(cookbook.env.subprocess, 'run', run)
    with pytest.raises(RuntimeError, match=r'(?s)held to the installed tensorflow==2\.20\.0.*numpy==2\.1\.3'
                                           r'.*ResolutionImpossible'):
        cookbook.colab_setup(['needs-new-numpy==1.0'])


def test_colab_setup_nothing_missing_runs_nothing(monkeypatch, fake_run, colab):
    assert cookbook.colab_setup(['numpy', 'soundfile'], ['sox']) == []
    assert all(c[0] == 'dpkg-query' for c in fake_run)


# --- gpu_available ---------------------------------------------------------------------------

def test_gpu_available_without_nvidia_smi(monkeypatch):
    monkeypatch.delitem(sys.modules, 'torch', raising=False)
    monkeypatch.setattr(cookbook.env.shutil, 'which', lambda name: None)
    assert cookbook.gpu_available() is False


def test_gpu_available_asks_nvidia_smi(monkeypatch):
    monkeypatch.delitem(sys.modules, 'torch', raising=False)
    monkeypatch.setattr(cookbook.env.shutil, 'which', lambda name: '/usr/bin/' + name)
    answers = {'listing': 'GPU 0: NVIDIA H100 (UUID: GPU-1234)\n', 'rc': 0}

    def fake_run(cmd, **kwargs):
        assert cmd == ['nvidia-smi', '-L']
        return subprocess.CompletedProcess(cmd, answers['rc'], stdout=answers['listing'], stderr='')

    monkeypatch.setattr(cookbook.env.subprocess, 'run', fake_run)
    assert cookbook.gpu_available() is True
    answers.update(rc=9, listing='')  # driver installed but no device: nvidia-smi fails
    assert cookbook.gpu_available() is False


# --- quiet_tensorflow and failing set-up steps ---------------------------------------------------

@pytest.mark.parametrize('gpu, level', [(False, '3'), (True, '2')])
def test_quiet_tensorflow_hides_cpu_start_up_log(monkeypatch, gpu, level):
    monkeypatch.delenv('TF_CPP_MIN_LOG_LEVEL', raising=False)
    monkeypatch.setattr(cookbook.env, 'gpu_available', lambda: gpu)
    cookbook.quiet_tensorflow(import_now=False)
    assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == level


def test_quiet_tensorflow_keeps_a_level_the_user_chose(monkeypatch):
    monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '0')
    cookbook.quiet_tensorflow(import_now=False)
    assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '0'


def test_quiet_tensorflow_imports_tensorflow_without_a_line_on_stderr():
    pytest.importorskip('tensorflow')
    script = ('import sys; sys.path.insert(0, sys.argv[1]); import cookbook\n'
              'cookbook.quiet_tensorflow()\n'
              'assert "tensorflow" in sys.modules\n')
    environment = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    done = subprocess.run([sys.executable, '-c', script, str(cookbook.REPO_ROOT / 'notebooks')],
                          capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ''


def test_quiet_native_logs_hides_file_descriptor_2_only_inside_the_block(tmp_path):
    # C++ libraries write to fd 2 directly, past sys.stderr: check it in a fresh process
    script = (
        'import os, sys; sys.path.insert(0, sys.argv[1]); import cookbook\n'
        'os.write(2, b"before\\n")\n'
        'with cookbook.quiet_native_logs():\n'
        '    os.write(2, b"hidden native line\\n")\n'
        '    print("python output still shows")\n'
        'os.write(2, b"after\\n")\n')
    done = subprocess.run([sys.executable, '-c', script, str(cookbook.REPO_ROOT / 'notebooks')],
                          capture_output=True, text=True, check=True)
    assert done.stderr.split() == ['before', 'after']
    assert 'python output still shows' in done.stdout


def test_quiet_native_logs_lets_exceptions_through_and_restores_stderr():
    with pytest.raises(RuntimeError, match='boom'):
        with cookbook.quiet_native_logs():
            raise RuntimeError('boom')
    os.fstat(2)  # fd 2 is open again


def test_colab_setup_failing_step_names_command_and_shows_its_output(monkeypatch, colab):
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None)

    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, '', 'ERROR: No matching distribution found for nopkg')

    monkeypatch.setattr(cookbook.env.subprocess, 'run', run)
    with pytest.raises(RuntimeError, match=r'(?s)exit 1.*pip install -q -c \S+ nopkg.*No matching distribution'):
        cookbook.colab_setup(['nopkg'])
