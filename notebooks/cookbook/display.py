"""Audio players and plots that work in Jupyter, Colab and headless runs."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .files import _channels_first, _to_numpy

def _load_audio_argument(audio, sr: int | None) -> tuple[np.ndarray, int]:
    if isinstance(audio, (str, os.PathLike)):
        import soundfile as sf
        path = Path(audio)
        if not path.is_file():
            raise FileNotFoundError(f'audio file not found: {path}')
        y, file_sr = sf.read(path, dtype='float32', always_2d=False)
        y = _channels_first(np.asarray(y))
        if sr is not None and sr != file_sr:
            import librosa
            y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
            file_sr = sr
        return y, int(file_sr)
    if sr is None:
        raise ValueError('sr (the sample rate) is required when audio is an array or tensor')
    y = _channels_first(_to_numpy(audio))
    return y, int(sr)


class _ShownAudio:
    """Mixin: the player was displayed already, so IPython must not show it a second time
    when a cell ends with play_audio(...)."""

    def _ipython_display_(self):
        pass


def play_audio(audio, sr: int | None = None, *, max_seconds: float = 30.0, title: str | None = None):
    """Display an audio player with the data embedded (works in Jupyter and Colab).

    ``audio`` is a NumPy array, a torch tensor (1-D, or channels x samples) or a path to an
    audio file. Audio longer than ``max_seconds`` is truncated, with a printed note. Returns the
    IPython.display.Audio object (already displayed).
    """
    from IPython.display import Audio, display
    y, sr = _load_audio_argument(audio, sr)
    if sr <= 0:
        raise ValueError(f'sample rate must be positive, got {sr}')
    if y.size == 0:
        raise ValueError('cannot play empty audio')
    y = y.astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise ValueError('audio contains NaN or infinite values')
    n = y.shape[-1]
    limit = int(max_seconds * sr)
    if n > limit:
        print(f'Note: the audio is {n / sr:.1f} s long; the player holds the first '
              f'{max_seconds:.1f} s only.')
        y = y[..., :limit]
    if title:
        print(title)
    peak = float(np.max(np.abs(y)))
    player = Audio(data=y, rate=sr, normalize=peak > 0)
    display(player)
    player.__class__ = type('DisplayedAudio', (_ShownAudio, Audio), {})
    return player


def _new_axes(ax, figsize=(10, 3)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_waveform(y, sr: int, ax=None, title: str | None = None):
    """Plot a waveform with librosa.display.waveshow; returns the Axes."""
    import librosa.display
    y = _channels_first(_to_numpy(y).astype(np.float32))
    ax = _new_axes(ax)
    librosa.display.waveshow(y, sr=sr, ax=ax)
    ax.set(title=title or 'Waveform', xlabel='Time (s)', ylabel='Amplitude')
    return ax


def plot_spectrogram(y, sr: int, ax=None, title: str | None = None):
    """Plot a log-frequency STFT spectrogram in dB; returns the Axes."""
    import librosa
    import librosa.display
    y = _to_numpy(y).astype(np.float32)
    if y.ndim != 1:
        y = librosa.to_mono(_channels_first(y))
    n_fft = 2048 if len(y) >= 2048 else max(16, 2 ** int(np.log2(max(len(y), 16))))
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft)), ref=np.max)
    ax = _new_axes(ax)
    image = librosa.display.specshow(db, sr=sr, hop_length=n_fft // 4, x_axis='time',
                                     y_axis='log', ax=ax)
    ax.figure.colorbar(image, ax=ax, format='%+2.0f dB')
    ax.set(title=title or 'Spectrogram (log frequency)')
    return ax


def plot_melspectrogram(y=None, sr: int = 22050, *, mel=None, ax=None, title: str | None = None,
                        n_mels: int = 80, hop_length: int | None = None):
    """Plot a mel spectrogram; returns the Axes.

    Pass audio ``y`` (converted to a power mel spectrogram in dB) or a precomputed ``mel`` of
    shape (n_mels, frames), which is shown as given (e.g. a model's log-mel output).
    """
    import librosa
    import librosa.display
    if (y is None) == (mel is None):
        raise ValueError('pass exactly one of y (audio) or mel (a mel spectrogram)')
    hop = hop_length or 512
    if mel is None:
        y = _to_numpy(y).astype(np.float32)
        if y.ndim != 1:
            y = librosa.to_mono(_channels_first(y))
        power = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=n_mels, hop_length=hop)
        values, label = librosa.power_to_db(power, ref=np.max), '%+2.0f dB'
    else:
        values = _to_numpy(mel).astype(np.float32)
        if values.ndim == 3 and values.shape[0] == 1:
            values = values[0]
        if values.ndim != 2:
            raise ValueError(f'mel must have shape (n_mels, frames), got {values.shape}')
        label = '%.2f'
    ax = _new_axes(ax)
    image = librosa.display.specshow(values, sr=sr, hop_length=hop, x_axis='time',
                                     y_axis='mel', ax=ax)
    ax.figure.colorbar(image, ax=ax, format=label)
    ax.set(title=title or 'Mel spectrogram')
    return ax


def plot_training_curves(history, keys=('loss', 'accuracy'), label='training clips',
                         val_label='validation speakers', figsize=(12, 3.2)):
    """One panel per metric of a Keras History (or its ``.history`` dict), over epochs, with the
    validation curve (``val_<metric>``) in the same panel when the history has one; returns the
    Figure. A metric the history lacks is a clear error naming what it holds."""
    import matplotlib.pyplot as plt
    curves = getattr(history, 'history', history)
    missing = [key for key in keys if key not in curves]
    if missing:
        raise KeyError(f'history has no {missing}; it holds {sorted(curves)}')
    fig, axes = plt.subplots(1, len(keys), figsize=figsize, squeeze=False)
    for key, ax in zip(keys, axes[0]):
        ax.plot(np.arange(1, len(curves[key]) + 1), curves[key], label=label)
        if f'val_{key}' in curves:
            ax.plot(np.arange(1, len(curves[f'val_{key}']) + 1), curves[f'val_{key}'], label=val_label)
        ax.set(xlabel='epoch', ylabel=key)
        ax.legend()
    return fig


def plot_confusion(y_true, y_pred, classes, title=None):
    """The confusion matrix (rows: true class, columns: predicted), sized to the number of
    classes, every class shown even when absent from y_true; returns the Figure."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay
    size = 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(3 + size, 2.5 + size))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=range(len(classes)),
                                            display_labels=classes, ax=ax, colorbar=False,
                                            xticks_rotation=90)
    if title:
        ax.set_title(title)
    return fig
