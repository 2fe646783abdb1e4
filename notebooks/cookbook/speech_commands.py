"""Speech Commands plumbing for notebook 1: what a reader of the voice-commands chapter need not read.

* the dataset layout (``<word>/<speaker>_nohash_<n>.wav``, ``_background_noise_/``, the split
  lists ``validation_list.txt`` / ``testing_list.txt``) and the tasks built on it (a word list,
  the 12-class task with ``_silence_`` and ``_unknown_``, every word);
* getting a copy: an existing folder, the v0.01 or v0.02 download, or the shipped sample;
* robust parallel loading at the native 16 kHz (plain 16-bit PCM through the standard library's
  ``wave``, anything else through ``soundfile``), a report that names every unusable file, and
  a disk cache keyed by the file list, sizes, times and parameters;
* the background noise: split into train/validation/test parts, silence clips cut from it;
* a long test recording with several commands in noise, for streaming recognition;
* decoding any WAV (your own voice) into the one-second 16 kHz clip the models take.

Nothing here imports TensorFlow; numpy and soundfile are the only heavy imports.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import os
import re
import shutil
import struct
import sys
import tarfile
import warnings
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import env
from .env import quiet_native_logs  # noqa: F401  (notebook 1 uses sc.quiet_native_logs)
from .assets import DownloadError, fetch_asset, safe_extract
from .files import atomic_path

SAMPLE_RATE = 16000          # the dataset's native rate
CLIP_SAMPLES = 16000         # one second
KEYWORDS = ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go']
SILENCE, UNKNOWN = '_silence_', '_unknown_'
TASKS = ('words', '12class', 'all')
SPLITS = ('train', 'validation', 'test')
SAMPLE_DIR = env.SAMPLES_DIR / 'speech_commands'

VERSIONS = {'v0.01': 'speech_commands_v0.01', 'v0.02': 'speech_commands_v0.02'}


# --- getting a copy ----------------------------------------------------------------------------

def find_dataset(data_dir=None, version='v0.01', fast=False):
    """(folder, using_sample): an existing copy, else the download, else the shipped sample.

    ``data_dir`` given: used as it is (a clear error when it does not exist), nothing is
    downloaded. ``fast``: the sample. Otherwise the ``version`` archive is fetched once (size
    and SHA-256 checked), extracted safely into a side folder and renamed when complete; when
    that fails (no network, offline mode) a notice says so and the sample is used.
    """
    if version not in VERSIONS:
        raise ValueError(f'Speech Commands version {version!r}: choose one of {", ".join(VERSIONS)}')
    if data_dir:
        data_dir = Path(data_dir).expanduser()
        available_words(data_dir)  # raises a clear error when the folder does not exist
        return data_dir, False
    sample_warning = ('Accuracy on it is NOT comparable to the real dataset or to the book.')
    if fast:
        env.notice('Fast mode: using the small synthetic sample in data/samples/speech_commands '
                   f'(espeak-ng voices plus generated noise, no download). {sample_warning}')
        return SAMPLE_DIR, True
    extracted, archive = env.DATA_DIR / VERSIONS[version], 'its archive'
    try:
        if not (extracted / 'testing_list.txt').is_file():
            archive = fetch_asset(VERSIONS[version])
            partial = extracted.with_name(extracted.name + '.partial')
            shutil.rmtree(partial, ignore_errors=True)
            safe_extract(archive, partial)
            os.replace(partial, extracted)
        return extracted, False
    except DownloadError as err:
        env.notice(f'Could not get Speech Commands {version} ({err}). Falling back to the small '
                   f'synthetic sample in data/samples/speech_commands. {sample_warning}')
        return SAMPLE_DIR, True
    except (OSError, ValueError, tarfile.TarError, EOFError) as err:  # an archive that cannot be read
        shutil.rmtree(extracted.with_name(extracted.name + '.partial'), ignore_errors=True)
        env.notice(f'Could not extract Speech Commands {version} from {archive} ({err}). Delete that '
                   'file to download it again. Falling back to the small synthetic sample in '
                   f'data/samples/speech_commands. {sample_warning}')
        return SAMPLE_DIR, True


# --- layout and split ----------------------------------------------------------------------------

def available_words(data_dir):
    """Word folders of a Speech Commands layout (every folder not starting with '_' holding WAVs)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f'Speech Commands folder {data_dir} does not exist: set '
                                'SPEECH_COMMANDS_DIR to a folder in the Speech Commands layout.')
    return sorted(p.name for p in data_dir.iterdir()
                  if p.is_dir() and not p.name.startswith('_') and any(p.glob('*.wav')))


def parse_words(words):
    """'bed, bird,tree' or a list -> ['bed', 'bird', 'tree']: spaces around words are ignored."""
    if isinstance(words, str):
        words = words.split(',')
    return [w.strip() for w in words if w.strip()]


def check_words(data_dir, words, fix='Set SPEECH_COMMANDS_WORDS (the WORDS field) to some of them.'):
    """Fail early, naming the missing words and the ones that exist, when a word has no folder;
    fix: what the reader should do about it."""
    words = parse_words(words)
    if not words:
        raise ValueError('the word list is empty: give at least two words, e.g. bed,bird,tree')
    if len(set(words)) != len(words):
        raise ValueError(f'the word list {words} repeats a word')
    present = available_words(data_dir)
    missing = [w for w in words if w not in present]
    if missing:
        raise FileNotFoundError(
            f'{data_dir} has no folder for {", ".join(missing)}. Words available there: '
            f'{", ".join(present) or "(none)"}. {fix}')
    return list(words)


def read_list(data_dir, name):
    """A split list (validation_list.txt / testing_list.txt) as a set of 'word/file.wav' paths."""
    path = Path(data_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f'{path} is missing: a Speech Commands folder needs validation_list.txt '
                                'and testing_list.txt (they define the speaker-disjoint split).')
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def speaker_of(relpath):
    """'bed/0a7c2a8d_nohash_0.wav' -> '0a7c2a8d' (the part before _nohash_ identifies the speaker)."""
    return Path(relpath).name.split('_nohash_')[0]


def list_clips(data_dir, words):
    """Sorted 'word/file.wav' paths of the given word folders."""
    data_dir = Path(data_dir)
    return [f'{w}/{p.name}' for w in words for p in sorted((data_dir / w).glob('*.wav'))]


def split_files(data_dir, relpaths):
    """Assign each clip to 'train', 'validation' or 'test' with the dataset's own lists."""
    validation = read_list(data_dir, 'validation_list.txt')
    testing = read_list(data_dir, 'testing_list.txt')
    return ['test' if r in testing else 'validation' if r in validation else 'train' for r in relpaths]


@dataclass
class Task:
    """Which clips go where, and with which label: the same object serves every task."""
    name: str
    classes: list
    files: dict        # split -> list of 'word/file.wav'
    labels: dict       # split -> np.ndarray of class indices, aligned with files
    silence: dict      # split -> how many _silence_ clips to cut from the background noise

    def counts(self):
        """{split: {class: count}}, silence included."""
        out = {}
        for split in SPLITS:
            c = {name: int(np.sum(self.labels[split] == i)) for i, name in enumerate(self.classes)}
            if SILENCE in self.classes:
                c[SILENCE] += self.silence[split]
            out[split] = c
        return out


def build_task(data_dir, task='words', words=('bed', 'bird', 'tree'), seed=0):
    """Files, labels and split for one task.

    words:   the given word list (the recipe's bed, bird, tree by default).
    12class: the ten keywords + _silence_ + _unknown_ (every other word), as in Warden (2018);
             unknown clips are subsampled to about one keyword's share, silence is cut from
             _background_noise_.
    all:     every word folder of the dataset (30 words in v0.01, 35 in v0.02).
    """
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}: choose one of {", ".join(TASKS)}')
    present = available_words(data_dir)
    if task == 'words':
        words = check_words(data_dir, words)
        classes, targets = list(words), {w: i for i, w in enumerate(words)}
    elif task == 'all':
        if len(present) < 2:
            raise FileNotFoundError(f'{data_dir} holds fewer than two word folders: {present}')
        classes, targets = present, {w: i for i, w in enumerate(present)}
    else:
        keywords = check_words(data_dir, KEYWORDS, fix=(
            'The 12-class task needs the ten command words: set SPEECH_COMMANDS_TASK=none (the TASK '
            'field) to skip it, or all to train on every word folder there.'))
        classes = [SILENCE, UNKNOWN] + keywords
        targets = {w: classes.index(w) if w in keywords else 1 for w in present}
    relpaths = list_clips(data_dir, sorted(targets))
    splits = split_files(data_dir, relpaths)
    rng = np.random.default_rng(seed)
    files, labels, silence = {}, {}, {}
    for split in SPLITS:
        chosen = [r for r, s in zip(relpaths, splits) if s == split]
        y = np.array([targets[r.split('/')[0]] for r in chosen], dtype=np.int64)
        if task == '12class':
            # Keep the unknown class about as large as an average keyword class.
            per_class = max(1, int(np.ceil(np.sum(y > 1) / len(KEYWORDS))))
            unknown = np.flatnonzero(y == 1)
            drop = set(rng.permutation(unknown)[per_class:].tolist())
            keep = [i for i in range(len(chosen)) if i not in drop]
            chosen, y = [chosen[i] for i in keep], y[keep]
            silence[split] = per_class
        else:
            silence[split] = 0
        files[split], labels[split] = chosen, y
    return Task(task, classes, files, labels, silence)


# --- loading clips -------------------------------------------------------------------------------

class ClipProblem(Exception):
    """A clip that cannot be used; kind is one of LoadReport.KINDS."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


@dataclass
class LoadReport:
    """What happened to every file: nothing is dropped without being named and counted here."""
    KINDS = ('corrupt', 'empty', 'truncated', 'wrong_rate', 'wrong_channels')
    total: int = 0
    problems: list = field(default_factory=list)   # (relpath, kind, message)
    padded: int = 0                                 # shorter than one second: zero-padded
    cropped: int = 0                                # longer than one second: cut
    from_cache: bool = False

    def counts(self):
        return {kind: sum(1 for _, k, _ in self.problems if k == kind) for kind in self.KINDS}

    def summary(self, max_names=10):
        used = self.total - len(self.problems)
        lines = [f'{used} of {self.total} clips usable ({self.padded} padded to 1 s, '
                 f'{self.cropped} cut to 1 s){" [from cache]" if self.from_cache else ""}']
        counts = {k: n for k, n in self.counts().items() if n}
        if counts:
            lines.append('skipped: ' + ', '.join(f'{n} {k}' for k, n in counts.items()))
            lines += [f'  {rel}: {kind}: {msg}' for rel, kind, msg in self.problems[:max_names]]
            if len(self.problems) > max_names:
                lines.append(f'  ... and {len(self.problems) - max_names} more')
        return '\n'.join(lines)


# libsndfile reads what a cut-off file holds and notes the shortfall in its log:
# "data : 32000 (should be 15978)".
_SHORT_DATA = re.compile(r'^data\s*:\s*(\d+)\s*\(should be (\d+)\)', re.M)


def _read_plain_pcm16(path):
    """(rate, channels, int16 samples (n, channels)) of a complete 16-bit PCM WAV, else None.

    The standard library's wave module reads the dataset's own format much faster than soundfile
    (benchmarks/bench_voice_commands.py on the shared dev data, 2026-12-02: 39,700 against 14,400
    files/s); any other encoding, a damaged header or a cut-off data chunk returns None, and
    soundfile reads and judges the file.
    """
    try:
        with wave.open(str(path), 'rb') as w:
            if w.getsampwidth() != 2:
                return None
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
            data = w.readframes(frames)
    except (wave.Error, EOFError, struct.error, ValueError):
        return None
    if channels < 1 or len(data) != frames * channels * 2:
        return None
    return rate, channels, np.frombuffer(data, '<i2').astype(np.int16, copy=False).reshape(-1, channels)


def read_clip(path, sample_rate=SAMPLE_RATE):
    """One clip as int16 samples at its native rate; raises ClipProblem for anything unusable."""
    import soundfile as sf
    try:
        if os.path.getsize(path) == 0:
            raise ClipProblem('empty', 'file has 0 bytes')
        plain = _read_plain_pcm16(path)
        if plain is not None:
            return _checked(*plain, sample_rate)
        with sf.SoundFile(path) as f:
            rate, channels, log = f.samplerate, f.channels, f.extra_info
            # Float files are read as float and converted: libsndfile does not rescale them.
            audio = f.read(dtype='int16' if f.subtype.startswith('PCM') else 'float32', always_2d=True)
    except ClipProblem:
        raise
    except OSError as err:
        raise ClipProblem('corrupt', f'cannot read: {err}') from None
    except Exception as err:  # libsndfile's errors are LibsndfileError / RuntimeError
        raise ClipProblem('corrupt', f'not decodable: {err}') from None
    short = _SHORT_DATA.search(log)
    if short:
        raise ClipProblem('truncated', f'data chunk holds {short.group(2)} of {short.group(1)} bytes')
    return _checked(rate, channels, audio, sample_rate)


def _checked(rate, channels, audio, sample_rate):
    """audio (n, channels) as int16 mono samples, or ClipProblem for a wrong rate or layout."""
    if rate != sample_rate:
        raise ClipProblem('wrong_rate', f'{rate} Hz, expected {sample_rate} Hz')
    if channels != 1:
        raise ClipProblem('wrong_channels', f'{channels} channels, expected mono')
    if audio.size == 0:
        raise ClipProblem('empty', 'no audio samples')
    if audio.dtype != np.int16:
        audio = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    return audio[:, 0]


def _load_chunk(data_dir, relpaths, sample_rate, clip_samples):
    out = np.zeros((len(relpaths), clip_samples), dtype=np.int16)
    ok = np.zeros(len(relpaths), dtype=bool)
    problems, padded, cropped = [], 0, 0
    for i, rel in enumerate(relpaths):
        try:
            samples = read_clip(os.path.join(data_dir, rel), sample_rate)
        except ClipProblem as problem:
            problems.append((rel, problem.kind, str(problem)))
            continue
        n = min(samples.size, clip_samples)
        out[i, :n] = samples[:n]  # shorter clips stay zero-padded at the end
        padded += samples.size < clip_samples
        cropped += samples.size > clip_samples
        ok[i] = True
    return out, ok, problems, padded, cropped


def cache_key(data_dir, relpaths, **params):
    """Hash of the file list, each file's size and modification time, and the loading parameters."""
    h = hashlib.sha256(json.dumps({'version': 2, **params}, sort_keys=True).encode())
    for rel in relpaths:
        try:
            st = os.stat(os.path.join(data_dir, rel))
            h.update(f'{rel}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode())
        except OSError:
            h.update(f'{rel}\0missing\n'.encode())
    return h.hexdigest()[:24]


def load_clips(data_dir, relpaths, sample_rate=SAMPLE_RATE, clip_samples=CLIP_SAMPLES,
               workers=None, cache_dir=None, chunk_size=256):
    """Read clips at their native rate, in parallel, into an int16 array (N, clip_samples).

    Returns (clips, ok, report): ok[i] is False for a file that could not be used, and the report
    names it. With cache_dir, the result is stored on disk under a key made of the file list, the
    files' sizes and modification times and the parameters: change any of them and it is rebuilt.
    """
    data_dir, relpaths = str(data_dir), list(relpaths)
    path = None
    if cache_dir is not None:
        key = cache_key(data_dir, relpaths, sample_rate=sample_rate, clip_samples=clip_samples)
        path = Path(cache_dir) / f'clips_{key}.npz'
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    report = LoadReport(**json.loads(str(z['report'])), from_cache=True)
                    return z['clips'], z['ok'], report
            except (OSError, ValueError, KeyError, TypeError) as err:
                warnings.warn(f'ignoring unreadable cache file {path} ({err}); rebuilding it')
    workers = workers or min(4, os.cpu_count() or 1)
    chunks = [relpaths[i:i + chunk_size] for i in range(0, len(relpaths), chunk_size)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda c: _load_chunk(data_dir, c, sample_rate, clip_samples), chunks))
    clips = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, clip_samples), np.int16)
    ok = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, bool)
    report = LoadReport(total=len(relpaths), problems=[x for p in parts for x in p[2]],
                        padded=sum(p[3] for p in parts), cropped=sum(p[4] for p in parts))
    if path is not None:
        # Write then rename: a crash never leaves a half-written cache file.
        with atomic_path(path) as tmp, open(tmp, 'wb') as f:
            np.savez(f, clips=clips, ok=ok, report=json.dumps(
                {'total': report.total, 'problems': report.problems,
                 'padded': report.padded, 'cropped': report.cropped}))
    return clips, ok, report


def as_float(clips):
    """int16 clips -> float32 in [-1, 1]; float clips pass through (copied)."""
    clips = np.asarray(clips)
    if clips.dtype == np.int16:
        return clips.astype(np.float32) / 32768.0
    return clips.astype(np.float32, copy=True)


# --- background noise and silence -----------------------------------------------------------------

def load_background_noise(data_dir, sample_rate=SAMPLE_RATE):
    """The _background_noise_ recordings as float32 arrays; unusable files are reported, not fatal."""
    folder = Path(data_dir) / '_background_noise_'
    noises, problems = {}, []
    for path in sorted(folder.glob('*.wav')) if folder.is_dir() else []:
        try:
            noises[path.name] = as_float(read_clip(path, sample_rate))
        except ClipProblem as problem:
            problems.append((f'_background_noise_/{path.name}', problem.kind, str(problem)))
    return noises, problems


NOISE_FRACTIONS = (0.45, 0.20, 0.35)  # the same disjoint time ranges as cookbook.kws_stream


def split_noise(noises, clip_samples=CLIP_SAMPLES, fractions=NOISE_FRACTIONS):
    """Cut each noise recording into train (first 45 %), validation (next 20 %) and test (last
    35 %) parts, the ranges the stream evaluation uses: silence clips and augmentation noise for
    training never overlap validation or test noise.
    """
    parts = {split: [] for split in SPLITS}
    for audio in noises.values():
        n = len(audio)
        a, b = int(n * fractions[0]), int(n * (fractions[0] + fractions[1]))
        for split, piece in (('train', audio[:a]), ('validation', audio[a:b]), ('test', audio[b:])):
            if len(piece) < clip_samples:  # a short recording: repeat it to fill one clip
                piece = np.tile(piece, int(np.ceil(clip_samples / max(len(piece), 1))) + 1)
            parts[split].append(piece)
    return parts


def make_silence(noise_parts, n, rng, clip_samples=CLIP_SAMPLES):
    """n '_silence_' clips: random one-second pieces of background noise at random volume."""
    out = np.zeros((n, clip_samples), dtype=np.float32)
    if not noise_parts:
        return out  # no noise files: digital silence
    for i in range(n):
        piece = noise_parts[int(rng.integers(len(noise_parts)))]
        start = int(rng.integers(0, len(piece) - clip_samples + 1))
        out[i] = piece[start:start + clip_samples] * rng.uniform(0.0, 1.0)
    return out


def load_task(data_dir, task, cache_dir=None, workers=None, seed=0):
    """Load every clip of a Task once (in parallel, cached) and add its _silence_ clips.

    Returns (data, report, noise_problems, noise_parts): data[split] = (clips int16 (N, 16000),
    labels, names), with unusable files left out and named in report.
    """
    files = [f for split in SPLITS for f in task.files[split]]
    clips, ok, report = load_clips(data_dir, files, cache_dir=cache_dir, workers=workers)
    noises, noise_problems = load_background_noise(data_dir)
    noise_parts = split_noise(noises)
    rng = np.random.default_rng(seed)
    data, start = {}, 0
    for split in SPLITS:
        n = len(task.files[split])
        keep = ok[start:start + n]
        x, y = clips[start:start + n][keep], task.labels[split][keep]
        names = [f for f, k in zip(task.files[split], keep) if k]
        start += n
        if task.silence[split]:
            silence = make_silence(noise_parts[split], task.silence[split], rng)
            x = np.concatenate([x, np.round(silence * 32767).astype(np.int16)])
            y = np.concatenate([y, np.full(len(silence), task.classes.index(SILENCE))])
            names += [f'{SILENCE}/{i}' for i in range(len(silence))]
        data[split] = (x, y, names)
    return data, report, noise_problems, noise_parts


def merge_splits(data, *splits):
    """(clips, labels) of several splits of load_task's data together, e.g. the training and the
    validation speakers for a final model that is tested on the testing speakers only."""
    unknown = [s for s in splits if s not in data]
    if not splits or unknown:
        raise ValueError(f'merge_splits: unknown split(s) {unknown or "none given"}; '
                         f'data holds {", ".join(data)}')
    return (np.concatenate([data[s][0] for s in splits]),
            np.concatenate([data[s][1] for s in splits]))


def subsample(clips, labels, n=None, seed=0):
    """(clips, labels) of at most n randomly chosen examples (all of them when n is None or
    larger), in their original order: a shorter training run on a slow machine."""
    if n is None or n >= len(labels):
        return clips, labels
    if n < 1:
        raise ValueError(f'subsample: n={n}; keep at least one clip (or None for all)')
    keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:n])
    return clips[keep], np.asarray(labels)[keep]


def notice_empty_classes(task, data, data_dir):
    """A notice naming the classes without training clips (e.g. _unknown_ in a 10-word folder)."""
    empty = [c for i, c in enumerate(task.classes) if not np.any(data['train'][1] == i)]
    if empty:
        env.notice(f'No training clips for {", ".join(empty)} in {data_dir}: the model cannot '
                   'learn those classes here.')
    return empty


# --- a long recording for streaming --------------------------------------------------------------

def build_stream(clips, labels, noise_parts, n_commands=8, gap_seconds=(1.0, 2.5),
                 noise_level=0.05, seed=0, sample_rate=SAMPLE_RATE):
    """A recording with n_commands one-second clips in background noise, apart by random gaps.

    clips (int16 or float, (N, samples)) and labels come from the test split, noise_parts from
    the test part of the background noise, so nothing here was heard in training. noise_level:
    each noise piece scaled to this RMS, or None to keep the recordings' own level (the level
    the _silence_ clips and the training noise were cut at). Returns (audio float32, events):
    events is a list of (start second, label) of each inserted clip.
    """
    if len(clips) == 0:
        raise ValueError('build_stream needs at least one clip')
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(clips), size=n_commands, replace=len(clips) < n_commands)
    gaps = rng.uniform(*gap_seconds, size=n_commands + 1)
    clip_len = clips.shape[1]
    total = int(round(gaps.sum() * sample_rate)) + n_commands * clip_len
    audio = np.zeros(total, np.float32)
    if noise_parts:  # background noise all along: pieces of the recordings, end to end
        pos = 0
        while pos < total:
            piece = noise_parts[int(rng.integers(len(noise_parts)))]
            take = min(len(piece), total - pos)
            gain = 1.0 if noise_level is None else noise_level / max(float(np.std(piece)), 1e-6)
            audio[pos:pos + take] = piece[:take] * gain
            pos += take
    events, pos = [], 0
    for gap, index in zip(gaps, chosen):
        pos += int(round(gap * sample_rate))
        audio[pos:pos + clip_len] += as_float(clips[index])
        events.append((pos / sample_rate, int(labels[index])))
        pos += clip_len
    return np.clip(audio, -1.0, 1.0), events


def score_detections(detections, events, tolerance=0.75, clip_seconds=CLIP_SAMPLES / SAMPLE_RATE):
    """Match detections [(second, label)] to events [(start second, label)].

    A detection is a hit when it falls within the event's clip (start - tolerance to
    start + clip length + tolerance) with the right label and that event is not matched yet;
    every other detection is a false alarm. Returns (hits, misses, false_alarms).
    """
    matched, false_alarms = set(), 0
    for when, label in detections:
        found = [i for i, (start, true) in enumerate(events) if i not in matched and true == label
                 and start - tolerance <= when <= start + clip_seconds + tolerance]
        if found:
            matched.add(found[0])
        else:
            false_alarms += 1
    return len(matched), len(events) - len(matched), false_alarms


def plot_stream(times, smoothed, events, detections, classes, keyword_ids, ax=None):
    """Smoothed keyword probabilities over time; grey spans: the inserted commands (true word on
    top); triangles: the detections (detected word beside them)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 3.5))
    for i in keyword_ids:
        ax.plot(times, smoothed[:, i], label=classes[i], lw=1)
    for start, label in events:
        ax.axvspan(start, start + CLIP_SAMPLES / SAMPLE_RATE, color='grey', alpha=0.15)
        ax.text(start + 0.5, 1.03, classes[label], ha='center', fontsize=9)
    for when, label in detections:
        ax.plot(when, 0.95, 'kv')
        ax.text(when + 0.05, 0.86, classes[label], fontsize=8)
    ax.set(xlabel='time (s)', ylabel='smoothed probability', ylim=(0, 1.12))
    ax.legend(ncol=6, fontsize=8, loc='lower right')
    return ax


# --- your own voice ----------------------------------------------------------------------------

def decode_wav(source, sample_rate=SAMPLE_RATE, clip_samples=CLIP_SAMPLES):
    """A WAV file (path, or its bytes) -> the one second around its loudest part, float32 16 kHz mono.

    Any rate and channel count: channels are averaged and the audio resampled (soxr). Shorter
    recordings are padded with zeros. Raises ValueError naming the source when it cannot be used.
    """
    import soundfile as sf
    name = '<recorded bytes>' if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        audio, rate = sf.read(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source,
                              dtype='float32', always_2d=True)
    except Exception as err:
        raise ValueError(f'{name}: cannot decode it as audio ({err}); record or choose a WAV file') from None
    if audio.size == 0:
        raise ValueError(f'{name}: the recording is empty')
    audio = audio.mean(axis=1)
    if rate != sample_rate:
        import soxr
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    if len(audio) <= clip_samples:
        return np.pad(audio, (0, clip_samples - len(audio)))
    # Centre the second on the loudest 100 ms: a command recorded with silence around it.
    hop = sample_rate // 10
    energy = np.convolve(audio ** 2, np.ones(hop), mode='same')
    start = int(np.clip(int(energy.argmax()) - clip_samples // 2, 0, len(audio) - clip_samples))
    return audio[start:start + clip_samples].astype(np.float32)


def record_in_colab(seconds=2.0):  # pragma: no cover - browser glue, runs only in Colab
    """Record from the microphone in Colab; returns the WAV bytes (decode them with decode_wav)."""
    import base64
    from google.colab.output import eval_js
    from IPython.display import Javascript, display
    display(Javascript('''
      async function recordAudio(ms) {
        const stream = await navigator.mediaDevices.getUserMedia({audio: true});
        const recorder = new MediaRecorder(stream); const chunks = [];
        recorder.ondataavailable = e => chunks.push(e.data);
        recorder.start(); await new Promise(r => setTimeout(r, ms)); recorder.stop();
        await new Promise(r => recorder.onstop = r);
        stream.getTracks().forEach(t => t.stop());
        const buffer = await new Blob(chunks).arrayBuffer();
        const ctx = new AudioContext(); const decoded = await ctx.decodeAudioData(buffer);
        const pcm = decoded.getChannelData(0); const view = new DataView(new ArrayBuffer(44 + pcm.length * 2));
        const text = (o, s) => [...s].forEach((c, i) => view.setUint8(o + i, c.charCodeAt(0)));
        text(0, 'RIFF'); view.setUint32(4, 36 + pcm.length * 2, true); text(8, 'WAVEfmt ');
        view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
        view.setUint32(24, decoded.sampleRate, true); view.setUint32(28, decoded.sampleRate * 2, true);
        view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, 'data');
        view.setUint32(40, pcm.length * 2, true);
        pcm.forEach((v, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, v)) * 32767, true));
        let binary = ''; new Uint8Array(view.buffer).forEach(b => binary += String.fromCharCode(b));
        return btoa(binary);
      }'''))
    print(f'Recording for {seconds:.0f} s: say one command now...')
    return base64.b64decode(eval_js(f'recordAudio({int(seconds * 1000)})'))


# --- running a TFLite model ----------------------------------------------------------------------

# Built-in ops of a model with the STFT inside that TensorFlow Lite for Microcontrollers registers
# no kernel for (tensorflow/tflite-micro, tensorflow/lite/micro/micro_mutable_op_resolver.h; it
# does have FLOOR_DIV). TFLM computes such features with the custom ops of its signal library
# instead (window, RFFT, energy, filter bank, log, in fixed point): the micro_speech example's
# audio preprocessor is a small model made of them.
MICRO_MISSING_OPS = ('RFFT2D', 'REAL', 'IMAG', 'COMPLEX_ABS', 'RANGE', 'REDUCE_PROD')


def tflite_interpreter(path, threads=1):
    """A TFLite interpreter: ai-edge-litert when installed, else TensorFlow's built-in one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        runtime = 'ai_edge_litert'
    except ImportError:
        import tensorflow as tf
        Interpreter, runtime = tf.lite.Interpreter, 'tf.lite.Interpreter'
    with warnings.catch_warnings(), quiet_native_logs():
        warnings.simplefilter('ignore')  # tf.lite.Interpreter warns that it is deprecated
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    return interpreter, runtime


def tflite_ops(interpreter):
    """The sorted operator names of a loaded model (interpreter API, best effort)."""
    try:
        return sorted({op['op_name'] for op in interpreter._get_ops_details()})
    except Exception:  # a runtime without the helper
        return []


def to_int8(values, quantization, dtype=np.int8):
    """Float values -> the integers an int8 tensor holds: round(value / scale + zero point),
    clipped to the type's range (quantization is TFLite's (scale, zero point) pair)."""
    scale, zero = quantization
    if not scale:
        raise ValueError('this tensor has no quantisation parameters (scale 0): it is not an int8 tensor')
    info = np.iinfo(dtype)
    return np.clip(np.round(np.asarray(values, np.float32) / scale + zero), info.min, info.max).astype(dtype)


def from_int8(values, quantization):
    """The integers of an int8 tensor -> the float values they stand for: (q - zero point) * scale."""
    scale, zero = quantization
    return (np.asarray(values, np.float32) - zero) * scale


def tflite_predict(interpreter, inputs):
    """Class probabilities for inputs (N, ...), one per invoke as on a device; also the median
    seconds per invoke (host-CPU latency, not a microcontroller's). A model with int8 input and
    output (quantised throughout) gets its inputs quantised with the input's scale and zero
    point, and its outputs dequantised, as a device's code around it would do."""
    import time
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    integer_in = np.issubdtype(inp['dtype'], np.integer)
    integer_out = np.issubdtype(out['dtype'], np.integer)
    probs, times = [], []
    for x in as_float(inputs):
        x = to_int8(x, inp['quantization'], inp['dtype']) if integer_in else x
        interpreter.set_tensor(inp['index'], x[None])
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
        y = interpreter.get_tensor(out['index'])[0]
        probs.append(from_int8(y, out['quantization']) if integer_out else y.copy())
    return np.array(probs), float(np.median(times)) if times else float('nan')


def write_tflite(model, path, configure=None):
    """Convert a Keras 3 model to a TensorFlow Lite file at path (written atomically) and return
    the path. The model goes through a SavedModel export in a temporary folder, quietly
    (from_keras_model does the same, but prints the export's endpoint listing);
    configure(converter), when given, sets the options (quantisation) before the conversion."""
    import tempfile
    import tensorflow as tf
    with tempfile.TemporaryDirectory() as tmp:
        model.export(os.path.join(tmp, 'saved_model'), format='tf_saved_model', verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(os.path.join(tmp, 'saved_model'))
        if configure is not None:
            configure(converter)
        with quiet_native_logs():  # the converter's C++ chatter on stderr
            flatbuffer = converter.convert()
    with atomic_path(path) as partial:
        Path(partial).write_bytes(flatbuffer)
    return Path(path)


# --- training for a fixed time -------------------------------------------------------------------

def time_budget(seconds, clock=None):
    """A Keras callback that ends training once another epoch would not finish within `seconds`
    of training (judged by the mean epoch so far; at least one epoch runs): two models can then
    be compared at the same training time. Its `epochs_run` and `seconds_used` say what ran.
    clock: a function returning seconds (default time.perf_counter)."""
    import time
    import keras
    clock = clock or time.perf_counter

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.epochs_run, self.seconds_used = clock(), 0, 0.0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs_run = epoch + 1
            self.seconds_used = clock() - self.start
            if self.seconds_used * (self.epochs_run + 1) / self.epochs_run > seconds:
                self.model.stop_training = True

    return TimeBudget()


# --- training batches ---------------------------------------------------------------------------

def training_batches(clips, labels, num_classes, batch_size=32, augment=None, seed=0):
    """A keras.utils.PyDataset of (float32 audio, one-hot labels) batches over int16 or float
    clips, reshuffled every epoch; augment(clip, rng), when given, changes each clip in place."""
    import keras

    class ClipBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.targets = np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]
            self.order = self.rng.permutation(len(clips))

        def __len__(self):
            return int(np.ceil(len(clips) / batch_size))

        def __getitem__(self, index):
            idx = self.order[index * batch_size:(index + 1) * batch_size]
            x = as_float(clips[idx])
            if augment is not None:
                for clip in x:
                    augment(clip, self.rng)
            return np.clip(x, -1.0, 1.0), self.targets[idx]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(clips))

    return ClipBatches()
