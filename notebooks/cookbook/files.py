"""Writing results so that a failure never leaves a half-written file behind."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

import numpy as np

def _to_numpy(audio) -> np.ndarray:
    if hasattr(audio, 'detach'):  # torch tensor
        audio = audio.detach().cpu().numpy()
    elif hasattr(audio, 'numpy') and not isinstance(audio, np.ndarray):  # tf tensor
        audio = audio.numpy()
    return np.asarray(audio)


def _channels_first(y: np.ndarray) -> np.ndarray:
    """Mono stays 1-D; (samples, channels) becomes (channels, samples)."""
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ValueError(f'audio must be 1-D or 2-D (channels x samples), got shape {y.shape}')
    if y.shape[0] > y.shape[1]:
        y = y.T
    return y[0] if y.shape[0] == 1 else y


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    If the block raises, the temporary file is removed and ``path`` is left untouched. The
    temporary name keeps the suffix, so writers that infer the format from it still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}')
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f'nothing was written to {tmp} (meant for {path})')
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_wav(path: str | os.PathLike, y, sr: int) -> Path:
    """Write 16-bit PCM WAV atomically. Float input in [-1, 1] is clipped and scaled."""
    import soundfile as sf
    data = _channels_first(_to_numpy(y))
    if data.size == 0:
        raise ValueError(f'refusing to write empty audio to {path}')
    if np.issubdtype(data.dtype, np.floating):
        if not np.all(np.isfinite(data)):
            raise ValueError(f'audio for {path} contains NaN or infinite values')
        data = np.round(np.clip(data, -1.0, 1.0) * 32767).astype(np.int16)
    elif data.dtype != np.int16:
        raise ValueError(f'audio for {path} must be float or int16, got {data.dtype}')
    if data.ndim == 2:
        data = data.T  # soundfile wants (samples, channels)
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, data, int(sr), subtype='PCM_16', format='WAV')
    return path


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically (format from the suffix); returns the path."""
    path = Path(path)
    savefig_kwargs.setdefault('bbox_inches', 'tight')
    savefig_kwargs.setdefault('dpi', 120)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return path

