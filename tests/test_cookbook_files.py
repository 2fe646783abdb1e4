"""cookbook.files: atomic writes of files, WAVs and figures."""

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf

import cookbook


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


