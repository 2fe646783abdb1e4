"""cookbook.display: audio players and plots."""

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pytest

import cookbook


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


# ------------------------------------------------------------------------------ training plots

def test_plot_training_curves_one_panel_per_metric_and_clear_error():
    history = {'loss': [1.0, 0.5, 0.25], 'accuracy': [0.3, 0.6, 0.9]}
    fig = cookbook.plot_training_curves(history)
    assert len(fig.axes) == 2
    x, y = fig.axes[1].lines[0].get_data()
    assert list(x) == [1, 2, 3] and list(y) == [0.3, 0.6, 0.9]
    assert fig.axes[0].get_ylabel() == 'loss'
    plt.close(fig)
    with pytest.raises(KeyError, match="holds \\['accuracy', 'loss'\\]"):
        cookbook.plot_training_curves(history, keys=('val_loss',))


def test_plot_training_curves_draws_the_validation_curve_beside_training():
    history = {'loss': [1.0, 0.5], 'accuracy': [0.3, 0.6], 'val_loss': [1.2, 0.9], 'val_accuracy': [0.2, 0.5]}
    fig = cookbook.plot_training_curves(history)
    lines = fig.axes[1].lines
    assert len(lines) == 2 and list(lines[1].get_data()[1]) == [0.2, 0.5]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ['training clips', 'validation speakers']
    plt.close(fig)


def test_plot_confusion_counts_and_shows_every_class():
    fig = cookbook.plot_confusion([0, 0, 1, 1], [0, 1, 1, 1], ['yes', 'no', 'up'], title='t')
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ['yes', 'no', 'up']
    counts = [t.get_text() for t in ax.texts]
    assert counts == ['1', '1', '0', '0', '2', '0', '0', '0', '0'] and ax.get_title() == 't'
    plt.close(fig)
