"""cookbook: environment, Colab set-up, notices, audio display, atomic writes, notebook import."""
import importlib.util
import os
import subprocess
import sys
import types

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import soundfile as sf

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
    assert cookbook.REPO_URL == 'https://github.com/audio-cookbook/audio-cookbook'


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


def test_colab_setup_installs_only_what_is_missing(monkeypatch, fake_run, capsys):
    monkeypatch.setattr(cookbook.env, 'is_colab', lambda: True)
    monkeypatch.delenv('TF_USE_LEGACY_KERAS', raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name in ('magenta', 'surely_missing_pkg',
                                                          'missing_mod') else real_find_spec(name))
    commands = cookbook.colab_setup(
        pip_packages=['numpy', 'surely_missing_pkg', 'soundfile>=0.12',
                      'missing_mod:some-dist==1.0', 'IPython:ipython'],
        apt_packages=['sox', 'fluidsynth'], magenta=True)
    pip = [sys.executable, '-m', 'pip', 'install', '-q']
    expected = [pip + ['surely_missing_pkg', 'some-dist==1.0'],
                ['apt-get', 'update', '-qq'],
                ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'fluidsynth'],
                pip + ['--no-deps', 'magenta==2.1.4']]
    assert commands == expected
    assert [c for c in fake_run if c[0] != 'dpkg-query'] == expected
    assert os.environ['TF_USE_LEGACY_KERAS'] == '1'
    assert '$ apt-get install -y -qq --no-install-recommends fluidsynth' in capsys.readouterr().out


def test_colab_setup_nothing_missing_runs_nothing(monkeypatch, fake_run):
    monkeypatch.setattr(cookbook.env, 'is_colab', lambda: True)
    assert cookbook.colab_setup(['numpy', 'soundfile'], ['sox']) == []
    assert all(c[0] == 'dpkg-query' for c in fake_run)


# ------------------------------------------------------------------------------ notebooks

def _write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_code_cell if kind == 'code' else nbformat.v4.new_markdown_cell
        cell = make(source)
        if tags:
            cell.metadata['tags'] = tags
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


NOTEBOOK_CELLS = [
    ('markdown', '# Title', None),
    ('code', 'import math\nSCALE = 3\n\ndef triple(x):\n    return SCALE * x', ['library']),
    ('code', 'raise RuntimeError("untagged cells must not run")', None),
    ('code', 'raise RuntimeError("parameters cells must not run")', ['parameters']),
    ('code', 'class Model:\n    size = triple(2)\nROOT = math.sqrt(16)', ['library', 'other']),
]


def test_import_notebook_code_runs_only_library_cells(tmp_path):
    path = _write_notebook(tmp_path / '01_demo.ipynb', NOTEBOOK_CELLS)
    module = cookbook.import_notebook_code(path)
    try:
        assert module.triple(5) == 15 and module.Model.size == 6 and module.ROOT == 4.0
        assert module.__name__ == 'nb_01_demo' and sys.modules['nb_01_demo'] is module
        assert module.Model.__module__ == 'nb_01_demo'
    finally:
        sys.modules.pop('nb_01_demo', None)


def test_import_notebook_code_other_tag_runs_only_that_cell(tmp_path):
    """Only the cell tagged 'other' runs, so the name it borrows from a library cell is missing."""
    path = _write_notebook(tmp_path / 'demo.ipynb', NOTEBOOK_CELLS)
    with pytest.raises(NameError) as info:
        cookbook.import_notebook_code(path, tag='other', module_name='demo_other')
    assert 'demo.ipynb' in ''.join(getattr(info.value, '__notes__', []))
    assert 'demo_other' not in sys.modules


def test_import_notebook_code_finds_notebooks_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(cookbook.env, 'REPO_ROOT', tmp_path)
    (tmp_path / 'notebooks').mkdir()
    _write_notebook(tmp_path / 'notebooks' / 'nb.ipynb', NOTEBOOK_CELLS[:2])
    monkeypatch.chdir(tmp_path)
    module = cookbook.import_notebook_code('nb.ipynb', module_name='found_nb')
    sys.modules.pop('found_nb', None)
    assert module.triple(1) == 3


def test_import_notebook_code_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.ipynb'):
        cookbook.import_notebook_code(tmp_path / 'missing.ipynb')
    path = _write_notebook(tmp_path / 'empty.ipynb', NOTEBOOK_CELLS[2:4])
    with pytest.raises(ValueError, match="no code cells tagged 'library'"):
        cookbook.import_notebook_code(path)


# ------------------------------------------------------------------------------ atomic writes

def test_atomic_path_failure_leaves_nothing(tmp_path):
    target = tmp_path / 'out' / 'result.npy'
    with pytest.raises(RuntimeError):
        with cookbook.atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.suffix == '.npy' and tmp != target
            tmp.write_bytes(b'half written')
            raise RuntimeError('crash mid-write')
    assert not target.exists()
    assert list((tmp_path / 'out').iterdir()) == []


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / 'result.txt'
    target.write_text('old')
    with pytest.raises(KeyboardInterrupt):
        with cookbook.atomic_path(target) as tmp:
            tmp.write_text('new')
            raise KeyboardInterrupt
    assert target.read_text() == 'old' and sorted(tmp_path.iterdir()) == [target]


def test_atomic_path_success_and_empty_block(tmp_path):
    target = tmp_path / 'result.txt'
    with cookbook.atomic_path(target) as tmp:
        tmp.write_text('done')
    assert target.read_text() == 'done' and sorted(tmp_path.iterdir()) == [target]
    with pytest.raises(FileNotFoundError, match='nothing was written'):
        with cookbook.atomic_path(tmp_path / 'never.txt'):
            pass
    assert not (tmp_path / 'never.txt').exists()


def test_write_wav_float_to_pcm16(tmp_path):
    sr = 8000
    y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32) * 0.5
    y[0] = 2.0  # out of range: clipped
    path = cookbook.write_wav(tmp_path / 'tone.wav', y, sr)
    info = sf.info(path)
    assert info.samplerate == sr and info.subtype == 'PCM_16' and info.channels == 1
    back, _ = sf.read(path, dtype='int16')
    assert back[0] == 32767 and np.abs(back[1:] / 32767 - y[1:]).max() < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ['tone.wav']


def test_write_wav_stereo_and_tensor(tmp_path):
    torch = pytest.importorskip('torch')
    stereo = np.zeros((2, 100), dtype=np.float32)
    stereo[1] = 0.25
    assert sf.info(cookbook.write_wav(tmp_path / 's.wav', stereo, 16000)).channels == 2
    back, _ = sf.read(tmp_path / 's.wav')
    assert back.shape == (100, 2) and np.allclose(back[:, 1], 0.25, atol=1e-4)
    cookbook.write_wav(tmp_path / 't.wav', torch.zeros(50), 16000)
    assert sf.info(tmp_path / 't.wav').frames == 50


def test_write_wav_bad_input_and_crash_leave_nothing(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match='NaN'):
        cookbook.write_wav(tmp_path / 'bad.wav', np.array([0.0, np.nan]), 8000)

    def crash(path, *args, **kwargs):
        open(path, 'wb').write(b'RIFF partial')
        raise OSError('disk full')

    monkeypatch.setattr(sf, 'write', crash)
    with pytest.raises(OSError, match='disk full'):
        cookbook.write_wav(tmp_path / 'crash.wav', np.zeros(10), 8000)
    assert list(tmp_path.iterdir()) == []


def test_save_figure(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = cookbook.save_figure(fig, tmp_path / 'fig.png')
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['fig.png']

    def crash(target, **kwargs):
        open(target, 'wb').write(b'partial')
        raise RuntimeError('renderer failed')

    monkeypatch.setattr(fig, 'savefig', crash)
    with pytest.raises(RuntimeError):
        cookbook.save_figure(fig, tmp_path / 'other.png')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['fig.png']
    plt.close(fig)


# ------------------------------------------------------------------------------ audio display

@pytest.fixture
def displayed(monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, 'display', lambda obj, **kw: shown.append(obj))
    return shown


def _wav_frames(player):
    data = player.data
    assert data[:4] == b'RIFF'
    return (len(data) - 44) // 2  # 16-bit mono PCM after a 44-byte header


def _wav_rate(player):
    return int.from_bytes(player.data[24:28], 'little')


def test_play_audio_array(displayed):
    from IPython.display import Audio
    y = np.sin(np.linspace(0, 100, 4000)).astype(np.float32)
    player = cookbook.play_audio(y, 8000)
    assert displayed == [player] and isinstance(player, Audio)
    assert _wav_rate(player) == 8000 and _wav_frames(player) == 4000


def test_play_audio_truncates_long_audio(displayed, capsys):
    player = cookbook.play_audio(np.random.default_rng(0).uniform(-1, 1, 5000), 1000,
                                 max_seconds=2.0, title='Noise')
    out = capsys.readouterr().out
    assert 'first 2.0 s' in out and '5.0 s long' in out and 'Noise' in out
    assert _wav_frames(player) == 2000


def test_play_audio_short_audio_has_no_note(displayed, capsys):
    cookbook.play_audio(np.zeros(100), 1000)
    assert 'Note' not in capsys.readouterr().out


def test_play_audio_tensor_and_path(displayed, tmp_path):
    torch = pytest.importorskip('torch')
    assert _wav_frames(cookbook.play_audio(torch.linspace(-0.5, 0.5, 300), 16000)) == 300
    path = cookbook.write_wav(tmp_path / 'a.wav', np.full(1600, 0.1), 16000)
    player = cookbook.play_audio(path)
    assert _wav_rate(player) == 16000 and _wav_frames(player) == 1600
    assert len(displayed) == 2


def test_play_audio_bad_input(displayed, tmp_path):
    with pytest.raises(ValueError, match='sr'):
        cookbook.play_audio(np.zeros(10))
    with pytest.raises(ValueError, match='NaN'):
        cookbook.play_audio(np.array([0.0, np.inf]), 100)
    with pytest.raises(FileNotFoundError, match='nope.wav'):
        cookbook.play_audio(tmp_path / 'nope.wav')
    assert displayed == []


# ------------------------------------------------------------------------------ plots

@pytest.fixture
def tone():
    sr = 8000
    return np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32), sr


def test_plot_waveform(tone):
    y, sr = tone
    ax = cookbook.plot_waveform(y, sr, title='Tone')
    assert ax.get_title() == 'Tone' and ax.get_xlabel() == 'Time (s)'
    assert len(ax.collections) + len(ax.lines) > 0
    plt.close('all')


def test_plot_spectrogram_log_frequency(tone):
    y, sr = tone
    fig, ax = plt.subplots()
    assert cookbook.plot_spectrogram(y, sr, ax=ax) is ax
    assert ax.get_yscale() in ('log', 'symlog')
    image = ax.collections[0].get_array()
    assert image.max() == pytest.approx(0.0, abs=1e-3)  # dB relative to the peak
    plt.close('all')


def test_plot_melspectrogram(tone):
    y, sr = tone
    ax = cookbook.plot_melspectrogram(y, sr, n_mels=40, title='Mel')
    assert ax.get_title() == 'Mel' and ax.collections[0].get_array().size % 40 == 0
    mel = np.random.default_rng(0).random((80, 20))
    ax = cookbook.plot_melspectrogram(mel=mel, sr=22050, hop_length=275)
    assert np.allclose(np.asarray(ax.collections[0].get_array()).ravel().size, 80 * 20)
    with pytest.raises(ValueError, match='exactly one'):
        cookbook.plot_melspectrogram(y, sr, mel=mel)
    plt.close('all')


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
