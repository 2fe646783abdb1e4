"""Unit tests of cookbook.midi: the melody notebook's MIDI/NoteSequence plumbing.

TF_USE_LEGACY_KERAS: see tests/test_melody.py. Magenta is imported here (read_bundle, the
configurations) with the flag on, and the flag is put back afterwards.
"""
import json
import os
import re
import sys
import warnings
from collections import Counter

_PREVIOUS_LEGACY_KERAS = os.environ.get('TF_USE_LEGACY_KERAS')
os.environ['TF_USE_LEGACY_KERAS'] = '1'

import numpy as np
import pretty_midi
import pytest

import cookbook
from cookbook import midi

try:
    import note_seq
    from magenta.models.melody_rnn import melody_rnn_model
    from note_seq.protobuf import generator_pb2, music_pb2
finally:
    if _PREVIOUS_LEGACY_KERAS is None:
        os.environ.pop('TF_USE_LEGACY_KERAS', None)
    else:
        os.environ['TF_USE_LEGACY_KERAS'] = _PREVIOUS_LEGACY_KERAS


def _twinkle_file_with(tmp_path, name, tempos=(), time_signatures=()):
    """Twinkle Twinkle written as a MIDI file, with extra tempo or time-signature events."""
    sequence = midi.twinkle_twinkle()  # 60 qpm, 4/4 from time 0
    del sequence.time_signatures[:]
    for qpm, time in tempos:
        sequence.tempos.add(qpm=qpm, time=time)
    for numerator, denominator, time in time_signatures:
        sequence.time_signatures.add(numerator=numerator, denominator=denominator, time=time)
    path = tmp_path / name
    note_seq.sequence_proto_to_midi_file(sequence, str(path))
    return path


def _multi_instrument_midi(path):
    """Flute tune C4 D4 E4 F4 (one note per beat) over piano chords and a bass note, plus drums."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    flute, piano, bass = (pretty_midi.Instrument(program=p) for p in (73, 0, 32))
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for i, pitch in enumerate([60, 62, 64, 65]):
        flute.notes.append(pretty_midi.Note(90, pitch, i * 0.5, (i + 1) * 0.5))
        drums.notes.append(pretty_midi.Note(90, 36, i * 0.5, i * 0.5 + 0.1))
    for pitch in (48, 52, 55):
        piano.notes.append(pretty_midi.Note(60, pitch, 0.0, 2.0))
    bass.notes.append(pretty_midi.Note(70, 36, 0.0, 2.0))
    # a chord inside the tune's own instrument: the higher note must win
    flute.notes.append(pretty_midi.Note(90, 67, 2.0, 2.5))
    flute.notes.append(pretty_midi.Note(90, 64, 2.0, 2.5))
    pm.instruments.extend([piano, bass, drums, flute])
    pm.write(str(path))
    return path


def _sequence(pitches, step=0.25, qpm=60):
    """A monophonic NoteSequence, one note per 16th-note step (pitch None = a rest)."""
    sequence = music_pb2.NoteSequence()
    sequence.tempos.add(qpm=qpm)
    for i, pitch in enumerate(pitches):
        if pitch is not None:
            sequence.notes.add(pitch=pitch, start_time=i * step, end_time=(i + 1) * step, velocity=80)
    sequence.total_time = len(pitches) * step
    return sequence


# -- configurations and bundles ------------------------------------------------------------

def test_the_four_released_configurations():
    assert midi.MELODY_CONFIGS == ('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn')
    assert set(midi.MELODY_CONFIGS) == set(melody_rnn_model.default_configs)
    with pytest.raises(ValueError) as err:
        midi.check_config('jazz_rnn')
    for name in ('jazz_rnn',) + midi.MELODY_CONFIGS:
        assert name in str(err.value)
    assert midi.check_config('mono_rnn') == 'mono_rnn'


def test_released_bundles_are_registered_assets():
    for config in ('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn'):
        asset = cookbook.ASSETS[f'melody_rnn_{config}']
        assert asset.url.endswith(f'/{config}.mag') and asset.filename == f'{config}.mag'


def test_missing_garbage_and_foreign_bundles_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing_here.mag'):
        midi.read_bundle(tmp_path / 'nothing_here.mag')
    garbage = tmp_path / 'garbage.mag'
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(midi.BundleError, match='garbage.mag'):
        midi.read_bundle(garbage)
    text = tmp_path / 'text.mag'
    text.write_text('attention_rnn')
    with pytest.raises(midi.BundleError, match='text.mag'):
        midi.read_bundle(text)
    other = generator_pb2.GeneratorBundle()
    other.generator_details.id = 'drum_kit'
    other.checkpoint_file.append(b'x')
    other.metagraph_file = b'y'
    drums = tmp_path / 'drums.mag'
    drums.write_bytes(other.SerializeToString())
    with pytest.raises(midi.BundleError, match='drum_kit'):
        midi.read_bundle(drums)


def test_bundle_configuration_must_match_when_asked(tmp_path):
    bundle = generator_pb2.GeneratorBundle()
    bundle.generator_details.id = 'lookback_rnn'
    bundle.checkpoint_file.append(b'weights')
    bundle.metagraph_file = b'graph'
    path = tmp_path / 'lookback.mag'
    path.write_bytes(bundle.SerializeToString())
    assert midi.read_bundle(path).generator_details.id == 'lookback_rnn'
    assert midi.read_bundle(path, 'lookback_rnn').metagraph_file == b'graph'
    with pytest.raises(midi.BundleError, match='lookback_rnn model.*attention_rnn'):
        midi.read_bundle(path, 'attention_rnn')
    with pytest.raises(ValueError, match='valid configurations'):
        midi.read_bundle(path, 'basic')


def test_the_shipped_bundle_is_small_valid_and_has_its_record():
    path = midi.shipped_bundle()
    assert path is not None, f'no folk_*.mag in {midi.SHIPPED_DIR}: run scripts/train_folk_bundle.py'
    assert path.stat().st_size <= 3_000_000
    bundle = midi.read_bundle(path)
    assert path.name == f'folk_{bundle.generator_details.id}.mag'
    assert midi.shipped_bundle(bundle.generator_details.id) == path
    record = midi.shipped_record(path)
    assert record['config'] == bundle.generator_details.id and record['bytes'] == path.stat().st_size
    assert record['corpus']['holdout_tunes'] > 0 and record['training_steps'] > 0
    curve = [row['holdout_log_likelihood_per_step'] for row in record['history']]
    assert record['history'][-1]['steps'] == record['training_steps'] and curve[-1] > curve[0]


def test_primer_with_two_tempos_keeps_the_first(tmp_path, capsys):
    path = _twinkle_file_with(tmp_path, 'tempo_map.mid', tempos=[(90, 4.0)])
    sequence = midi.read_midi_primer(path)
    assert len({round(t.qpm) for t in sequence.tempos}) == 2  # the file really has a tempo map
    with pytest.raises(note_seq.MultipleTempoError):  # what Magenta does with it unprepared
        note_seq.quantize_note_sequence(sequence, 4)
    primer = midi.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'tempo_map.mid' in notice and '90 qpm at 4.00 s' in notice and 'kept 60 qpm' in notice
    assert [(t.qpm, t.time) for t in primer.tempos] == [(pytest.approx(60), 0.0)]
    assert [n.start_time for n in primer.notes] == pytest.approx(
        [n.start_time for n in midi.twinkle_twinkle().notes])  # notes are not re-timed
    note_seq.quantize_note_sequence(primer, 4)  # Magenta accepts it now


def test_primer_with_two_time_signatures_keeps_the_first(tmp_path, capsys):
    path = _twinkle_file_with(tmp_path, 'metre_change.mid',
                              time_signatures=[(4, 4, 0.0), (3, 4, 4.0)])
    sequence = midi.read_midi_primer(path)
    assert {(s.numerator, s.denominator) for s in sequence.time_signatures} == {(4, 4), (3, 4)}
    with pytest.raises(note_seq.MultipleTimeSignatureError):
        note_seq.quantize_note_sequence(sequence, 4)
    primer = midi.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'metre_change.mid' in notice and '3/4 at 4.00 s' in notice and 'kept 4/4' in notice
    assert [(s.numerator, s.denominator, s.time) for s in primer.time_signatures] == [(4, 4, 0.0)]


def test_implicit_tempo_and_metre_changes_are_dropped_too(capsys):
    # Nothing at time 0 means MIDI's 120 qpm and 4/4; a later 75 qpm or 6/8 is a change for Magenta.
    sequence = midi.twinkle_twinkle()
    del sequence.tempos[:]
    del sequence.time_signatures[:]
    sequence.tempos.add(qpm=75, time=2.0)
    sequence.time_signatures.add(numerator=6, denominator=8, time=1.0)
    primer = midi.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'the primer' in notice and '75 qpm at 2.00 s' in notice and '6/8 at 1.00 s' in notice
    assert [t.qpm for t in primer.tempos] == [120]
    assert [(s.numerator, s.denominator) for s in primer.time_signatures] == [(4, 4)]
    note_seq.quantize_note_sequence(primer, 4)
    plain = midi.twinkle_twinkle()  # one tempo, repeated: nothing to announce
    plain.tempos.add(qpm=60, time=4.0)
    midi.prepare_primer(plain)
    assert capsys.readouterr().out == ''


def test_impossible_time_signature_negative_times_and_empty_primers():
    sequence = midi.twinkle_twinkle()
    sequence.time_signatures[0].numerator = 0
    with pytest.raises(ValueError, match='time signature 0/4'):
        midi.prepare_primer(sequence)
    sequence.time_signatures[0].numerator, sequence.time_signatures[0].denominator = 3, 5
    with pytest.raises(ValueError, match='3/5.*power-of-two'):
        midi.prepare_primer(sequence)
    sequence = midi.twinkle_twinkle()
    sequence.notes[0].start_time = -0.5
    with pytest.raises(ValueError, match='negative time'):
        midi.prepare_primer(sequence)
    with pytest.raises(ValueError, match='empty'):
        midi.prepare_primer(music_pb2.NoteSequence())
    drums_only = music_pb2.NoteSequence()
    drums_only.notes.add(pitch=36, start_time=0, end_time=0.1, velocity=80, is_drum=True)
    with pytest.raises(ValueError, match='empty'):
        midi.prepare_primer(drums_only)


def test_melody_is_extracted_from_a_multi_instrument_primer(tmp_path, capsys):
    sequence = midi.read_midi_primer(_multi_instrument_midi(tmp_path / 'trio.mid'))
    assert not midi.is_monophonic(sequence)
    primer = midi.prepare_primer(sequence)
    assert 'polyphonic' in capsys.readouterr().out  # the notice
    assert [n.pitch for n in primer.notes] == [60, 62, 64, 65, 67]
    assert midi.is_monophonic(primer)
    assert primer.tempos[0].qpm == pytest.approx(120)
    piano = sorted({n.instrument for n in sequence.notes if n.program == 0 and not n.is_drum})[0]
    assert [n.pitch for n in midi.extract_melody(sequence, instrument=piano).notes] == [55]
    with pytest.raises(ValueError, match='instrument 42'):
        midi.extract_melody(sequence, instrument=42)


def test_unreadable_and_missing_midi_files(tmp_path):
    bad = tmp_path / 'broken.mid'
    bad.write_bytes(b'MThd\x00\x00\x00\x06garbage')
    with pytest.raises(ValueError, match='broken.mid'):
        midi.read_midi_primer(bad)
    with pytest.raises(FileNotFoundError, match='absent.mid'):
        midi.read_midi_primer(tmp_path / 'absent.mid')


# -- continuation arguments, MIDI files ----------------------------------------------------

def test_primer_steps_end_with_the_last_note():
    twinkle = midi.twinkle_twinkle()
    assert midi.count_primer_steps(twinkle) == 32 and midi.count_primer_steps(twinkle, 2) == 16
    # a primer whose last bar ends in a rest: generation starts after its last note, so a
    # continuation up to step 32 needs 32 - 29 new steps
    opening = _sequence([60, None, 62, None] * 7 + [64, None, None, None])
    opening.notes[-1].end_time = 7.1  # 0.1 s into step 28 (0.25 s steps): 29 steps in all
    assert midi.count_primer_steps(opening) == 29
    with pytest.raises(ValueError, match='empty'):
        midi.count_primer_steps(music_pb2.NoteSequence())


def test_bad_continuation_arguments_are_refused():
    with pytest.raises(ValueError, match='temperature'):
        midi.check_generation_args(temperature=0)
    with pytest.raises(ValueError, match='branch_factor'):
        midi.check_generation_args(branch_factor=0)
    with pytest.raises(ValueError, match='beam_size'):
        midi.check_generation_args(beam_size=1.5)
    with pytest.raises(ValueError, match='num_steps'):
        midi.check_generation_args(num_steps=0)
    midi.check_generation_args(0.5, 2, 2, 4, 16)


def test_magenta_errors_are_exception_classes():
    errors = midi.magenta_errors()
    assert note_seq.MultipleTempoError in errors and all(issubclass(e, Exception) for e in errors)


def test_save_midi_writes_atomically_and_refuses_paths(tmp_path):
    path = midi.save_midi(midi.twinkle_twinkle(), 'twinkle', tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ['twinkle.mid']
    assert len(midi.read_midi_primer(path).notes) == 14
    with pytest.raises(ValueError, match='plain file name'):
        midi.save_midi(midi.twinkle_twinkle(), '../escape', tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ['twinkle.mid']


def test_parse_layer_sizes():
    assert midi.parse_layer_sizes('128,128') == [128, 128]
    assert midi.parse_layer_sizes(['64']) == [64]
    for bad in ('', '128,x', '0', '-1,2'):
        with pytest.raises(ValueError, match='MELODY_RNN_LAYERS'):
            midi.parse_layer_sizes(bad)


# -- the encoding --------------------------------------------------------------------------

@pytest.mark.parametrize('name, inputs, classes', [
    ('basic_rnn', 38, 38), ('mono_rnn', 130, 130), ('lookback_rnn', 121, 40), ('attention_rnn', 74, 40)])
def test_twinkle_as_each_configuration_sees_it(name, inputs, classes):
    config = melody_rnn_model.default_configs[name]
    events, features, labels = midi.encode_melody(midi.twinkle_twinkle(), config)
    assert events[:3] == [60, -2, 60] and len(events) == 32  # the last note's hold is not an event
    assert features.shape == (31, inputs) and labels.shape == (31,)
    assert config.encoder_decoder.num_classes == classes and labels.max() < classes
    repeats = midi.lookback_labels(config)
    if classes == 40:
        assert repeats == {38: 'repeat 1 bar ago', 39: 'repeat 2 bars ago'}
        # inside the first two bars every "no event" is labelled "repeat 2 bars ago"
        assert all(label == 39 for event, label in zip(events[1:], labels) if event == -2)
    else:
        assert repeats == {}
    assert midi.event_name(60) == 'C4' and midi.event_name(-1) == 'off' and midi.event_name(-2) == '-'


def test_majority_baseline_by_hand():
    train = [np.array([0, 0, 1]), np.array([0])]   # counts 3, 1, 0 -> +1 smoothing: 4, 2, 1 of 7
    held_out = [np.array([0, 1, 2])]
    result = midi.majority_baseline(train, held_out, num_classes=3)
    assert result['majority_label'] == 0 and result['steps'] == 3
    assert result['accuracy'] == pytest.approx(1 / 3)
    assert result['log_likelihood_per_step'] == pytest.approx(np.mean(np.log([4 / 7, 2 / 7, 1 / 7])))


def test_ngram_baselines_count_and_smooth_by_hand():
    # 3 classes, bar of 2 steps. Training labels [0, 1, 0]: label i sits at position (i + 1) % 2.
    train, held_out = [np.array([0, 1, 0])], [np.array([1, 0])]
    rows = midi.ngram_baselines(train, held_out, num_classes=3, bar_steps=2)
    unigram = (np.array([2, 1, 0]) + 1) / 6  # add-one: 3/6, 2/6, 1/6
    # bigram contexts (previous label; 3 = start): start->0, 0->1, 1->0; smoothed toward unigram
    # with 3 pseudo-counts: P(y | c) = (n(c, y) + 3 * unigram(y)) / (n(c) + 3)
    after_start = (np.array([1, 0, 0]) + 3 * unigram) / 4
    after_one = (np.array([1, 0, 0]) + 3 * unigram) / 4
    # held out [1, 0]: step 0 has context start (predicts 1), step 1 has previous label 1 (predicts 0)
    bigram_ll = np.mean(np.log([after_start[1], after_one[0]]))
    assert rows['bigram (previous label)']['log_likelihood_per_step'] == pytest.approx(bigram_ll)
    assert rows['bigram (previous label)']['accuracy'] == pytest.approx(0.5)  # argmax 0 twice
    assert rows['unigram (label frequencies)']['log_likelihood_per_step'] == pytest.approx(
        np.mean(np.log([unigram[1], unigram[0]])))
    # position contexts in training: (start, 1) -> 0, (0, 0) -> 1, (1, 1) -> 0. Held out: (start, 1)
    # seen once with label 0, smoothed toward the bigram; then (1, 0), never seen: the bigram itself
    positional = [(0 + 3 * after_start[1]) / (1 + 3), after_one[0]]
    assert rows['previous label + position in bar']['log_likelihood_per_step'] == pytest.approx(
        np.mean(np.log(positional)))
    assert all(row['steps'] == 2 for row in rows.values())


def test_unigram_row_is_the_majority_class_baseline():
    rng = np.random.default_rng(1)
    train = [rng.integers(0, 5, 40) for _ in range(3)]
    held_out = [rng.integers(0, 5, 30) for _ in range(2)]
    unigram = midi.ngram_baselines(train, held_out, 5)['unigram (label frequencies)']
    majority = midi.majority_baseline(train, held_out, 5)
    assert unigram['accuracy'] == pytest.approx(majority['accuracy'])
    assert unigram['log_likelihood_per_step'] == pytest.approx(majority['log_likelihood_per_step'])
    assert unigram['steps'] == majority['steps'] == 60


def test_context_models_win_on_sequences_built_to_need_them():
    # alternating labels: the previous label decides the next one, the frequencies cannot
    alternating = [np.array([0, 1] * 40)]
    rows = midi.ngram_baselines(alternating, [np.array([0, 1] * 10)], num_classes=4, bar_steps=16)
    unigram, bigram = rows['unigram (label frequencies)'], rows['bigram (previous label)']
    assert unigram['accuracy'] == pytest.approx(0.5) and bigram['accuracy'] == pytest.approx(1.0)
    assert bigram['log_likelihood_per_step'] > unigram['log_likelihood_per_step'] + 0.5
    # a 4-step bar "0 0 1 1": after a 0 comes 0 or 1 half the time each, but the position decides
    bars = [np.array([0, 0, 1, 1] * 30)]
    rows = midi.ngram_baselines(bars, [np.array([0, 0, 1, 1] * 5)], num_classes=2, bar_steps=4)
    bigram, positional = rows['bigram (previous label)'], rows['previous label + position in bar']
    assert bigram['accuracy'] < 0.8 and positional['accuracy'] == pytest.approx(1.0)
    assert positional['log_likelihood_per_step'] > bigram['log_likelihood_per_step'] + 0.3
    # smoothing: a label never seen in training still gets a finite log-likelihood
    unseen = midi.ngram_baselines(bars, [np.array([0, 0, 1])], num_classes=3, bar_steps=4)
    assert all(np.isfinite(row['log_likelihood_per_step']) for row in unseen.values())
    with pytest.raises(ValueError, match='no training or no held-out'):
        midi.ngram_baselines([], [np.array([0])], 2)


def test_verdict_is_on_likelihood_against_the_best_baseline(capsys):
    baselines = {'unigram': {'accuracy': 0.5, 'log_likelihood_per_step': -2.0, 'steps': 10},
                 'n-gram': {'accuracy': 0.6, 'log_likelihood_per_step': -1.5, 'steps': 10}}
    good = {'accuracy': 0.55, 'log_likelihood_per_step': -1.2, 'steps': 10}
    text = midi.verdict('model', good, baselines)  # lower accuracy does not matter
    assert 'higher likelihood than every baseline' in text and '+0.300' in text and 'n-gram' in text
    assert 'point estimate' in text
    assert 'better than every baseline' in midi.verdict('model', good, baselines, {'n-gram': (0.1, 0.5)})
    assert 'no better than n-gram' in midi.verdict('model', good, baselines, {'n-gram': (-0.1, 0.5)})
    assert 'worse than n-gram' in midi.verdict('model', good, baselines, {'n-gram': (-0.5, -0.1)})
    accurate_but_unlikely = {'accuracy': 0.9, 'log_likelihood_per_step': -1.7, 'steps': 10}
    text = midi.verdict('model', accurate_but_unlikely, baselines)
    assert 'no better than n-gram' in text and '-0.200' in text
    with pytest.raises(ValueError, match='not the same held-out melodies'):
        midi.verdict('model', {**good, 'steps': 9}, baselines)
    midi.print_scores({**baselines, 'model': good})
    assert '0.550' in capsys.readouterr().out


def test_training_log_shows_progress_and_hides_deprecations():
    import logging
    import tensorflow as tf
    logger = tf.get_logger()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel('ERROR')  # what the notebook sets for graph building
    try:
        with midi.training_progress_log():
            logger.info('Accuracy = 0.5, Global Step = 10, Loss = 2.0, Perplexity = 7.4')
            logger.warning('dynamic_rnn (from tensorflow.python.ops.rnn) is deprecated')
            logger.info('Graph was finalized.')
        logger.info('Global Step = 20 after the block')
        assert logger.level == logging.ERROR
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert seen == ['Accuracy = 0.5, Global Step = 10, Loss = 2.0, Perplexity = 7.4']


def test_sequence_examples_round_trip(tmp_path):
    import tensorflow as tf
    config = melody_rnn_model.default_configs['attention_rnn']
    _, features, labels = midi.encode_melody(midi.twinkle_twinkle(), config)
    from magenta.pipelines.pipelines_common import make_sequence_example  # what the pipeline writes
    example = make_sequence_example(features.tolist(), labels.tolist())
    path = midi.write_tfrecord([example, example], tmp_path / 'melodies.tfrecord')
    assert [p.name for p in tmp_path.iterdir()] == ['melodies.tfrecord']
    read = midi.read_sequence_examples(path)
    assert len(read) == 2
    np.testing.assert_allclose(read[0][0], features)
    np.testing.assert_array_equal(read[1][1], labels)
    assert tf.executing_eagerly()


# -- the corpus and held-out comparisons ---------------------------------------------------

@pytest.fixture(scope='module')
def few_tunes():
    return midi.corpus_tunes(6)


def test_corpus_tunes_keep_the_metres_the_encoding_fits(few_tunes):
    tunes, report = few_tunes
    assert len(tunes) == 6 == report['read'] and report['other_metre'] > 0  # O'Neill opens with jigs
    assert 0 < report['pickup'] <= 6  # most of O'Neill's tunes open with a pickup
    # music21 puts the pickup at time 0: the first note starts the tune, wherever its bar begins
    assert all(min(n.start_time for n in tune.notes) == 0 for tune in tunes)
    for tune in tunes:
        assert tune.notes and midi.is_monophonic(tune) and tune.id.startswith('oneills1850/')
        for signature in tune.time_signatures:
            assert 4 * signature.numerator / signature.denominator in midi.BAR_QUARTERS_THAT_FIT
    everything, all_report = midi.corpus_tunes(12, bar_quarters=None)
    assert all_report['other_metre'] == 0 and len(everything) == 12
    assert any(4 * s.numerator / s.denominator == 3 for t in everything for s in t.time_signatures)
    with pytest.raises(ValueError, match='max_tunes'):
        midi.corpus_tunes(0)
    with pytest.raises(ValueError, match='no_such_collection'):
        midi.corpus_tunes(1, collections=('no_such_collection',))


def test_corpus_tunes_have_stable_ids_from_the_reference_numbers(few_tunes):
    tunes, _ = few_tunes
    ids = [t.id for t in tunes]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r'oneills1850/0001-0050/X\d+', i) for i in ids)
    assert all(midi.oneill_number(i) == int(i.rsplit('X', 1)[1]) for i in ids)
    assert all(t.sequence_metadata.title for t in tunes)  # the title moved out of the id
    assert midi.oneill_number('ryansMammoth/AcaciaReel/X1') is None


def _tune(tune_id, pitches, step=0.25):
    tune = _sequence(pitches, step)
    tune.id = tune_id
    return tune


def _melody(seed, length=60):
    return [int(p) for p in 60 + np.random.default_rng(seed).integers(-7, 8, length)]


def test_interval_signatures_ignore_key_and_tempo():
    tune = _melody(1)
    sig = midi.interval_signature(_tune('a/b/X1', tune))
    assert len(sig) == midi.TWIN_INTERVALS and sig.tolist() == np.diff(tune)[:48].tolist()
    transposed_slower = _tune('a/c/X1', [p + 5 for p in tune], step=0.5)
    assert midi.interval_signature(transposed_slower).tolist() == sig.tolist()
    assert midi.pitch_checksum(_tune('x/y/X1', tune)) == midi.pitch_checksum(_tune('z/w/X2', tune))
    assert midi.pitch_checksum(_tune('x/y/X1', tune)) != midi.pitch_checksum(transposed_slower)


def test_twin_pairs_rule():
    base = np.diff(_melody(2))[:48]
    near = base.copy()
    near[[5, 20, 40, 45]] += 1                       # 44 of 48 agree: 92 % -> twins
    far = base.copy()
    far[[1, 3, 9, 11, 30, 33]] += 1                  # 42 of 48: 87.5 % -> not twins
    shifted = np.concatenate([[3], base])[:48]       # a pickup note more: twins at shift 1
    short = base[:20]                                # too short to judge (< 24 positions)
    other = np.diff(_melody(3))[:48]
    pairs = {(i, j) for i, j, _ in midi.twin_pairs([base, near, far, shifted, short, other])}
    assert pairs == {(0, 1), (0, 3), (1, 3)}
    assert midi.twin_pairs([base], [base[::-1].copy()]) == []
    assert [(i, j) for i, j, _ in midi.twin_pairs([base, other], [near])] == [(0, 0)]


def test_groups_join_oneill_numbers_and_melodic_twins_and_stay_on_one_side():
    tunes = [_tune('oneills1850/0626-0635/X626', _melody(10)),
             _tune('oneills1850/0626-0700/X626', _melody(11)),  # same number, other transcription
             _tune('ryansMammoth/NoraReel/X1', _melody(12)),
             _tune('oneills1850/0701-0720/X701', [p + 2 for p in _melody(12)]),  # Ryan's twin
             *[_tune(f'ryansMammoth/Tune{i}/X1', _melody(100 + i)) for i in range(36)]]
    groups, report = midi.tune_groups(tunes)
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[0] != groups[2]
    assert len(set(groups)) == 38 and report['groups'] == 38
    assert report['same_oneill_number_links'] == 1 and report['melodic_twin_pairs'] == 1
    assert report['groups_of_two_or_more'] == 2 and report['tunes_in_such_groups'] == 4
    ids = [t.id for t in tunes]
    for seed in range(20):
        held = set(midi.choose_holdout(ids, groups, 0.1, seed))
        assert len(held) in (4, 5)  # round(0.1 * 40) = 4, a pair may take it to 5
        for a, b in ((0, 1), (2, 3)):
            assert (ids[a] in held) == (ids[b] in held)
    assert midi.choose_holdout(ids, groups, 0.1, 3) == midi.choose_holdout(ids[::-1], groups[::-1], 0.1, 3)
    with pytest.raises(ValueError, match='occurs twice'):
        midi.tune_groups(tunes + tunes[:1])
    with pytest.raises(ValueError, match='between 0 and 1'):
        midi.choose_holdout(ids, groups, 1.0)


def test_split_by_ids_checks_the_tunes_are_the_stored_ones(tmp_path, capsys):
    tunes = [_tune(f'ryansMammoth/Tune{i}/X1', _melody(200 + i)) for i in range(20)]
    split = midi.make_folk_split(tunes, holdout_fraction=0.2, seed=1)
    assert len(split['holdout']) == 4 and len(split['train']) == 16 and 'O\'Neill' in split['rule']
    path = tmp_path / 'split.json'
    path.write_text(json.dumps(split))
    train, holdout = midi.split_by_ids(tunes[::-1], midi.read_folk_split(path))
    assert {t.id for t in holdout} == set(split['holdout']) and len(train) == 16
    assert 'differ' not in capsys.readouterr().out
    # a shorter read (the notebook's first tunes) is split the same way, without complaint
    part_train, part_holdout = midi.split_by_ids(tunes[:12], split)
    assert {t.id for t in part_holdout} == set(split['holdout']) & {t.id for t in tunes[:12]}
    assert 'differ' not in capsys.readouterr().out
    # another reading: an unknown tune and a changed tune are left out, with a notice
    changed = _tune(tunes[0].id, _melody(999))
    stranger = _tune('ryansMammoth/New/X1', _melody(998))
    train, holdout = midi.split_by_ids([changed, stranger] + tunes[1:], split)
    assert len(train) + len(holdout) == 19 and tunes[0].id not in {t.id for t in train + holdout}
    out = capsys.readouterr().out
    assert '1 unknown ids' in out and '1 read with other pitches' in out
    # a complete read that misses held-out tunes says so
    held = [t for t in tunes if t.id in split['holdout']]
    midi.split_by_ids([t for t in tunes if t is not held[0]] + [stranger], split, complete=True)
    assert '1 held-out tunes not found' in capsys.readouterr().out
    with pytest.raises(ValueError, match='use more tunes'):
        midi.split_by_ids([t for t in tunes if t.id in split['train']], split, complete=False)
    with pytest.raises(FileNotFoundError, match='folk split'):
        midi.read_folk_split(tmp_path / 'missing.json')
    (tmp_path / 'bad.json').write_text('{}')
    with pytest.raises(ValueError, match='not a folk split file'):
        midi.read_folk_split(tmp_path / 'bad.json')


def test_the_stored_split_is_the_shipped_bundles():
    """The split file beside the shipped bundle: whole groups on one side, the counts the bundle's
    record names, and the notebook's first tunes split the same way."""
    split = midi.read_folk_split()
    holdout, train = set(split['holdout']), set(split['train'])
    assert holdout and train and not holdout & train
    members = {}
    for tune_id, group in split['group_of'].items():
        members.setdefault(group, set()).add(tune_id)
    assert all(ids <= holdout or ids <= train for ids in members.values())
    assert split['groups']['groups_of_two_or_more'] == len(members)
    numbers = Counter(n for n in map(midi.oneill_number, holdout | train) if n is not None)
    for number, count in numbers.items():  # one O'Neill number: one side
        if count > 1:
            sides = {i in holdout for i in holdout | train if midi.oneill_number(i) == number}
            assert len(sides) == 1
    assert 0.09 < len(holdout) / (len(holdout) + len(train)) < 0.11
    record = midi.shipped_record(midi.shipped_bundle())
    if record['corpus'].get('split_file') == midi.FOLK_SPLIT_FILE:
        assert record['corpus']['holdout_tunes'] == len(holdout)
        assert record['corpus']['train_tunes'] == len(train)


def test_the_first_bundles_position_split_is_kept_for_its_measurement():
    corpus = [f'tune {i}' for i in range(300)]
    train, holdout = midi.split_tunes(corpus, 0.1, seed=3)
    assert len(holdout) == 30 and sorted(train + holdout) == sorted(corpus)
    assert midi.split_tunes(corpus, 0.1, seed=3) == (train, holdout)  # seeded
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match='between 0 and 1'):
            midi.split_tunes(corpus, bad)
    with pytest.raises(ValueError, match='corpus has changed'):
        midi.split_tunes(corpus + ['one more'], 0.1, corpus_size=300)
    train, holdout = midi.split_tunes(list(range(1754)), **midi.POSITION_SPLIT_2026_12_06)
    assert len(holdout) == 175


def test_openings_and_next_steps_statistics():
    bars = [60, None, 62, None, 64, None, 65, None] * 4  # 2 bars, then the same 2 bars again
    tune = _sequence(bars + bars)
    tune.filename = 'repeat.mid'
    opening = midi.tune_opening(tune, primer_steps=32, next_steps=32)
    assert [n.pitch for n in opening.notes] == [60, 62, 64, 65] * 4
    assert midi.tune_opening(tune, primer_steps=32, next_steps=40) is None  # too short
    stats = midi.next_steps_statistics(tune, 32, 32)
    assert stats['notes'] == 16 and stats['pitch_range'] == 5 and stats['distinct_pitches'] == 4
    assert stats['in_key'] == 1.0 and stats['repeat_2_bars'] == 1.0
    assert stats['mean_step'] == pytest.approx(np.mean([2, 2, 1, 5] * 3 + [2, 2, 1]))
    silent_end = midi.next_steps_statistics(_sequence(bars), 32, 32)  # nothing after bar 2
    assert silent_end['notes'] == 0 and silent_end['repeat_2_bars'] == 0.0


# -- sound and pictures --------------------------------------------------------------------

def test_synthesis_uses_fluidsynth_without_deprecation_warnings():
    available, why = midi.fluidsynth_available()
    with warnings.catch_warnings():
        warnings.simplefilter('error', DeprecationWarning)  # sf2_path= would raise here
        audio, how = midi.synthesize(midi.twinkle_twinkle(), 16000)
    assert audio.dtype == np.float32 and len(audio) >= 8 * 16000
    assert 0.5 < np.max(np.abs(audio)) <= 0.9 + 1e-6
    assert ('TimGM6mb' in how) if available else ('sine' in how and why)


def test_synthesis_falls_back_without_libfluidsynth(monkeypatch, capsys):
    # sys.modules[name] = None makes `import fluidsynth` raise ImportError, as without the library
    monkeypatch.setitem(sys.modules, 'fluidsynth', None)
    assert midi.fluidsynth_available()[0] is False
    audio, how = midi.synthesize(midi.twinkle_twinkle(), 16000)
    assert 'sine' in how and 'FluidSynth is not available' in capsys.readouterr().out
    assert len(audio) >= 8 * 16000 and np.max(np.abs(audio)) > 0.5


def test_missing_soundfont_is_named(tmp_path):
    if not midi.fluidsynth_available()[0]:
        pytest.skip('libfluidsynth missing: the soundfont is not used')
    with pytest.raises(FileNotFoundError, match='nope.sf2'):
        midi.synthesize(midi.twinkle_twinkle(), 16000, soundfont=tmp_path / 'nope.sf2')


def test_play_shows_the_whole_melody_and_writes_the_wav(tmp_path, capsys):
    long_melody = _sequence([60, 62, 64, 65] * 40, step=0.25)  # 40 s: more than the 30 s default cut
    player = midi.play(long_melody, 8000, title='long', wav_path=tmp_path / 'long.wav')
    assert (tmp_path / 'long.wav').stat().st_size > 2 * 8000 * 40  # 16-bit samples, all 40 s
    out = capsys.readouterr().out
    assert 'long' in out and 'holds the first' not in out  # no 30-second cut
    assert player is not None


def test_static_piano_roll_keeps_the_legend_off_the_notes():
    import matplotlib
    matplotlib.use('Agg')
    ax = midi.plot_piano_roll(midi.twinkle_twinkle(), split_time=4.0)
    assert len(ax.collections) == 14
    colours = [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]
    assert len(set(colours)) == 2
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1 - 1  # right of the axes, not over the notes
    matplotlib.pyplot.close(ax.figure)


def test_bokeh3_piano_roll():
    import bokeh
    from bokeh.embed import json_item
    assert int(bokeh.__version__.split('.')[0]) >= 3
    twinkle = midi.twinkle_twinkle()
    twinkle.notes.add(pitch=72, start_time=8.0, end_time=9.0, velocity=80)
    fig = midi.piano_roll_figure(twinkle, title='t', split_time=8.0)
    data = fig.renderers[0].data_source.data
    assert len(data['start']) == 15 and data['part'].count('generated') == 1
    assert json_item(fig)['doc']


def test_sheet_music_svg_shows_every_note_and_colours_the_continuation(tmp_path):
    svg = midi.sheet_music_svg(midi.twinkle_twinkle(), split_time=4.0, title='Twinkle')
    assert svg.lstrip().startswith('<?xml') or '<svg' in svg[:500]
    assert svg.count('class="note"') == 14
    # the 7 notes from 4 s on are drawn in the continuation's colour (notehead and note element)
    assert svg.lower().count(midi.GENERATED_COLOUR) >= 7
    plain = midi.sheet_music_svg(midi.twinkle_twinkle())
    assert midi.GENERATED_COLOUR not in plain.lower()
    midi.show_sheet_music(midi.twinkle_twinkle(), svg_path=tmp_path / 'twinkle.svg')
    assert (tmp_path / 'twinkle.svg').read_text().count('class="note"') == 14


def test_gpu_is_what_tensorflow_can_use(monkeypatch):
    import tensorflow as tf
    monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind=None: ['GPU:0'] if kind == 'GPU' else [])
    assert midi.tensorflow_gpu() is True
    monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind=None: [])
    assert midi.tensorflow_gpu() is False  # a card plugged in but unusable is no GPU


def test_corpus_cache_is_read_back_without_parsing(tmp_path, monkeypatch):
    cache = tmp_path / 'corpus.pkl'
    tunes, report = midi.corpus_with_cache(cache, 3)
    assert cache.is_file() and len(tunes) == 3 and report['read'] == 3

    def no_parsing(*args, **kwargs):
        raise AssertionError('the cache was not used')
    monkeypatch.setattr(midi, 'corpus_tunes', no_parsing)
    again, _ = midi.corpus_with_cache(cache, 3)
    assert [t.id for t in again] == [t.id for t in tunes] and again[0] == tunes[0]
    assert len(midi.corpus_with_cache(cache, 2)[0]) == 2  # fewer than stored: still no parsing
    with pytest.raises(AssertionError, match='not used'):
        midi.corpus_with_cache(cache, 5)  # more than stored: parsed again
