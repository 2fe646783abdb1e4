"""MIDI and NoteSequence plumbing for the melody notebook (03): what a reader need not read.

* primers: reading MIDI files, the top voice of a polyphonic file, one tempo and one metre,
  the checks Magenta's quantizer would otherwise fail on deep inside;
* bundles: the checks and clear errors around reading Magenta ``.mag`` files (GeneratorBundle
  protobufs) and restoring their weights, the checks on a continuation's arguments;
* the music21 folk corpus as NoteSequences, filtered to metres MelodyRNN's encoding fits;
* the split by tune shared by the shipped bundle and the notebook: stable tune ids, groups of
  duplicates (same O'Neill number, melodic twins) kept on one side, stored beside the bundle;
* held-out scoring helpers: reading encoded melodies back, counting baselines (label
  frequencies, previous label, previous label and position in the bar), simple melody statistics;
* sound and pictures: FluidSynth synthesis (with a sine fallback without libfluidsynth),
  piano rolls (matplotlib, Bokeh), sheet music (music21 -> MusicXML -> verovio SVG, offline).

The Magenta calls themselves (read_bundle_file, the generator map, initialize(), GeneratorOptions
with its section times, generate, the pipeline and training) stay in the notebook, where the
reader sees them. Heavy libraries (note_seq, TensorFlow, music21, Bokeh,
matplotlib, verovio) are imported inside the functions that need them; the melody notebook sets
TF_USE_LEGACY_KERAS=1 before anything here imports TensorFlow.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import env
from .files import atomic_path

# The four configurations Magenta released as .mag bundles (magenta/models/melody_rnn).
MELODY_CONFIGS = ('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn')

# The shipped bundle: trained by this project (scripts/train_folk_bundle.py), see checkpoints/README.md.
SHIPPED_DIR = env.CHECKPOINT_DIR / 'shipped'


class BundleError(ValueError):
    """A .mag file that cannot be used as a MelodyRNN bundle."""


def check_config(name: str) -> str:
    """Return ``name`` if it is a released MelodyRNN configuration, else a clear error."""
    if name not in MELODY_CONFIGS:
        raise ValueError(f'unknown MelodyRNN configuration {name!r}; valid configurations: '
                         f'{", ".join(MELODY_CONFIGS)} (set MELODY_CONFIG to one of them)')
    return name


def tensorflow_gpu() -> bool:
    """Whether TensorFlow can use a GPU here (tf.config.list_physical_devices), not merely whether
    one is plugged in: a card TensorFlow cannot drive (no CUDA build, driver mismatch) is no GPU
    for training or for attention_rnn's generation. Sets TF_USE_LEGACY_KERAS=1 first (unless set),
    as Magenta needs, since this imports TensorFlow."""
    os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
    import tensorflow as tf
    return bool(tf.config.list_physical_devices('GPU'))


def shipped_bundle(config: str | None = None) -> Path | None:
    """The bundle this project trained and ships in checkpoints/shipped/ (``config`` or any), or None."""
    pattern = f'folk_{check_config(config)}.mag' if config else 'folk_*.mag'
    found = sorted(SHIPPED_DIR.glob(pattern))
    return found[0] if found else None


def released_or_shipped(config: str, load):
    """Magenta's released bundle for ``config``, loaded with ``load(path, config)``; if it cannot be
    downloaded or loaded (offline, fast mode, a file that does not restore), the bundle this
    project ships, with a notice saying why. Returns (path, generator)."""
    from . import assets
    try:
        path = assets.fetch_asset(f'melody_rnn_{check_config(config)}')  # downloaded once into checkpoints/
        return path, load(path, config)
    except (assets.DownloadError, KeyError, OSError, BundleError) as err:
        path = shipped_bundle()
        env.notice(f'The released {config} bundle cannot be used ({type(err).__name__}: {err}). '
                   f'Continuing with the bundle this project trained on folk tunes: {path.name}.')
        return path, load(path)


# --------------------------------------------------------------------------------------
# The music21 folk corpus
# --------------------------------------------------------------------------------------

# Lookback distances (1 and 2 bars) and the bar-position counter of lookback_rnn/attention_rnn
# are fixed at 16 and 32 sixteenth-note steps: 4/4 (or 2/2) bars. In 2/4 they are 2 and 4 bars,
# still on bar lines. In 6/8 or 3/4 (12 steps a bar) they fall mid-bar.
BAR_QUARTERS_THAT_FIT = (2.0, 4.0)
FOLK_COLLECTIONS = ('oneills1850', 'ryansMammoth')


def _bar_quarters(score) -> set[float]:
    from music21 import meter
    # From the written metre, not ts.barDuration (music21 shortens it for pick-up bars).
    return {4.0 * ts.numerator / ts.denominator
            for ts in score.recurse().getElementsByClass(meter.TimeSignature)}


def _opens_with_pickup(score) -> bool:
    from music21 import stream
    measures = score.recurse().getElementsByClass(stream.Measure)
    return bool(measures) and measures[0].paddingLeft > 0


def corpus_with_cache(cache: str | os.PathLike | None, max_tunes: int | None = None):
    """corpus_tunes(max_tunes), kept in ``cache`` (a pickle of serialized NoteSequences and the
    report) when given, so a second run skips music21's slow parsing. A cache holding fewer
    tunes than asked for is read again."""
    import pickle
    from note_seq.protobuf import music_pb2
    if cache and Path(cache).is_file():
        stored = pickle.loads(Path(cache).read_bytes())
        held = stored.get('max_tunes')  # None: the whole corpus
        if held is None or (max_tunes is not None and max_tunes <= held):
            tunes = [music_pb2.NoteSequence.FromString(b) for b in stored['tunes']]
            return (tunes[:max_tunes] if max_tunes else tunes), stored['report']
    tunes, report = corpus_tunes(max_tunes)
    if cache:
        with atomic_path(cache) as tmp:
            Path(tmp).write_bytes(pickle.dumps({'tunes': [t.SerializeToString() for t in tunes],
                                                'report': report, 'max_tunes': max_tunes}))
    return tunes, report


def tune_id(collection: str, file_stem: str, score, position: int) -> str:
    """A tune's stable id: 'collection/file/X<number>' from the ABC reference number (X:), which
    does not move when music21 adds, drops or reorders tunes; 'collection/file/#<position>' for a
    tune without one."""
    number = getattr(score.metadata, 'number', None) if score.metadata else None
    number = str(number).strip() if number not in (None, '') else ''
    return f'{collection}/{file_stem}/' + (f'X{number}' if number else f'#{position}')


def corpus_tunes(max_tunes: int | None, collections: Sequence[str] = FOLK_COLLECTIONS,
                 bar_quarters: Sequence[float] | None = BAR_QUARTERS_THAT_FIT):
    """Up to ``max_tunes`` folk melodies from the corpus that ships with music21, as NoteSequences.

    Each tune goes music21 score -> MIDI bytes -> NoteSequence, the route a MIDI file takes.
    Chord symbols are removed first (music21 would sound them and Magenta's extractor would then
    drop the tune as polyphonic); a tune that is still polyphonic (ABC chords, grace notes) keeps
    its top voice. ``bar_quarters``: keep only tunes whose every bar lasts one of these numbers
    of quarter notes (default 2 or 4: 2/4, 4/4, 2/2); None keeps all.

    Pickups are not moved: music21 starts a tune's first bar at time 0 even when it is a pickup
    (an incomplete bar, music21's paddingLeft > 0), so in such a tune the bar lines of the
    NoteSequence, and Magenta's bar grid (lookback_rnn's step counter, attention_rnn's
    start-of-bar flag), sit the pickup's length before the real ones. Lookbacks of 1 and 2 bars
    are distances, so they still compare the same beats of two bars.

    Returns (sequences, report) where report counts 'read', 'skipped' (music21 cannot write the
    tune as MIDI), 'other_metre' (filtered out), 'pickup' (read tunes that open with a pickup)
    and 'metres' (Counter of what was seen).
    """
    from music21 import corpus, exceptions21, harmony
    from music21 import midi as m21_midi
    import note_seq
    if max_tunes is not None and max_tunes < 1:
        raise ValueError(f'max_tunes must be >= 1 (or None for all), got {max_tunes}')
    report = {'read': 0, 'skipped': 0, 'other_metre': 0, 'pickup': 0, 'metres': Counter()}
    sequences = []
    for collection in collections:
        paths = sorted(p for p in corpus.getPaths(fileExtensions=('abc',)) if collection in p.parts)
        if not paths:
            raise ValueError(f'music21 corpus collection {collection!r} not found (music21 installed '
                             'without its corpus?)')
        for path in paths:
            opus = corpus.parse(path)
            for number, score in enumerate(getattr(opus, 'scores', [opus])):
                if max_tunes is not None and len(sequences) >= max_tunes:
                    return sequences, report
                bars = _bar_quarters(score)
                report['metres'][','.join(f'{q:g}' for q in sorted(bars)) or 'none'] += 1
                if bar_quarters is not None and (not bars or not bars <= set(bar_quarters)):
                    report['other_metre'] += 1
                    continue
                for symbol in list(score.recurse().getElementsByClass(harmony.ChordSymbol)):
                    symbol.activeSite.remove(symbol)
                try:
                    midi_bytes = m21_midi.translate.streamToMidiFile(score).writestr()
                    sequence = note_seq.midi_to_note_sequence(midi_bytes)
                except (exceptions21.Music21Exception, note_seq.MIDIConversionError):
                    report['skipped'] += 1
                    continue
                if not any(not n.is_drum for n in sequence.notes):
                    report['skipped'] += 1
                    continue
                if not is_monophonic(sequence):
                    sequence = extract_melody(sequence)
                sequence.id = tune_id(collection, path.stem, score, number)
                if score.metadata and score.metadata.title:
                    sequence.sequence_metadata.title = score.metadata.title
                sequence.collection_name = collection
                sequence.filename = path.name
                sequences.append(sequence)
                report['read'] += 1
                report['pickup'] += _opens_with_pickup(score)
    return sequences, report


# --------------------------------------------------------------------------------------
# Splitting by tune: stable ids, groups of duplicates, the split stored with the bundle
# --------------------------------------------------------------------------------------

# The twin rule (see tune_groups): two tunes are one tune when their first TWIN_INTERVALS
# melodic intervals (semitones between successive notes, so transposition and rhythm do not
# matter: Ryan's 2/4 in sixteenths and O'Neill's 2/2 in eighths give the same intervals) agree at
# TWIN_MATCH or more of the positions both have, at some shift of up to TWIN_MAX_SHIFT notes (a
# pickup note written in one copy only), over at least TWIN_MIN_INTERVALS positions.
TWIN_INTERVALS, TWIN_MATCH, TWIN_MAX_SHIFT, TWIN_MIN_INTERVALS = 48, 0.9, 2, 24

# The file beside the shipped bundle that holds its split (ids of every tune on each side).
FOLK_SPLIT_FILE = 'folk_lookback_rnn.split.json'

# The split the first shipped bundle (2026-12-06) was trained on: list positions of
# corpus_tunes(None) under music21 10.5, shuffled with seed 0, 10 % held out. It put former twins
# on both sides; it is kept only so benchmarks/bench_melody.py can measure that bundle.
POSITION_SPLIT_2026_12_06 = {'holdout_fraction': 0.1, 'seed': 0, 'corpus_size': 1754}


def oneill_number(tune_id: str) -> int | None:
    """O'Neill's tune number, the ABC reference number of his collection's files (the same tune
    appears in two overlapping files, e.g. 0626-0635 and 0626-0700), or None for other tunes."""
    collection, _, number = tune_id.split('/', 2)
    if collection != 'oneills1850' or not re.fullmatch(r'X\d+', number):
        return None
    return int(number[1:])


def interval_signature(sequence, count: int = TWIN_INTERVALS) -> np.ndarray:
    """The first ``count`` melodic intervals (semitones) of a tune's notes in time order (at each
    onset the highest note): transposition- and tempo-invariant."""
    onsets: dict[float, int] = {}
    for n in sequence.notes:
        if not n.is_drum:
            key = round(n.start_time, 4)
            onsets[key] = max(n.pitch, onsets.get(key, -1))
    pitches = np.array([onsets[t] for t in sorted(onsets)], np.int64)
    return np.diff(pitches)[:count]


def pitch_checksum(sequence) -> str:
    """8 hex digits of the tune's pitches in time order: the same tune read the same way."""
    import hashlib
    pitches = [n.pitch for n in sorted(sequence.notes, key=lambda n: (n.start_time, -n.pitch))
               if not n.is_drum]
    return hashlib.sha1(bytes(p % 256 for p in pitches)).hexdigest()[:8]


def twin_pairs(signatures: Sequence[np.ndarray], others: Sequence[np.ndarray] | None = None,
               match: float = TWIN_MATCH, max_shift: int = TWIN_MAX_SHIFT,
               min_intervals: int = TWIN_MIN_INTERVALS) -> list[tuple[int, int, float]]:
    """(i, j, share) for each pair whose interval signatures agree on at least ``match`` of the
    positions both have, at the best shift in -max_shift..max_shift, over at least
    ``min_intervals`` positions. Within ``signatures`` (i < j) or, given ``others``, between
    signatures[i] and others[j]."""
    within = others is None
    others = signatures if within else others
    width = max([len(s) for s in list(signatures) + list(others)] + [1])

    def matrix(rows, pad):
        out = np.full((len(rows), width + 2 * max_shift), pad, np.int64)
        for r, sig in enumerate(rows):
            out[r, max_shift:max_shift + len(sig)] = sig
        return out

    missing_a, missing_b = 10_000, 20_000  # padding never matches anything
    a, b = matrix(signatures, missing_a), matrix(others, missing_b)
    best = np.zeros((len(signatures), len(others)))
    for shift in range(-max_shift, max_shift + 1):
        agree = np.zeros(best.shape, np.int32)
        both = np.zeros(best.shape, np.int32)
        for col in range(max_shift, max_shift + width):
            x, y = a[:, col], b[:, col + shift]
            agree += x[:, None] == y[None, :]
            both += (x != missing_a)[:, None] & (y != missing_b)[None, :]
        share = np.where(both >= min_intervals, agree / np.maximum(both, 1), 0.0)
        best = np.maximum(best, share)
    if within:
        best = np.triu(best, 1)
    found = np.argwhere(best >= match)
    return [(int(i), int(j), float(best[i, j])) for i, j in found]


def tune_groups(tunes, **twin_rule) -> tuple[list[int], dict]:
    """Which tunes are one tune: a group number per tune (connected components of "same O'Neill
    number" and of twin_pairs), and a report counting the links and the groups of two or more."""
    ids = [t.id for t in tunes]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f'tune id {duplicate!r} occurs twice: ids must be unique to split by tune')
    parent = list(range(len(tunes)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        parent[root(i)] = root(j)

    by_number: dict[int, int] = {}
    same_number = 0
    for i, tune_id in enumerate(ids):
        number = oneill_number(tune_id)
        if number is not None:
            if number in by_number:
                join(i, by_number[number])
                same_number += 1
            else:
                by_number[number] = i
    pairs = twin_pairs([interval_signature(t) for t in tunes], **twin_rule)
    for i, j, _ in pairs:
        join(i, j)
    roots = [root(i) for i in range(len(tunes))]
    numbering = {r: g for g, r in enumerate(dict.fromkeys(roots))}
    groups = [numbering[r] for r in roots]
    sizes = Counter(groups)
    report = {'tunes': len(tunes), 'same_oneill_number_links': same_number,
              'melodic_twin_pairs': len(pairs), 'groups': len(sizes),
              'groups_of_two_or_more': sum(1 for n in sizes.values() if n > 1),
              'tunes_in_such_groups': sum(n for n in sizes.values() if n > 1),
              'largest_group': max(sizes.values()) if sizes else 0}
    return groups, report


def choose_holdout(ids: Sequence[str], groups: Sequence[int], holdout_fraction: float = 0.1,
                   seed: int = 0) -> list[str]:
    """Hold out whole groups: the groups, ordered by their first id and shuffled (seeded), are
    taken in turn until round(holdout_fraction * len(ids)) tunes are held out. Sorted ids."""
    if not 0 < holdout_fraction < 1:
        raise ValueError(f'holdout fraction must be between 0 and 1 (exclusive), got '
                         f'{holdout_fraction}')
    members: dict[int, list[str]] = {}
    for tune_id, group in zip(ids, groups):
        members.setdefault(group, []).append(tune_id)
    ordered = sorted(members.values(), key=min)
    if len(ordered) < 2:
        raise ValueError(f'{len(ids)} tunes form {len(ordered)} group: nothing left to train on')
    target = max(1, round(holdout_fraction * len(ids)))
    held: list[str] = []
    for index in np.random.default_rng(seed).permutation(len(ordered)):
        if len(held) >= target:
            break
        held.extend(ordered[index])
    return sorted(held)


def make_folk_split(tunes, holdout_fraction: float = 0.1, seed: int = 0, **twin_rule) -> dict:
    """The split stored beside the shipped bundle (FOLK_SPLIT_FILE): the rule, what it found, and
    every tune's id and pitch checksum on each side."""
    groups, report = tune_groups(tunes, **twin_rule)
    ids = [t.id for t in tunes]
    held = set(choose_holdout(ids, groups, holdout_fraction, seed))
    rule = {'intervals': TWIN_INTERVALS, 'match': TWIN_MATCH, 'max_shift': TWIN_MAX_SHIFT,
            'min_intervals': TWIN_MIN_INTERVALS, **twin_rule}
    group_of, sizes = {t.id: g for t, g in zip(tunes, groups)}, Counter(groups)
    return {
        'rule': ("whole groups of tunes held out; a group joins tunes with the same O'Neill number "
                 f"and tunes whose first {rule['intervals']} melodic intervals agree on at least "
                 f"{rule['match']:.0%} of the positions both have (best shift of up to "
                 f"{rule['max_shift']} notes, at least {rule['min_intervals']} positions)"),
        'twin_rule': rule, 'holdout_fraction': holdout_fraction, 'seed': seed, 'groups': report,
        'holdout': {t.id: pitch_checksum(t) for t in tunes if t.id in held},
        'train': {t.id: pitch_checksum(t) for t in tunes if t.id not in held},
        'group_of': {tune_id: group_of[tune_id] for tune_id in ids
                     if sizes[group_of[tune_id]] > 1},
    }


def read_folk_split(path: str | os.PathLike | None = None) -> dict:
    """The stored split (default: the one beside the shipped bundle), or a clear error."""
    import json
    path = Path(path) if path else SHIPPED_DIR / FOLK_SPLIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f'the folk split {path} is missing: it ships beside the bundle in '
                                'checkpoints/shipped/ (restore it from the repository)')
    split = json.loads(path.read_text(encoding='utf-8'))
    if not isinstance(split.get('holdout'), dict) or not isinstance(split.get('train'), dict):
        raise ValueError(f'{path} has no "holdout" and "train" tune ids: not a folk split file')
    return split


def split_by_ids(tunes, split: dict | None = None, complete: bool | None = None):
    """(train, held-out) tunes by the stored split's ids, checking the tunes are the same ones.

    A tune whose id the split does not know, or whose pitches differ from the stored checksum
    (another music21 version reads it differently), is left out of both sides, with a notice:
    it may be a twin of a tune on the other side. ``complete`` (default: as many tunes as the
    split names were given) also checks that every stored held-out tune was found.
    """
    split = read_folk_split() if split is None else split
    known = {**split['train'], **split['holdout']}
    train, holdout, unknown, changed = [], [], [], []
    for tune in tunes:
        if tune.id not in known:
            unknown.append(tune.id)
        elif known[tune.id] != pitch_checksum(tune):
            changed.append(tune.id)
        else:
            (holdout if tune.id in split['holdout'] else train).append(tune)
    if complete is None:
        complete = len(tunes) >= len(known)
    missing = sorted(set(split['holdout']) - {t.id for t in holdout}) if complete else []
    if unknown or changed or missing:
        env.notice(f'The tunes differ from the stored split (another music21 version?): '
                   f'{len(unknown)} unknown ids (e.g. {unknown[:2]}), {len(changed)} read with other '
                   f'pitches (e.g. {changed[:2]}), {len(missing)} held-out tunes not found '
                   f'(e.g. {missing[:2]}). Unknown and changed tunes are left out of both sides; '
                   'figures are then not comparable with the stored ones.')
    if not train or not holdout:
        raise ValueError(f'{len(tunes)} tunes give {len(train)} training and {len(holdout)} '
                         'held-out tunes of the stored split; use more tunes (MELODY_TRAIN_TUNES)')
    return train, holdout


def split_tunes(sequences: Sequence, holdout_fraction: float, seed: int = 0,
                corpus_size: int | None = None):
    """A split by list position (the first bundle's, POSITION_SPLIT_2026_12_06): it keeps whole
    tunes apart but not copies of one tune, so use split_by_ids for new work.

    The positions 0 .. corpus_size - 1 are shuffled (seeded) and the first
    round(holdout_fraction * corpus_size) of them are held out. ``corpus_size`` (default:
    len(sequences)) lets ``sequences`` be the first tunes of a longer list.
    """
    if not 0 < holdout_fraction < 1:
        raise ValueError(f'holdout fraction must be between 0 and 1 (exclusive), got '
                         f'{holdout_fraction}')
    corpus_size = len(sequences) if corpus_size is None else int(corpus_size)
    if len(sequences) > corpus_size:
        raise ValueError(f'{len(sequences)} tunes given, but the split is defined over the first '
                         f'{corpus_size}: the corpus has changed (another music21 version?)')
    if corpus_size < 2:
        raise ValueError(f'{corpus_size} tunes cannot be split into training and held-out '
                         'tunes; use more tunes (MELODY_TRAIN_TUNES)')
    order = np.random.default_rng(seed).permutation(corpus_size)
    n_holdout = min(corpus_size - 1, max(1, round(holdout_fraction * corpus_size)))
    held_out = set(order[:n_holdout].tolist())
    holdout = [s for i, s in enumerate(sequences) if i in held_out]
    train = [s for i, s in enumerate(sequences) if i not in held_out]
    if not holdout or not train:
        raise ValueError(f'the first {len(sequences)} of {corpus_size} tunes give '
                         f'{len(train)} training and {len(holdout)} held-out tunes; use more '
                         'tunes (MELODY_TRAIN_TUNES)')
    return train, holdout


def write_tfrecord(examples: Iterable, path: str | os.PathLike) -> Path:
    """Write protobuf examples to a TFRecord file atomically."""
    import tensorflow as tf
    with atomic_path(path) as tmp:
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for example in examples:
                writer.write(example.SerializeToString())
    return Path(path)


def sequence_example_arrays(example) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [steps, features], labels [steps]) of one SequenceExample (or its bytes)."""
    import tensorflow as tf
    if isinstance(example, bytes):
        example = tf.train.SequenceExample.FromString(example)
    features = example.feature_lists.feature_list
    inputs = np.array([f.float_list.value for f in features['inputs'].feature], np.float32)
    labels = np.array([f.int64_list.value[0] for f in features['labels'].feature], np.int64)
    return inputs, labels


def read_sequence_examples(tfrecord: str | os.PathLike) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs [steps, features], labels [steps]) of each SequenceExample in a TFRecord file."""
    import tensorflow as tf
    return [sequence_example_arrays(record.numpy()) for record in tf.data.TFRecordDataset(str(tfrecord))]


# What Magenta's training loop logs about its progress (tf.compat.v1.logging at INFO): the
# LoggingTensorHook's "Accuracy = ..., Global Step = ..., Loss = ..., Perplexity = ..." every
# summary_frequency steps, the StepCounterHook's speed, and the start and end of the loop.
_PROGRESS = re.compile(r'Global Step = |global_step/sec|Starting training loop|Training complete')


class _ProgressOnly:
    """A logging filter that lets only Magenta's progress lines through (no deprecation notes)."""

    def filter(self, record) -> bool:
        return bool(_PROGRESS.search(record.getMessage()))


@contextlib.contextmanager
def training_progress_log():
    """While the block runs, TensorFlow's logger shows Magenta's training progress at INFO level
    and nothing else (the graph code's many deprecation warnings stay hidden); then as before."""
    import tensorflow as tf
    logger = tf.get_logger()
    level, progress = logger.level, _ProgressOnly()
    logger.setLevel('INFO')
    logger.addFilter(progress)
    try:
        yield
    finally:
        logger.removeFilter(progress)
        logger.setLevel(level)


def read_training_curve(train_dir: str | os.PathLike) -> list[tuple[int, float, float]]:
    """(step, loss, accuracy) rows from the summaries Magenta's training loop writes."""
    import tensorflow as tf
    rows: dict[int, dict[str, float]] = {}
    for events_file in sorted(Path(train_dir).glob('events.out.tfevents.*')):
        for event in tf.compat.v1.train.summary_iterator(str(events_file)):
            for value in event.summary.value:
                if value.tag in ('loss', 'metrics/accuracy'):
                    rows.setdefault(event.step, {})[value.tag] = value.simple_value
    return [(step, v['loss'], v['metrics/accuracy']) for step, v in sorted(rows.items())
            if 'loss' in v and 'metrics/accuracy' in v]


def majority_baseline(train_labels: Iterable[np.ndarray], holdout_labels: Iterable[np.ndarray],
                      num_classes: int) -> dict:
    """What a model without context scores: the label frequencies of the training melodies.

    accuracy: always predicting the most frequent training label; log-likelihood: predicting the
    training frequencies (add-one smoothed) at every step. A model must beat both.
    """
    counts = np.bincount(np.concatenate(list(train_labels)), minlength=num_classes) + 1.0
    probabilities = counts / counts.sum()
    held_out = np.concatenate(list(holdout_labels))
    majority = int(np.argmax(counts))
    return {'majority_label': majority, 'steps': int(held_out.size),
            'accuracy': float(np.mean(held_out == majority)),
            'log_likelihood_per_step': float(np.mean(np.log(probabilities[held_out])))}


def _label_contexts(labels: np.ndarray, num_classes: int, bar_steps: int):
    """(previous label, position in the bar) of each step; the first step's previous label is
    ``num_classes`` (start of melody). Label i is the class of event i + 1, at step i + 1."""
    previous = np.concatenate([[num_classes], labels[:-1]]).astype(np.int64)
    position = (np.arange(len(labels)) + 1) % bar_steps
    return previous, position


def ngram_baselines(train_labels: Iterable[np.ndarray], holdout_labels: Iterable[np.ndarray],
                    num_classes: int, bar_steps: int = 16, alpha: float = 1.0) -> dict:
    """Counting models of the next label, trained and scored on encoded melodies.

    * 'unigram (label frequencies)': no context; its accuracy is the majority-class baseline's;
    * 'bigram (previous label)': the label before it;
    * 'previous label + position in bar': also the step's position in a bar of ``bar_steps``
      sixteenth notes (16: the 4/4 bar MelodyRNN's counters and lookbacks assume).

    Each is smoothed toward the one above it (Dirichlet smoothing): P(y | c) = (n(c, y) +
    alpha * K * P_lower(y)) / (n(c) + alpha * K) with K = num_classes and, for the unigram,
    P_lower = 1/K, which is add-alpha smoothing (add-one by default, as majority_baseline). A
    context never seen in training falls back to the model below. Returns, per model, the held-out
    'accuracy' (its most likely label), 'log_likelihood_per_step' (nats) and 'steps'.
    """
    if bar_steps < 1 or alpha <= 0:
        raise ValueError(f'bar_steps must be >= 1 and alpha > 0, got {bar_steps} and {alpha}')
    train_labels = [np.asarray(labels, np.int64) for labels in train_labels]
    holdout_labels = [np.asarray(labels, np.int64) for labels in holdout_labels]
    if not any(len(labels) for labels in train_labels) or not any(len(l) for l in holdout_labels):
        raise ValueError('no training or no held-out labels to count')
    k, prior = num_classes, alpha * num_classes
    unigram = np.zeros(k)
    bigram = np.zeros((k + 1, k))
    positional = np.zeros((k + 1, bar_steps, k))
    for labels in train_labels:
        previous, position = _label_contexts(labels, k, bar_steps)
        np.add.at(unigram, labels, 1)
        np.add.at(bigram, (previous, labels), 1)
        np.add.at(positional, (previous, position, labels), 1)
    p_unigram = (unigram + alpha) / (unigram.sum() + prior)
    p_bigram = (bigram + prior * p_unigram) / (bigram.sum(-1, keepdims=True) + prior)
    p_positional = ((positional + prior * p_bigram[:, None, :])
                    / (positional.sum(-1, keepdims=True) + prior))
    steps = {'unigram (label frequencies)': [], 'bigram (previous label)': [],
             'previous label + position in bar': []}
    for labels in holdout_labels:
        previous, position = _label_contexts(labels, k, bar_steps)
        for name, p in zip(steps, (p_unigram[None, :].repeat(len(labels), 0),
                                   p_bigram[previous], p_positional[previous, position])):
            steps[name].append((p.argmax(-1) == labels, np.log(p[np.arange(len(labels)), labels])))
    return {name: {'accuracy': float(np.mean(np.concatenate([c for c, _ in rows]))),
                   'log_likelihood_per_step': float(np.mean(np.concatenate([l for _, l in rows]))),
                   'steps': int(sum(len(c) for c, _ in rows))}
            for name, rows in steps.items()}


def print_scores(rows: dict) -> None:
    """One line per model: held-out accuracy and log-likelihood (nats per step)."""
    print(f"{'':36s} {'accuracy':>8s} {'nats/step':>10s} {'steps':>7s}")
    for name, scores in rows.items():
        print(f"{name:36s} {scores['accuracy']:8.3f} {scores['log_likelihood_per_step']:10.3f} "
              f"{scores['steps']:7d}")


def verdict(name: str, scores: dict, baselines: dict, intervals: dict | None = None) -> str:
    """What the held-out log-likelihood per step supports about ``scores`` against the best
    baseline row, in words. Likelihood is the criterion (it scores every class the model gives
    probability to); accuracy only asks whether the most likely class was right, and does not move
    when one class dominates, so it is not part of the verdict.

    ``intervals`` (optional): {baseline name: (low, high)}, a 95 % interval of model minus
    baseline in nats per step (bootstrap over tunes, melody_baselines.bootstrap_difference).
    Without one the verdict says it is a point estimate. Compare only rows of one label space
    (the same configuration's encoding) and the same steps.
    """
    missing = [row for row in baselines.values() if row['steps'] != scores['steps']]
    if missing:
        raise ValueError(f"{name} was scored on {scores['steps']} steps, a baseline on "
                         f"{missing[0]['steps']}: they are not the same held-out melodies")
    key = 'log_likelihood_per_step'
    best = max(baselines, key=lambda base: baselines[base][key])
    gain = scores[key] - baselines[best][key]
    if intervals and best in intervals:
        low, high = intervals[best]
        figures = f'{gain:+.3f} nats per step (95 % interval {low:+.3f} to {high:+.3f})'
        if low > 0:
            return (f'{name} predicts the held-out tunes better than every baseline: {figures} '
                    f'over the best, {best}.')
        if high < 0:
            return f'{name} predicts the held-out tunes worse than {best}: {figures}.'
        return f'{name} is no better than {best} on the held-out tunes: {figures}.'
    if gain > 0:
        return (f'{name} gives the held-out labels a higher likelihood than every baseline: '
                f'{gain:+.3f} nats per step over the best, {best} (one point estimate, no '
                'interval over tunes).')
    return f'{name} is no better than {best} on the held-out tunes: {gain:+.3f} nats per step.'


@contextlib.contextmanager
def bundle_session(bundle):
    """A TF1 session with the bundle's generation graph and weights restored.

    Yields (session, inputs placeholder, softmax tensor, temperature placeholder): the tensors
    Magenta's events_rnn_graph puts in the graph's collections.
    """
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tempfile.TemporaryDirectory() as tmp, tf.Graph().as_default(), tf1.Session() as session:
        checkpoint = Path(tmp) / 'model.ckpt'
        checkpoint.write_bytes(bundle.checkpoint_file[0])
        (Path(tmp) / 'model.ckpt.meta').write_bytes(bundle.metagraph_file)
        saver = tf1.train.import_meta_graph(str(checkpoint) + '.meta')
        saver.restore(session, str(checkpoint))
        graph = session.graph
        yield (session, graph.get_collection('inputs')[0], graph.get_collection('softmax')[0],
               graph.get_collection('temperature')[0])


# --------------------------------------------------------------------------------------
# Primers
# --------------------------------------------------------------------------------------

def twinkle_twinkle():
    """The first phrase of Twinkle Twinkle Little Star at 60 quarter notes per minute (the recipe's primer)."""
    from note_seq.protobuf import music_pb2
    sequence = music_pb2.NoteSequence()
    pitches = [60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60]
    durations = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0]
    start = 0.0
    for pitch, duration in zip(pitches, durations):
        sequence.notes.add(pitch=pitch, start_time=start, end_time=start + duration, velocity=80)
        start += duration
    sequence.total_time = start
    sequence.tempos.add(qpm=60)
    sequence.time_signatures.add(numerator=4, denominator=4)
    return sequence


def read_midi_primer(path: str | os.PathLike):
    """A NoteSequence from a MIDI file, or a clear error naming the file."""
    import note_seq
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'MIDI primer {path} does not exist')
    try:
        sequence = note_seq.midi_file_to_note_sequence(str(path))
    except (note_seq.MIDIConversionError, OSError, EOFError, ValueError, KeyError,
            IndexError) as err:
        raise ValueError(f'cannot read {path} as a MIDI file ({type(err).__name__}: {err}); '
                         'give a Standard MIDI File (.mid)') from None
    sequence.filename = str(path)  # so prepare_primer's notices and errors can name the file
    return sequence


def is_monophonic(sequence) -> bool:
    """True when the pitched notes come from one instrument and never overlap in time."""
    notes = sorted((n for n in sequence.notes if not n.is_drum), key=lambda n: n.start_time)
    if len({(n.instrument, n.program) for n in notes}) > 1:
        return False
    return all(b.start_time >= a.end_time - 1e-6 for a, b in zip(notes, notes[1:]))


def extract_melody(sequence, instrument: int | None = None):
    """The top voice ("skyline") of one instrument as a monophonic NoteSequence.

    ``instrument`` defaults to the pitched instrument with the highest mean pitch, which is usually
    the tune. At each onset the highest note wins; a note is cut where the next one starts.
    """
    import note_seq
    from note_seq.protobuf import music_pb2
    pitched = [n for n in sequence.notes if not n.is_drum]
    if not pitched:
        raise ValueError('the primer has no pitched notes (it is empty or drums only); '
                         'a melody needs at least one pitched note')
    by_instrument: dict[int, list] = {}
    for n in pitched:
        by_instrument.setdefault(n.instrument, []).append(n)
    if instrument is None:
        instrument = max(by_instrument, key=lambda i: np.mean([n.pitch for n in by_instrument[i]]))
    elif instrument not in by_instrument:
        raise ValueError(f'the primer has no pitched notes for instrument {instrument}; it has '
                         f'instruments {sorted(by_instrument)}')
    top_by_onset = {}
    for n in by_instrument[instrument]:
        onset = round(n.start_time, 4)
        if onset not in top_by_onset or n.pitch > top_by_onset[onset].pitch:
            top_by_onset[onset] = n
    melody = music_pb2.NoteSequence()
    melody.tempos.extend(sequence.tempos)
    melody.time_signatures.extend(sequence.time_signatures)
    melody.key_signatures.extend(sequence.key_signatures)
    melody.ticks_per_quarter = sequence.ticks_per_quarter or note_seq.STANDARD_PPQ
    onsets = sorted(top_by_onset)
    for i, onset in enumerate(onsets):
        n = top_by_onset[onset]
        end = n.end_time if i + 1 == len(onsets) else min(n.end_time, top_by_onset[onsets[i + 1]].start_time)
        melody.notes.add(pitch=n.pitch, velocity=n.velocity, start_time=n.start_time,
                         end_time=end, program=n.program, instrument=0)
    melody.total_time = max(n.end_time for n in melody.notes)
    return melody


def _describe_changes(changes) -> str:
    """'90 qpm at 4.00 s, 72 qpm at 9.50 s and 3 more' from (value, time) pairs."""
    shown = ', '.join(f'{value} at {time:.2f} s' for value, time in changes[:3])
    return shown + (f' and {len(changes) - 3} more' if len(changes) > 3 else '')


def single_tempo_and_meter(primer, announce: bool = True):
    """Keep only the tempo and time signature in force at time 0 (MIDI's defaults, 120 qpm and 4/4,
    when nothing is set there): Magenta quantizes a primer against one of each and raises
    MultipleTempoError/MultipleTimeSignatureError otherwise. Real MIDI files often have tempo maps.

    What is dropped is announced. Notes keep their times in seconds; they are not re-timed, so after
    a dropped tempo change the model hears them on the first tempo's grid.
    """
    import note_seq
    source = primer.filename or 'the primer'
    dropped = []
    tempos = sorted(primer.tempos, key=lambda t: t.time)
    first_qpm = (tempos[0].qpm if tempos and tempos[0].time <= 1e-6
                 else note_seq.DEFAULT_QUARTERS_PER_MINUTE)
    changes = [(f'{t.qpm:.4g} qpm', t.time) for t in tempos
               if not math.isclose(t.qpm, first_qpm, rel_tol=1e-6)]
    if changes:
        dropped.append(f'tempo changes to {_describe_changes(changes)}; kept {first_qpm:.4g} qpm')
    del primer.tempos[:]
    primer.tempos.add(qpm=first_qpm, time=0.0)

    signatures = sorted(primer.time_signatures, key=lambda s: s.time)
    if signatures:
        first = ((signatures[0].numerator, signatures[0].denominator)
                 if signatures[0].time <= 1e-6 else (4, 4))
        changes = [(f'{s.numerator}/{s.denominator}', s.time) for s in signatures
                   if (s.numerator, s.denominator) != first]
        if changes:
            dropped.append(f'time-signature changes to {_describe_changes(changes)}; '
                           f'kept {first[0]}/{first[1]}')
        del primer.time_signatures[:]
        primer.time_signatures.add(numerator=first[0], denominator=first[1], time=0.0)
        numerator, denominator = first
        if numerator < 1 or denominator < 1 or denominator & (denominator - 1):
            raise ValueError(f'{source} has the time signature {numerator}/{denominator}; MelodyRNN '
                             'needs a numerator >= 1 and a power-of-two denominator (2, 4, 8, ...): '
                             'fix the time signature, or remove it to get 4/4')
    if dropped and announce:
        env.notice(f'{source} changes tempo or metre, and MelodyRNN quantizes a primer against '
                   f'one tempo and one time signature, so only the first ones are kept: '
                   f'dropped {"; dropped ".join(dropped)}. Notes keep their times in seconds '
                   '(they are not re-timed to the kept tempo).')
    return primer


def prepare_primer(sequence, instrument: int | None = None, announce: bool = True):
    """A primer MelodyRNN can use: non-empty, monophonic, one tempo and one time signature.

    Polyphonic or multi-instrument input gets its melody extracted, and tempo or time-signature
    changes are dropped after the first (both with a notice), instead of tripping an assertion or a
    MultipleTempoError deep inside Magenta's quantizer and melody extractor.
    """
    source = sequence.filename or 'the primer'
    if not any(not n.is_drum for n in sequence.notes):
        raise ValueError(f'{source} is empty: it has no pitched notes. Give MelodyRNN at least '
                         'one note to continue')
    bad = next((n for n in sequence.notes if n.start_time < 0 or n.end_time < n.start_time), None)
    if bad is not None:
        raise ValueError(f'{source} has a note with negative time or length (pitch {bad.pitch}, '
                         f'{bad.start_time:.3f} s to {bad.end_time:.3f} s); notes must start at '
                         '0 s or later and end after they start')
    if instrument is None and is_monophonic(sequence):
        primer = copy.deepcopy(sequence)
        del primer.notes[:]
        primer.notes.extend(n for n in sequence.notes if not n.is_drum)
    else:
        primer = extract_melody(sequence, instrument)
        if announce:
            env.notice(f'{source} is polyphonic or has several instruments '
                       f'({len(sequence.notes)} notes); using the top voice of one instrument '
                       f'as the melody ({len(primer.notes)} notes)')
    primer.filename = sequence.filename
    single_tempo_and_meter(primer, announce=announce)
    primer.total_time = max(n.end_time for n in primer.notes)
    return primer


# --------------------------------------------------------------------------------------
# Bundles and continuation arguments
# --------------------------------------------------------------------------------------

def check_bundle(bundle, path: str | os.PathLike, config: str | None = None):
    """Refuse a parsed GeneratorBundle that is not a usable MelodyRNN, naming the file.

    ``config`` (optional) must match the configuration stored in the bundle: the book downloaded
    attention_rnn.mag but opened basic_rnn.mag; here a mismatch is an error, not a surprise.
    """
    if not (bundle.checkpoint_file and bundle.metagraph_file and bundle.generator_details.id):
        raise BundleError(f'{path} holds no checkpoint, metagraph or generator id: it is not a '
                          'Magenta generator bundle (corrupt file?)')
    stored = bundle.generator_details.id
    if stored not in MELODY_CONFIGS:
        raise BundleError(f'{path} holds a {stored!r} generator, not a MelodyRNN '
                          f'({", ".join(MELODY_CONFIGS)})')
    if config is not None and check_config(config) != stored:
        raise BundleError(f'{path} holds a {stored} model, but configuration {config} was asked '
                          f'for; set MELODY_CONFIG={stored} or use a {config} bundle')
    return bundle


@contextlib.contextmanager
def bundle_errors(path: str | os.PathLike):
    """Around reading a .mag file and restoring its model: errors that name the file.

    A missing file raises FileNotFoundError before the block runs; Magenta's parse error (a
    truncated or foreign file) and TensorFlow's restore errors (broken weights) become a
    BundleError, which the notebook treats as "this bundle cannot be used".
    """
    import tensorflow as tf
    from magenta.models.shared import sequence_generator_bundle
    if not Path(path).is_file():
        raise FileNotFoundError(f'MelodyRNN bundle {path} does not exist; point MELODY_BUNDLE at '
                                'a .mag file, or unset it to use the released or the shipped bundle')
    try:
        yield
    except BundleError:
        raise
    except sequence_generator_bundle.GeneratorBundleParseError as err:
        raise BundleError(f'{path} is not a readable .mag bundle ({err}); the file is corrupt or '
                          'truncated: download or export it again') from None
    except (tf.errors.OpError, ValueError, KeyError, IndexError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise BundleError(f'{path}: the model in this bundle cannot be restored '
                          f'({type(err).__name__}: {first_line}); the file is corrupt') from None


def read_bundle(path: str | os.PathLike, config: str | None = None):
    """Parse and check a .mag file (a GeneratorBundle protobuf with a checkpoint and a metagraph)."""
    from magenta.models.shared import sequence_generator_bundle
    with bundle_errors(path):
        bundle = sequence_generator_bundle.read_bundle_file(str(path))
    return check_bundle(bundle, path, config)


def check_generation_args(temperature: float = 1.0, beam_size: int = 1, branch_factor: int = 1,
                          steps_per_iteration: int = 1, num_steps: int = 1) -> None:
    """Refuse settings Magenta would accept silently or fail on later."""
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    for name, value in [('beam_size', beam_size), ('branch_factor', branch_factor),
                        ('steps_per_iteration', steps_per_iteration), ('num_steps', num_steps)]:
        if int(value) != value or value < 1:
            raise ValueError(f'{name} must be a whole number >= 1, got {value}')


def _seconds_per_step(sequence, steps_per_quarter: int) -> float:
    import note_seq
    qpm = sequence.tempos[0].qpm if sequence.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE
    return 60.0 / qpm / steps_per_quarter


def count_primer_steps(primer, steps_per_quarter: int = 4) -> int:
    """How many 16th-note steps the primer occupies: up to the end of its last note, rounded up.

    Generation starts there, so ``target - count_primer_steps(primer)`` new steps make the result
    end at step ``target`` (e.g. to continue a tune's first 32 steps up to step 64).
    """
    if not primer.notes:
        raise ValueError('the primer is empty: it has no notes to continue')
    primer_end = max(n.end_time for n in primer.notes)
    return math.ceil(primer_end / _seconds_per_step(primer, steps_per_quarter) - 1e-6)


def magenta_errors() -> tuple[type[BaseException], ...]:
    """What Magenta raises for a primer it cannot handle (plain Exceptions, not ValueErrors)."""
    import note_seq
    from magenta.models.shared import sequence_generator
    return (sequence_generator.SequenceGeneratorError, note_seq.MultipleTempoError,
            note_seq.MultipleTimeSignatureError, note_seq.BadTimeSignatureError,
            note_seq.NegativeTimeError, note_seq.sequences_lib.QuantizationStatusError)


def save_midi(sequence, name: str, folder: str | os.PathLike) -> Path:
    """Write ``sequence`` to <folder>/<name>.mid atomically (no half-written file on failure)."""
    import note_seq
    if not re.fullmatch(r'[A-Za-z0-9][\w.-]*', name):
        raise ValueError(f'MIDI name {name!r} must be a plain file name (letters, digits, _ . -)')
    path = Path(folder) / f'{name}.mid'
    with atomic_path(path) as tmp:
        note_seq.sequence_proto_to_midi_file(sequence, str(tmp))
    return path


# --------------------------------------------------------------------------------------
# The event encoding, held-out tunes, statistics
# --------------------------------------------------------------------------------------

def event_name(event: int) -> str:
    """A melody event as text: a pitch name for a note-on, 'off' for note-off (-1), '-' for no event (-2)."""
    import pretty_midi
    return {-1: 'off', -2: '-'}.get(int(event)) or pretty_midi.note_number_to_name(int(event))


def encode_melody(sequence, config):
    """The events, inputs and labels MelodyRNN's ``config`` sees for a monophonic NoteSequence.

    Quantized to 16th notes, squashed into [config.min_note, config.max_note) and transposed to
    config.transpose_to_key (C major / A minor), as Magenta's pipeline does for training.
    Returns (events, inputs [steps, input_size], labels [steps]); the label at step i is the
    class of event i + 1, the one the model has to predict.
    """
    import note_seq
    quantized = note_seq.quantize_note_sequence(sequence, steps_per_quarter=config.steps_per_quarter)
    melody = note_seq.Melody()
    melody.from_quantized_sequence(quantized, gap_bars=float('inf'), ignore_polyphonic_notes=True)
    melody.squash(config.min_note, config.max_note, config.transpose_to_key)
    inputs, labels = config.encoder_decoder.encode(melody)
    return list(melody), np.array(inputs, np.float32), np.array(labels, np.int64)


def lookback_labels(config) -> dict[int, str]:
    """The output classes that mean "repeat the event from N bars ago" in ``config``, if any."""
    distances = getattr(config.encoder_decoder, '_lookback_distances', None) or []
    first = config.encoder_decoder.num_classes - len(distances)
    return {first + i: f'repeat {d // 16} bar{"s" if d > 16 else ""} ago'
            for i, d in enumerate(distances)}


def tune_opening(tune, primer_steps: int, next_steps: int, steps_per_quarter: int = 4):
    """The first ``primer_steps`` 16th-note steps of a tune as a primer, or None when the tune is
    shorter than ``primer_steps + next_steps`` steps or has no notes in its opening."""
    import note_seq
    qpm = tune.tempos[0].qpm if tune.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE
    step = 60.0 / qpm / steps_per_quarter
    if tune.total_time < (primer_steps + next_steps) * step - 1e-6:
        return None
    primer = note_seq.extract_subsequence(tune, 0.0, primer_steps * step)
    if not any(not n.is_drum for n in primer.notes):
        return None
    primer.filename = tune.filename
    return prepare_primer(primer, announce=False)


def melody_events(sequence, steps_per_quarter: int = 4) -> list[int]:
    """The melody events of a monophonic NoteSequence, one per 16th-note step, from step 0."""
    import note_seq
    primer = prepare_primer(sequence, announce=False)
    quantized = note_seq.quantize_note_sequence(primer, steps_per_quarter=steps_per_quarter)
    melody = note_seq.Melody()
    melody.from_quantized_sequence(quantized, gap_bars=float('inf'), ignore_polyphonic_notes=True)
    return [-2] * melody.start_step + list(melody)  # Melody starts at its first note


def next_steps_statistics(sequence, start_step: int, num_steps: int) -> dict:
    """Simple numbers for steps [start_step, start_step + num_steps) of a melody: notes played,
    pitch range, distinct pitches, share in the best-fitting diatonic scale, mean interval
    (semitones) and the share of steps that repeat the event 2 bars (32 steps) earlier."""
    events = melody_events(sequence)
    if len(events) < start_step + num_steps:  # the melody ends early: its last note stops there
        events += [-1] + [-2] * (start_step + num_steps - len(events) - 1)
    window = events[start_step:start_step + num_steps]
    pitches = [e for e in window if e >= 0]
    classes = Counter(p % 12 for p in pitches)
    in_key = (max(sum(count for pc, count in classes.items() if (pc - tonic) % 12 in _MAJOR_SCALE)
                  for tonic in range(12)) / len(pitches)) if pitches else 0.0
    repeats = [events[i] == events[i - 32] for i in range(max(start_step, 32), start_step + num_steps)]
    return {'notes': len(pitches), 'pitch_range': max(pitches) - min(pitches) if pitches else 0,
            'distinct_pitches': len(set(pitches)), 'in_key': in_key,
            'mean_step': float(np.mean(np.abs(np.diff(pitches)))) if len(pitches) > 1 else 0.0,
            'repeat_2_bars': float(np.mean(repeats)) if repeats else 0.0}


def print_statistics_table(rows_by_name: dict) -> None:
    """Means of next_steps_statistics rows, one line per set of melodies."""
    print(f"{'':34s} {'melodies':>8s} {'notes':>6s} {'range':>6s} {'pitches':>8s} {'in key':>7s} "
          f"{'|step|':>7s} {'repeat 2 bars':>14s}")
    for name, rows in rows_by_name.items():
        mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]} if rows else {}
        if not mean:
            print(f'{name:34s} (no melodies)')
            continue
        print(f"{name:34s} {len(rows):8d} {mean['notes']:6.1f} {mean['pitch_range']:6.1f} "
              f"{mean['distinct_pitches']:8.1f} {mean['in_key']:7.2f} {mean['mean_step']:7.2f} "
              f"{mean['repeat_2_bars']:14.2f}")


_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


# --------------------------------------------------------------------------------------
# Sound
# --------------------------------------------------------------------------------------

def default_soundfont() -> Path:
    """TimGM6mb.sf2, the small General MIDI soundfont that ships with pretty_midi."""
    import pretty_midi
    return Path(pretty_midi.__file__).parent / 'TimGM6mb.sf2'


def fluidsynth_available() -> tuple[bool, str]:
    """(True, '') when pyfluidsynth and the system libfluidsynth load, else (False, why)."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; raises ImportError without libfluidsynth)
    except (ImportError, OSError) as err:
        return False, str(err) or type(err).__name__
    return True, ''


def synthesize(sequence, sample_rate: int = 22050, soundfont: str | os.PathLike | None = None):
    """Render a NoteSequence to audio: FluidSynth with a General MIDI soundfont, or sine waves.

    Returns (audio float32 peaking at 0.9, how). Without the system libfluidsynth (pyfluidsynth
    then fails to import) it falls back, with a notice, to pretty_midi's additive sine synthesis.
    """
    import note_seq
    midi = note_seq.note_sequence_to_pretty_midi(sequence)
    available, why = fluidsynth_available()
    if not available:
        env.notice(f'FluidSynth is not available ({why}), so this is simple sine-wave '
                   'synthesis instead of a General MIDI piano. Install the system library '
                   '(Debian/Ubuntu/Colab: apt-get install fluidsynth) for the real sound.')
        audio, how = midi.synthesize(fs=sample_rate), 'sine waves (pretty_midi.synthesize)'
    else:
        soundfont = Path(soundfont) if soundfont else default_soundfont()
        if not soundfont.is_file():
            raise FileNotFoundError(f'soundfont {soundfont} not found: set MELODY_SOUNDFONT to a '
                                    f'.sf2 file, or unset it to use {default_soundfont().name}')
        # synthesizer= (pretty_midi >= 0.2.11) takes a .sf2 path; sf2_path= is deprecated.
        audio = midi.fluidsynth(fs=sample_rate, synthesizer=str(soundfont))
        how = f'FluidSynth with {soundfont.name}'
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = 0.9 * audio / peak
    return audio, how


def play(sequence, sample_rate: int = 22050, soundfont=None, title: str | None = None,
         wav_path: str | os.PathLike | None = None):
    """Synthesize ``sequence``, optionally write it as WAV, and show a player for all of it."""
    from .display import play_audio
    from .files import write_wav
    audio, _ = synthesize(sequence, sample_rate, soundfont)
    if wav_path is not None:
        write_wav(wav_path, audio, sample_rate)
    return play_audio(audio, sample_rate, title=title, max_seconds=len(audio) / sample_rate + 1)


# --------------------------------------------------------------------------------------
# Pictures: piano rolls and sheet music
# --------------------------------------------------------------------------------------

PRIMER_COLOUR, GENERATED_COLOUR = '#3182bd', '#e6550d'


def _is_new(note, split_time):
    return split_time is not None and note.start_time >= split_time - 1e-6


def plot_piano_roll(sequence, ax=None, title: str | None = None, split_time: float | None = None):
    """A static matplotlib piano roll; notes from ``split_time`` on (the continuation) in orange.

    The legend sits outside the axes, so it never hides notes.
    """
    import matplotlib.pyplot as plt
    import pretty_midi
    from matplotlib.patches import Patch
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.6), layout='constrained')
    for n in sequence.notes:
        ax.broken_barh([(n.start_time, n.end_time - n.start_time)], (n.pitch - 0.4, 0.8),
                       facecolors=GENERATED_COLOUR if _is_new(n, split_time) else PRIMER_COLOUR,
                       edgecolors='black', linewidth=0.5)
    pitches = [n.pitch for n in sequence.notes] or [60]
    low, high = min(pitches) - 1, max(pitches) + 1
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_xlim(0, max([n.end_time for n in sequence.notes] + [sequence.total_time, 1.0]))
    ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]  # C, E and G of each octave
    ax.set_yticks(ticks, [pretty_midi.note_number_to_name(p) for p in ticks])
    ax.set(xlabel='time (s)', ylabel='pitch', title=title or 'Piano roll')
    if split_time is not None:
        ax.axvline(split_time, color='grey', linestyle='--', linewidth=1)
        ax.legend(handles=[Patch(color=PRIMER_COLOUR, label='primer'),
                           Patch(color=GENERATED_COLOUR, label='generated')],
                  loc='upper left', bbox_to_anchor=(1.005, 1.0), borderaxespad=0, frameon=False)
    return ax


def piano_roll_figure(sequence, title: str | None = None, split_time: float | None = None,
                      width: int = 800, height: int = 260):
    """An interactive Bokeh 3 piano roll with hover (note_seq 0.0.5's plot_sequence uses Bokeh 2 names)."""
    import pretty_midi
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure
    notes = list(sequence.notes)
    new = [_is_new(n, split_time) for n in notes]
    source = ColumnDataSource(dict(
        start=[n.start_time for n in notes], end=[n.end_time for n in notes],
        bottom=[n.pitch - 0.4 for n in notes], top=[n.pitch + 0.4 for n in notes],
        pitch=[n.pitch for n in notes], name=[pretty_midi.note_number_to_name(n.pitch) for n in notes],
        color=[GENERATED_COLOUR if is_new else PRIMER_COLOUR for is_new in new],
        part=['generated' if is_new else 'primer' for is_new in new]))
    fig = figure(title=title, width=width, height=height, x_axis_label='time (s)',
                 y_axis_label='MIDI pitch', tools='xpan,xwheel_zoom,box_zoom,reset,save')
    fig.quad(left='start', right='end', bottom='bottom', top='top', color='color',
             line_color='black', line_width=0.5, source=source)
    fig.add_tools(HoverTool(tooltips=[('note', '@name (@pitch)'), ('start', '@start{0.00} s'),
                                      ('end', '@end{0.00} s'), ('part', '@part')]))
    return fig


def show_interactive_piano_roll(sequence, title=None, split_time=None):
    """Show the Bokeh piano roll. output_notebook() runs here, in the cell that shows it, because
    Colab loads BokehJS per cell output (a call in an earlier cell leaves a blank output)."""
    from bokeh.io import output_notebook, show
    output_notebook(hide_banner=True)
    show(piano_roll_figure(sequence, title=title, split_time=split_time))


def to_music21(sequence, split_time: float | None = None, title: str | None = None):
    """A music21 score of a monophonic NoteSequence, notes from ``split_time`` on coloured.

    The route is NoteSequence -> MIDI -> music21, which quantizes durations to notation values.
    """
    import music21
    import note_seq
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'melody.mid'
        note_seq.sequence_proto_to_midi_file(sequence, str(path))
        score = music21.converter.parse(str(path), quarterLengthDivisors=(4, 3))
    qpm = sequence.tempos[0].qpm if sequence.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE
    if split_time is not None:
        split_quarters = split_time * qpm / 60.0
        for note in score.recurse().notes:
            if note.getOffsetInHierarchy(score) >= split_quarters - 1e-3:
                note.style.color = GENERATED_COLOUR
    score.metadata = music21.metadata.Metadata(title=title or '')
    return score


def sheet_music_svg(sequence, split_time: float | None = None, title: str | None = None,
                    width: int = 2000, scale: int = 35) -> str:
    """The melody as engraved notation, an SVG string: music21 -> MusicXML -> verovio, all offline."""
    import verovio
    from music21.musicxml.m21ToXml import GeneralObjectExporter
    xml = GeneralObjectExporter(to_music21(sequence, split_time, title)).parse().decode('utf-8')
    toolkit = verovio.toolkit()
    toolkit.setOptions({'pageWidth': width, 'adjustPageHeight': True, 'scale': scale,
                        'header': 'none', 'footer': 'none', 'breaks': 'auto'})
    if not toolkit.loadData(xml):
        raise ValueError('verovio could not read the MusicXML written by music21')
    pages = [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]
    return '\n'.join(pages)


def show_sheet_music(sequence, split_time=None, title=None, svg_path=None):
    """Display the notation (an SVG) and optionally save it atomically."""
    from IPython.display import SVG, display
    svg = sheet_music_svg(sequence, split_time, title)
    if svg_path is not None:
        with atomic_path(svg_path) as tmp:
            Path(tmp).write_text(svg, encoding='utf-8')
    display(SVG(svg))


def parse_layer_sizes(text) -> list[int]:
    """'128,128' (or a list of strings) -> [128, 128], with a clear error for anything else."""
    parts = text.split(',') if isinstance(text, str) else list(text)
    parts = [str(p).strip() for p in parts]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f'MELODY_RNN_LAYERS={",".join(parts)!r}: expected positive LSTM sizes '
                         'separated by commas, e.g. 128,128')
    return [int(p) for p in parts]


def shipped_record(bundle_path: str | os.PathLike) -> dict | None:
    """The figures scripts/train_folk_bundle.py stored next to a shipped bundle (<name>.json)."""
    import json
    path = Path(bundle_path).with_suffix('.json')
    return json.loads(path.read_text(encoding='utf-8')) if path.is_file() else None
