"""Dataset and checkpoint plumbing of notebook 2 (DC-TTS) that readers need not read.

* ``checkpoint_file`` / ``load_checkpoint`` / ``load_released_models``: the released DC-TTS
  checkpoints to use (a file the user named, else the download) and loading them; a failure to
  get or to load a released file is a notice naming the file and the reason, and the notebook
  goes on with random weights, saying plainly that it then plays noise;
* ``ljspeech_root``: an LJSpeech-format folder: the user's, the downloaded dataset (extracted
  through ``cookbook.safe_extract``), or the shipped espeak-ng sample, with a notice saying which;
* ``read_metadata`` / ``SpeechDataset``: metadata.csv parsing and spectrograms cached as .npy
  (written atomically, reused on the next run);
* ``collate``: a batch of clips padded to the longest, channels first, with each clip's lengths;
  ``random_windows``: one training window per clip, inside that clip's own frames;
* ``save_training_state`` / ``load_training_state``: resumable training checkpoints that refuse,
  with a message naming the file and what differs, to resume a model they do not fit;
* ``save_sentences``: the synthesised sentences as ``<n>.wav`` and ``<n>-mel.npy``, with a report;
  ``plot_attention_and_mel``: attention matrices next to the mel spectrogram they produced;
  ``plot_training``: losses, learning rates and attention images of a training run;
* ``wavegan_files``: the three files of a released WaveGAN generator (a TensorFlow 1 checkpoint
  and its inference MetaGraph), fetched once; the notebook restores them itself.
"""
from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path
from typing import Callable

import numpy as np

from . import assets, checkpoints, env, files, tts_text

SAMPLE_DIR = env.SAMPLES_DIR / 'ljspeech'


def checkpoint_file(variable: str, override: str | None, asset_name: str) -> Path | None:
    """The checkpoint the environment variable names, if set; else the released asset, downloaded
    once into checkpoints/ (None, with a notice naming the file and the reason, when it cannot be
    had: offline, a failed or refused download)."""
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f'{variable}={override!r}: {path} is not a file. Point {variable} at an '
                                    f'existing checkpoint, or unset it to download the released one')
        return path
    asset = assets.ASSETS[asset_name]
    try:
        return assets.fetch_asset(asset_name)
    except Exception as error:  # offline, HTTP error, interrupted or refused download...
        env.notice(f'Could not get {asset.filename} ({asset.url}): {type(error).__name__}: {error}\n'
                   f'Going on without it. To use it, put a copy at {asset.path} or set {variable}.')
        return None


def load_checkpoint(model, path, variable: str, allowed_prefixes: tuple[str, ...] = ('models.',)) -> bool:
    """Load the checkpoint ``path`` into ``model``: True when it loaded. When it cannot be loaded (a
    web page saved in its place, a truncated or foreign file, other shapes) a notice names the
    file and the reason, the model keeps its weights, and the answer is False."""
    try:
        checkpoints.load_weights(model, path, allowed_prefixes=allowed_prefixes)
    except Exception as error:
        env.notice(f'Could not load {path} into {type(model).__name__}: {type(error).__name__}: {error}\n'
                   f'Going on with random weights. Delete the file to download it again, or set '
                   f'{variable} to a good copy.')
        return False
    return True


def load_released_models(text2mel, ssrn, text2mel_file: str | None = None, ssrn_file: str | None = None) -> bool:
    """Load the released LJSpeech weights into both models: the files named (DCTTS_TEXT2MEL,
    DCTTS_SSRN), else the downloads. True when both loaded; otherwise notices say which file and
    why, and a last one says plainly that the models keep random weights (noise, not speech)."""
    loaded = []
    for model, override, variable, asset in ((text2mel, text2mel_file, 'DCTTS_TEXT2MEL', 'dctts_text2mel_ljspeech'),
                                             (ssrn, ssrn_file, 'DCTTS_SSRN', 'dctts_ssrn_ljspeech')):
        path = checkpoint_file(variable, override, asset)
        loaded.append(path is not None and load_checkpoint(model, path, variable))
    if not all(loaded):
        env.notice('Without both released checkpoints the models keep RANDOM weights: everything below runs, '
                   'but what you hear is noise, NOT speech. Run online without COOKBOOK_FAST, or set '
                   'DCTTS_TEXT2MEL and DCTTS_SSRN to copies of the released files.')
    return all(loaded)


def ljspeech_root(fast: bool, override: str | None = None, data_dir: Path | None = None,
                  download: bool = True) -> Path:
    """An LJSpeech-format folder (metadata.csv + wavs/) to train on.

    Fast mode always uses the shipped sample (preprocessing 13,100 clips takes most of an hour); otherwise
    ``override`` (LJSPEECH_DIR), else data/LJSpeech-1.1 (downloaded and extracted if needed and
    ``download`` allows it: the notebook allows it on a GPU only), else the sample. Every fallback
    says so in a notice.
    """
    data_dir = Path(data_dir or env.DATA_DIR)
    extracted = data_dir / 'LJSpeech-1.1'
    if fast:
        ignored = [f'LJSPEECH_DIR={override}'] if override else []
        ignored += [str(extracted)] if (extracted / 'metadata.csv').is_file() else []
        if ignored:
            env.notice(f'Fast mode: training on the shipped sample {SAMPLE_DIR}, not on '
                       f'{" or ".join(ignored)}. Unset COOKBOOK_FAST to train on the full dataset.')
        return SAMPLE_DIR
    if override:
        root = Path(override).expanduser()
        if not (root / 'metadata.csv').is_file():
            raise FileNotFoundError(f'LJSPEECH_DIR={override!r} has no metadata.csv: point it at an '
                                    'extracted LJSpeech-1.1 folder (metadata.csv + wavs/)')
        return root
    if not download and not (extracted / 'metadata.csv').is_file():
        env.notice(f'Not downloading LJSpeech (2.7 GB, then about 40 minutes of preprocessing on 2 CPU cores) for a '
                   f'short CPU run: '
                   f'training on the small espeak-ng sample in {SAMPLE_DIR}, enough to run the pipeline, far too '
                   f'little to learn to speak. Set LJSPEECH_DIR to an extracted copy, or run on a GPU.')
        return SAMPLE_DIR
    if not (extracted / 'metadata.csv').is_file():
        try:
            # safe_extract unpacks into a staging folder and moves LJSpeech-1.1/ into place whole,
            # so an interrupted extraction never leaves a half-filled folder behind.
            assets.safe_extract(assets.fetch_asset('ljspeech_1.1'), data_dir)
        except assets.DownloadError as error:
            env.notice(f'LJSpeech is not available ({error}). Training on the small espeak-ng sample in '
                       f'{SAMPLE_DIR} instead: enough to run the pipeline, far too little to learn to speak.')
            return SAMPLE_DIR
        if not (extracted / 'metadata.csv').is_file():
            raise ValueError(f'the LJSpeech archive did not contain LJSpeech-1.1/metadata.csv; '
                             f'remove {extracted} and the archive in {data_dir}, then run again')
    return extracted


def read_metadata(root: str | os.PathLike) -> list[tuple[str, str]]:
    """LJSpeech metadata.csv -> [(clip id, normalised text of the 3rd column)]."""
    path = Path(root) / 'metadata.csv'
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found: point the dataset folder at an LJSpeech-format folder '
                                '(metadata.csv + wavs/)')
    items = []
    with open(path, encoding='utf-8', newline='') as f:
        for line_no, row in enumerate(csv.reader(f, delimiter='|', quoting=csv.QUOTE_NONE), 1):
            if len(row) != 3:
                raise ValueError(f'{path} line {line_no}: expected id|text|normalized text, got {len(row)} fields')
            items.append((row[0], tts_text.normalize_text(row[2]).text))
    if not items:
        raise ValueError(f'{path} is empty')
    return items


class SpeechDataset:
    """LJSpeech-format clips as {'text': ids, 'mel': (T, 80), 'mag': (4T, 1025)} tensors.

    ``features(wav_path) -> (mel, mag)`` is the notebook's own preprocessing; its results are
    cached in ``cache_dir`` as .npy files (each written atomically, the mel last, so a present
    mel marks a finished clip) and reused on later runs. ``max_clips``: the first n clips only.
    """

    def __init__(self, root, cache_dir, features: Callable, max_clips: int | None = None):
        self.root, self.cache_dir = Path(root), Path(cache_dir)
        self.items = read_metadata(self.root)[:max_clips or None]
        for sub in ('mels', 'mags'):
            (self.cache_dir / sub).mkdir(parents=True, exist_ok=True)
        for clip_id, _ in self.items:
            mel_path, mag_path = self._paths(clip_id)
            if mel_path.exists() and mag_path.exists():
                continue
            wav_path = self.root / 'wavs' / f'{clip_id}.wav'
            if not wav_path.is_file():
                raise FileNotFoundError(f'{wav_path} is listed in metadata.csv but missing')
            mel, mag = features(wav_path)
            for array, path in ((mag, mag_path), (mel, mel_path)):
                with files.atomic_path(path) as tmp, open(tmp, 'wb') as f:
                    np.save(f, array)

    def _paths(self, clip_id):
        return self.cache_dir / 'mels' / f'{clip_id}.npy', self.cache_dir / 'mags' / f'{clip_id}.npy'

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        import torch
        clip_id, text = self.items[index]
        mel_path, mag_path = self._paths(clip_id)
        return {'text': tts_text.text_to_ids(text), 'mel': torch.from_numpy(np.load(mel_path)),
                'mag': torch.from_numpy(np.load(mag_path))}


def collate(batch: list[dict]) -> tuple:
    """SpeechDataset items -> (texts (B, N) padded with P, mels (B, 80, T), mags (B, 1025, 4T)
    padded with zeros, text lengths (B,), mel frame counts (B,))."""
    import torch
    pad = torch.nn.utils.rnn.pad_sequence
    if not batch:
        raise ValueError('collate needs at least one clip')
    texts = pad([b['text'] for b in batch], batch_first=True, padding_value=tts_text.PAD)
    mels = pad([b['mel'] for b in batch], batch_first=True).transpose(1, 2)
    mags = pad([b['mag'] for b in batch], batch_first=True).transpose(1, 2)
    return (texts, mels, mags, torch.tensor([len(b['text']) for b in batch]),
            torch.tensor([len(b['mel']) for b in batch]))


def random_windows(mels, mags, n_frames, max_frames: int, reduction_rate: int):
    """One window of at most ``max_frames`` mel frames per clip (and its ``reduction_rate`` times
    as many magnitude frames), its start drawn with torch's generator *inside that clip's own
    frames*: a clip shorter than the window is taken from its start, so no window is padding
    only. Returns (mels (B, 80, W), mags (B, 1025, rW), real mel frames in each window (B,))."""
    import torch
    width = min(int(max_frames), mels.shape[2])
    starts = [int(torch.randint(0, max(1, n - width + 1), (1,))) for n in n_frames.tolist()]
    r = reduction_rate
    mel_windows = torch.stack([mels[i, :, s:s + width] for i, s in enumerate(starts)])
    mag_windows = torch.stack([mags[i, :, s * r:(s + width) * r] for i, s in enumerate(starts)])
    lengths = torch.clamp(n_frames - torch.tensor(starts, device=n_frames.device), max=width)
    return mel_windows, mag_windows, lengths


def plot_attention_and_mel(attentions: dict, mel, title: str, sr: int, hop_length: int):
    """One panel per attention matrix (name -> (N, T) array), then the mel spectrogram; the figure."""
    import matplotlib.pyplot as plt
    from .display import plot_melspectrogram
    fig, axes = plt.subplots(1, len(attentions) + 1, figsize=(5 * len(attentions) + 6, 2.8))
    for ax, (name, attention) in zip(axes, attentions.items()):
        ax.imshow(attention, aspect='auto', origin='lower', interpolation='none')
        ax.set(title=name, xlabel='decoder step (mel frame)', ylabel='character')
    plot_melspectrogram(mel=mel, sr=sr, ax=axes[-1], title='predicted mel (80 bands)', hop_length=hop_length)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_training(losses: dict, learning_rates: dict, images: dict):
    """The training figure: loss curves (name -> per-step losses, log scale), learning-rate curves
    (name -> per-step rates), then one panel per (character, frame) image (name -> 2-D array)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2 + len(images), figsize=(4.4 * (2 + len(images)), 3))
    for ax, curves, title in ((axes[0], losses, 'training loss'), (axes[1], learning_rates, 'Text2Mel learning rate')):
        for name, values in curves.items():
            ax.plot(values, label=name)
        ax.set(title=title, xlabel='step', yscale='log' if curves is losses else 'linear')
        ax.legend()
    for ax, (name, image) in zip(axes[2:], images.items()):
        ax.imshow(image, aspect='auto', origin='lower', interpolation='none')
        ax.set(title=name, xlabel='frame', ylabel='character')
    fig.tight_layout()
    return fig


def _as_dict(hparams) -> dict:
    return dataclasses.asdict(hparams) if dataclasses.is_dataclass(hparams) else dict(hparams)


def save_training_state(path, model, optimizer, step: int, losses, hparams) -> None:
    """Everything needed to resume, written atomically (a crash never leaves half a checkpoint);
    the hyper-parameters go along, so that a resume can check they are still the same."""
    import torch
    state = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'step': int(step),
             'losses': [float(x) for x in losses], 'hparams': _as_dict(hparams)}
    with files.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_training_state(path, model, optimizer, hparams) -> tuple[int, list]:
    """Resume from a save_training_state file: (step, losses). A file that does not fit the model
    or the hyper-parameters raises an error naming the file, what differs and what to do."""
    import torch
    path = Path(path)
    what_to_do = f'delete {path} (or train into another folder) to start afresh'
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:
        raise ValueError(f'{path} is not a readable training checkpoint ({error}); {what_to_do}') from None
    missing = [k for k in ('model', 'optimizer', 'step', 'losses') if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f'{path} is not a training checkpoint of this notebook (no {", ".join(missing)}); '
                         f'{what_to_do}')
    saved, current = state.get('hparams') or {}, _as_dict(hparams)
    differ = [f'{k}: checkpoint {saved.get(k)!r}, now {v!r}' for k, v in current.items() if saved.get(k) != v]
    if differ:
        raise ValueError(f'{path} was trained with other hyper-parameters ({"; ".join(differ)}); {what_to_do}')
    try:
        checkpoints.check_state_dict(model, state['model'], str(path))
    except checkpoints.CheckpointMismatchError as error:
        raise checkpoints.CheckpointMismatchError(f'{error}\nCannot resume from it: {what_to_do}') from None
    model.load_state_dict(state['model'])
    optimizer.load_state_dict(state['optimizer'])
    return state['step'], list(state['losses'])


def save_sentences(results, folder, sr: int) -> list[Path]:
    """Write each synthesised text (objects with .text, .pieces, .dropped, .mel, .wav, .complete)
    as <n>.wav and <n>-mel.npy in ``folder``, numbered from 1, and print one line per text: its
    pieces, dropped characters and whether a piece hit its frame limit. Returns the wav paths."""
    folder, paths = Path(folder), []
    for n, r in enumerate(results, 1):
        paths.append(files.write_wav(folder / f'{n}.wav', r.wav, sr))
        with files.atomic_path(folder / f'{n}-mel.npy') as tmp, open(tmp, 'wb') as f:
            np.save(f, np.asarray(r.mel))
        notes = ([f'dropped {r.dropped!r}'] if r.dropped else []) + ([] if r.complete else ['frame limit reached'])
        print(f'{n}. {r.pieces}' + (f'  ({"; ".join(notes)})' if notes else ''))
    return paths


WAVEGAN_MODELS = ('timit', 'sc09')  # the released generators: TIMIT speech, SC09 spoken digits


def wavegan_model(name: str, variable: str = 'WAVEGAN_MODEL') -> str:
    """``name`` if it is a released WaveGAN model, else a ValueError saying which ones exist."""
    if name not in WAVEGAN_MODELS:
        raise ValueError(f'{variable}={name!r}: use ' + ' or '.join(repr(m) for m in WAVEGAN_MODELS))
    return name


def wavegan_files(name: str) -> tuple[str, Path]:
    """The released WaveGAN ``name`` ('timit' or 'sc09'): its three files fetched once into
    checkpoints/ (raises assets.DownloadError when they cannot be had). Returns the checkpoint
    prefix (what ``Saver.restore`` takes) and the inference MetaGraph."""
    name = wavegan_model(name)
    found = {part: assets.fetch_asset(f'wavegan_{name}_{part}') for part in ('index', 'data', 'meta')}
    prefix = str(found['index'])[:-len('.index')]
    missing = [p for p in (found['meta'], Path(prefix + '.index'), Path(prefix + '.data-00000-of-00001'))
               if not p.is_file()]
    if missing:  # the three must sit together under one prefix
        raise FileNotFoundError('WaveGAN checkpoint incomplete, missing: ' + ', '.join(map(str, missing)))
    return prefix, found['meta']
