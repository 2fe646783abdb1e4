"""Unit tests for notebook 3 (melody generation): the code in its cells tagged `library`.

TF_USE_LEGACY_KERAS: MelodyRNN's graph code needs tf.compat.v1.nn.rnn_cell, which TensorFlow 2.16+
only serves through tf-keras when TF_USE_LEGACY_KERAS=1. TensorFlow resolves each of its lazy Keras
entry points on first use, not at `import tensorflow`, so setting the flag before Magenta is imported
works even when TensorFlow/Keras 3 were imported earlier in this pytest process. The flag is put
back afterwards so that other test modules that touch `tf.keras` for the first time still get
Keras 3 (the entry points Magenta needs were already resolved during the import below).
"""
import math
import os
import sys

_PREVIOUS_LEGACY_KERAS = os.environ.get('TF_USE_LEGACY_KERAS')
os.environ['TF_USE_LEGACY_KERAS'] = '1'  # before TensorFlow/Magenta are imported below

import numpy as np
import pretty_midi
import pytest

import cookbook

try:
    nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library',
                                       module_name='nb_melody_under_test')
finally:
    if _PREVIOUS_LEGACY_KERAS is None:
        os.environ.pop('TF_USE_LEGACY_KERAS', None)
    else:
        os.environ['TF_USE_LEGACY_KERAS'] = _PREVIOUS_LEGACY_KERAS


def _multi_instrument_midi(path):
    """Flute tune C4 D4 E4 F4 (one note per beat) over piano chords and a bass note, plus drums."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
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
    midi.instruments.extend([piano, bass, drums, flute])
    midi.write(str(path))
    return path


@pytest.fixture(scope='module')
def tiny_bundle(tmp_path_factory):
    """A real, tiny MelodyRNN trained for a few steps on corpus tunes and exported as .mag."""
    folder = tmp_path_factory.mktemp('melody_training')
    result = nb.train_folk_melody_rnn('basic_rnn', folder, max_tunes=14, holdout_fraction=0.3,
                                      num_steps=3, batch_size=4, rnn_layer_sizes=[16])
    return result


# -- configurations and bundles ------------------------------------------------------------

def test_unknown_configuration_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        nb.check_config('jazz_rnn')
    message = str(err.value)
    assert 'jazz_rnn' in message
    for name in ('basic_rnn', 'lookback_rnn', 'attention_rnn'):
        assert name in message
    assert nb.check_config('lookback_rnn') == 'lookback_rnn'


def test_released_bundle_is_fetched_by_matching_asset_name(monkeypatch):
    asked = []
    monkeypatch.setattr(nb.cookbook, 'fetch_asset', lambda name: asked.append(name) or name)
    nb.released_bundle('lookback_rnn')
    assert asked == ['melody_rnn_lookback_rnn']
    assert all(f'melody_rnn_{c}' in cookbook.ASSETS for c in nb.MELODY_CONFIGS)
    with pytest.raises(ValueError, match='valid configurations'):
        nb.released_bundle('basic')


def test_missing_bundle_names_the_file(tmp_path):
    missing = tmp_path / 'nothing_here.mag'
    with pytest.raises(FileNotFoundError, match='nothing_here.mag'):
        nb.load_melody_rnn(missing)


def test_corrupt_bundle_is_a_clear_error(tmp_path):
    garbage = tmp_path / 'garbage.mag'
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(nb.BundleError, match='garbage.mag'):
        nb.load_melody_rnn(garbage)
    text = tmp_path / 'text.mag'
    text.write_text('attention_rnn')
    with pytest.raises(nb.BundleError, match='text.mag'):
        nb.read_bundle(text)


def test_truncated_and_mismatched_real_bundle(tiny_bundle, tmp_path):
    data = tiny_bundle['bundle'].read_bytes()
    truncated = tmp_path / 'truncated.mag'
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(nb.BundleError, match='truncated.mag'):
        nb.load_melody_rnn(truncated)
    with pytest.raises(nb.BundleError, match='basic_rnn'):
        nb.load_melody_rnn(tiny_bundle['bundle'], 'attention_rnn')


def test_bundle_of_another_model_is_refused(tmp_path):
    other = nb.generator_pb2.GeneratorBundle()
    other.generator_details.id = 'drum_kit'
    other.checkpoint_file.append(b'x')
    other.metagraph_file = b'y'
    path = tmp_path / 'drums.mag'
    path.write_bytes(other.SerializeToString())
    with pytest.raises(nb.BundleError, match='drum_kit'):
        nb.load_melody_rnn(path)


# -- training, export, generation ----------------------------------------------------------

def _spy_on_generated_lengths(generator, monkeypatch):
    """Record (primer steps, melody steps) each time Magenta's model extends a melody.

    The melody events are the reliable length: the NoteSequence made from them ends with its last
    note, which is earlier whenever the model samples a note-off, so total_time alone cannot show
    how many steps were generated.
    """
    lengths = []
    model = generator._model  # magenta BaseSequenceGenerator keeps its EventSequenceRnnModel here
    real_generate_melody = model.generate_melody

    def spy(num_steps, primer_melody, **kwargs):
        melody = real_generate_melody(num_steps, primer_melody, **kwargs)
        lengths.append((primer_melody.end_step, melody.end_step))
        return melody

    monkeypatch.setattr(model, 'generate_melody', spy)
    return lengths


def test_tiny_training_produces_a_bundle_that_loads_and_generates(tiny_bundle, tmp_path, monkeypatch):
    assert tiny_bundle['bundle'].stat().st_size > 1000
    assert tiny_bundle['dataset']['train_melodies'] > 0
    curve = tiny_bundle['training']['curve']
    assert curve and all(math.isfinite(loss) for _, loss, _ in curve)
    generator = nb.load_melody_rnn(tiny_bundle['bundle'], 'basic_rnn')
    lengths = _spy_on_generated_lengths(generator, monkeypatch)
    try:
        cookbook.seed_everything(0)  # Magenta samples with NumPy's global generator
        twinkle = nb.twinkle_twinkle()  # 8 s = 32 steps of 0.25 s at 60 qpm
        result = nb.continue_melody(generator, twinkle, 16, temperature=1.2)
        # the melody now ends exactly 16 steps after the primer's 32 (Magenta rounds the section's
        # start up, so it samples from step 33 and holds the primer's last note for step 32) ...
        assert len(lengths) == 1 and 32 <= lengths[0][0] <= 33 and lengths[0][1] == 48
        # ... and the notes stay inside primer + 16 steps (4 s); a sampled note-off may end the
        # piece earlier, never before the primer's own end
        assert twinkle.total_time - 1e-6 <= result.total_time <= twinkle.total_time + 16 * 0.25 + 1e-6
        quantized = nb.note_seq.quantize_note_sequence(result, steps_per_quarter=4)
        assert max(n.quantized_end_step for n in quantized.notes) <= 48
        # the primer survives (its last note may be held on by the model)
        assert [n.pitch for n in result.notes[:14]] == [n.pitch for n in twinkle.notes]
        assert [n.start_time for n in result.notes[:14]] == pytest.approx(
            [n.start_time for n in twinkle.notes])
        assert all(n.start_time >= twinkle.total_time - 1e-6 for n in result.notes[14:])
        beam = nb.continue_melody(generator, twinkle, 8, beam_size=2, branch_factor=2,
                                  steps_per_iteration=2)
        assert len(lengths) == 2 and 32 <= lengths[1][0] <= 33 and lengths[1][1] == 40
        assert twinkle.total_time - 1e-6 <= beam.total_time <= twinkle.total_time + 8 * 0.25 + 1e-6
        with pytest.raises(ValueError, match='empty'):
            nb.continue_melody(generator, nb.music_pb2.NoteSequence(), 16)
        path = nb.save_midi(result, 'tiny', tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ['tiny.mid']
        assert len(nb.read_midi_primer(path).notes) == len(result.notes)
    finally:
        generator.close()


def _twinkle_file_with(tmp_path, name, tempos=(), time_signatures=()):
    """Twinkle Twinkle written as a MIDI file, with extra tempo or time-signature events."""
    sequence = nb.twinkle_twinkle()  # 60 qpm from time 0
    for qpm, time in tempos:
        sequence.tempos.add(qpm=qpm, time=time)
    for numerator, denominator, time in time_signatures:
        sequence.time_signatures.add(numerator=numerator, denominator=denominator, time=time)
    path = tmp_path / name
    nb.note_seq.sequence_proto_to_midi_file(sequence, str(path))
    return path


def test_primer_with_two_tempos_keeps_the_first(tiny_bundle, tmp_path, capsys):
    path = _twinkle_file_with(tmp_path, 'tempo_map.mid', tempos=[(90, 4.0)])
    sequence = nb.read_midi_primer(path)
    assert len({round(t.qpm) for t in sequence.tempos}) == 2  # the file really has a tempo map
    with pytest.raises(nb.note_seq.MultipleTempoError):  # what Magenta does with it unprepared
        nb.note_seq.quantize_note_sequence(sequence, 4)
    primer = nb.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'tempo_map.mid' in notice and '90 qpm at 4.00 s' in notice and 'kept 60 qpm' in notice
    assert [(t.qpm, t.time) for t in primer.tempos] == [(pytest.approx(60), 0.0)]
    assert [n.start_time for n in primer.notes] == pytest.approx(
        [n.start_time for n in nb.twinkle_twinkle().notes])  # notes are not re-timed
    generator = nb.load_melody_rnn(tiny_bundle['bundle'])
    try:
        result = nb.continue_melody(generator, sequence, 8)  # no MultipleTempoError escapes
    finally:
        generator.close()
    assert result.tempos[0].qpm == pytest.approx(60)
    assert 8.0 - 1e-6 <= result.total_time <= 8.0 + 8 * 0.25 + 1e-6


def test_primer_with_two_time_signatures_keeps_the_first(tiny_bundle, tmp_path, capsys):
    path = _twinkle_file_with(tmp_path, 'metre_change.mid',
                              time_signatures=[(4, 4, 0.0), (3, 4, 4.0)])
    sequence = nb.read_midi_primer(path)
    assert {(s.numerator, s.denominator) for s in sequence.time_signatures} == {(4, 4), (3, 4)}
    with pytest.raises(nb.note_seq.MultipleTimeSignatureError):
        nb.note_seq.quantize_note_sequence(sequence, 4)
    primer = nb.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'metre_change.mid' in notice and '3/4 at 4.00 s' in notice and 'kept 4/4' in notice
    assert [(s.numerator, s.denominator, s.time) for s in primer.time_signatures] == [(4, 4, 0.0)]
    generator = nb.load_melody_rnn(tiny_bundle['bundle'])
    try:
        result = nb.continue_melody(generator, sequence, 8)
    finally:
        generator.close()
    assert 8.0 - 1e-6 <= result.total_time <= 8.0 + 8 * 0.25 + 1e-6


def test_implicit_tempo_and_metre_changes_are_dropped_too(capsys):
    # Nothing at time 0 means MIDI's 120 qpm and 4/4; a later 75 qpm or 6/8 is a change for Magenta.
    sequence = nb.twinkle_twinkle()
    del sequence.tempos[:]
    sequence.tempos.add(qpm=75, time=2.0)
    sequence.time_signatures.add(numerator=6, denominator=8, time=1.0)
    primer = nb.prepare_primer(sequence)
    notice = capsys.readouterr().out
    assert 'the primer' in notice and '75 qpm at 2.00 s' in notice and '6/8 at 1.00 s' in notice
    assert [t.qpm for t in primer.tempos] == [120]
    assert [(s.numerator, s.denominator) for s in primer.time_signatures] == [(4, 4)]
    nb.note_seq.quantize_note_sequence(primer, 4)  # Magenta accepts it now
    # one tempo, repeated: nothing to announce
    plain = nb.twinkle_twinkle()
    plain.tempos.add(qpm=60, time=4.0)
    nb.prepare_primer(plain)
    assert capsys.readouterr().out == ''


def test_impossible_time_signature_and_negative_times_are_clear_errors():
    sequence = nb.twinkle_twinkle()
    sequence.time_signatures.add(numerator=0, denominator=4)
    with pytest.raises(ValueError, match='time signature 0/4'):
        nb.prepare_primer(sequence)
    sequence = nb.twinkle_twinkle()
    sequence.time_signatures.add(numerator=3, denominator=5)
    with pytest.raises(ValueError, match='3/5.*power-of-two'):
        nb.prepare_primer(sequence)
    sequence = nb.twinkle_twinkle()
    sequence.notes[0].start_time = -0.5
    with pytest.raises(ValueError, match='negative time'):
        nb.prepare_primer(sequence)


def test_quantization_errors_from_magenta_become_value_errors(monkeypatch):
    class Generator:  # stands in for a loaded MelodyRNN whose quantizer refuses the primer
        steps_per_quarter = 4

        def generate(self, primer, options):
            raise nb.note_seq.sequences_lib.QuantizationStatusError('not quantized relative to tempo')

    sequence = nb.twinkle_twinkle()
    sequence.filename = 'odd.mid'
    with pytest.raises(ValueError, match=r'odd\.mid.*QuantizationStatusError'):
        nb.continue_melody(Generator(), sequence, 8)
    Generator.generate = lambda self, primer, options: (_ for _ in ()).throw(
        nb.note_seq.MultipleTempoError('tempo change'))
    with pytest.raises(ValueError, match='MultipleTempoError'):
        nb.continue_melody(Generator(), nb.twinkle_twinkle(), 8)


def test_held_out_evaluation_and_statistics(tiny_bundle):
    scores = nb.evaluate_bundle(tiny_bundle['bundle'], tiny_bundle['dataset']['holdout'])
    assert scores['melodies'] == tiny_bundle['dataset']['holdout_melodies']
    assert scores['log_likelihood_per_step'] < 0
    assert 0 <= scores['accuracy'] <= 1
    assert scores['perplexity_per_step'] == pytest.approx(math.exp(-scores['log_likelihood_per_step']))
    held_out_ids = {t.id for t in tiny_bundle['holdout_tunes']}
    assert held_out_ids and not held_out_ids & {t.id for t in tiny_bundle['train_tunes']}


# -- primers and options -------------------------------------------------------------------

def test_options_count_new_steps_after_the_primer():
    twinkle = nb.twinkle_twinkle()  # 8 s = 32 steps at 60 qpm, 4 steps per quarter
    options = nb.continuation_options(twinkle, 32, temperature=0.7, beam_size=3)
    section = options.generate_sections[0]
    assert section.start_time == pytest.approx(8.0)
    assert section.end_time == pytest.approx(16.0, abs=1e-5)
    assert options.args['temperature'].float_value == pytest.approx(0.7)
    assert options.args['beam_size'].int_value == 3
    same = nb.continuation_options(twinkle, total_steps=64).generate_sections[0]
    assert same.end_time == pytest.approx(section.end_time)


def test_bad_options_are_refused():
    twinkle = nb.twinkle_twinkle()
    with pytest.raises(ValueError, match='32 steps.*16 steps'):
        nb.continuation_options(twinkle, total_steps=16)
    with pytest.raises(ValueError, match='temperature'):
        nb.continuation_options(twinkle, 16, temperature=0)
    with pytest.raises(ValueError, match='exactly one'):
        nb.continuation_options(twinkle)
    with pytest.raises(ValueError, match='branch_factor'):
        nb.continuation_options(twinkle, 16, branch_factor=0)
    with pytest.raises(ValueError, match='empty'):
        nb.continuation_options(nb.music_pb2.NoteSequence(), 16)


def test_empty_primer_is_refused():
    with pytest.raises(ValueError, match='empty'):
        nb.prepare_primer(nb.music_pb2.NoteSequence())
    drums_only = nb.music_pb2.NoteSequence()
    drums_only.notes.add(pitch=36, start_time=0, end_time=0.1, velocity=80, is_drum=True)
    with pytest.raises(ValueError, match='empty'):
        nb.prepare_primer(drums_only)


def test_melody_is_extracted_from_a_multi_instrument_primer(tmp_path, capsys):
    sequence = nb.read_midi_primer(_multi_instrument_midi(tmp_path / 'trio.mid'))
    assert not nb.is_monophonic(sequence)
    primer = nb.prepare_primer(sequence)
    assert 'polyphonic' in capsys.readouterr().out  # the notice
    assert [n.pitch for n in primer.notes] == [60, 62, 64, 65, 67]
    assert nb.is_monophonic(primer)
    assert primer.tempos[0].qpm == pytest.approx(120)
    piano = sorted({n.instrument for n in sequence.notes if n.program == 0 and not n.is_drum})[0]
    chord_top = nb.extract_melody(sequence, instrument=piano)
    assert [n.pitch for n in chord_top.notes] == [55]
    with pytest.raises(ValueError, match='instrument 42'):
        nb.extract_melody(sequence, instrument=42)


def test_unreadable_and_missing_midi_files(tmp_path):
    bad = tmp_path / 'broken.mid'
    bad.write_bytes(b'MThd\x00\x00\x00\x06garbage')
    with pytest.raises(ValueError, match='broken.mid'):
        nb.read_midi_primer(bad)
    with pytest.raises(FileNotFoundError, match='absent.mid'):
        nb.read_midi_primer(tmp_path / 'absent.mid')


def test_save_midi_refuses_paths_as_names(tmp_path):
    with pytest.raises(ValueError, match='plain file name'):
        nb.save_midi(nb.twinkle_twinkle(), '../escape', tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- display and sound ---------------------------------------------------------------------

def test_bokeh3_piano_roll():
    import bokeh
    from bokeh.embed import json_item
    assert int(bokeh.__version__.split('.')[0]) >= 3
    twinkle = nb.twinkle_twinkle()
    twinkle.notes.add(pitch=72, start_time=8.0, end_time=9.0, velocity=80)
    fig = nb.piano_roll_figure(twinkle, title='t', split_time=8.0)
    data = fig.renderers[0].data_source.data
    assert len(data['start']) == 15
    assert data['part'].count('generated') == 1
    assert json_item(fig)['doc']  # serialises with the installed Bokeh 3


def test_static_piano_roll():
    import matplotlib
    matplotlib.use('Agg')
    ax = nb.plot_piano_roll(nb.twinkle_twinkle(), split_time=4.0)
    bars = [c for c in ax.collections]
    assert len(bars) == 14
    ax.figure.clf()


def test_synthesis_with_fluidsynth_or_sine():
    audio, how = nb.synthesize(nb.twinkle_twinkle(), 16000)
    assert audio.dtype == np.float32 and len(audio) >= 8 * 16000
    assert 0.5 < np.max(np.abs(audio)) <= 0.9 + 1e-6
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        assert 'sine' in how
    else:
        assert 'TimGM6mb' in how


def test_synthesis_falls_back_without_libfluidsynth(monkeypatch, capsys):
    # sys.modules[name] = None makes `import fluidsynth` raise ImportError, as on a machine
    # without the system library.
    monkeypatch.setitem(sys.modules, 'fluidsynth', None)
    audio, how = nb.synthesize(nb.twinkle_twinkle(), 16000)
    assert 'sine' in how
    assert 'FluidSynth is not available' in capsys.readouterr().out
    assert len(audio) >= 8 * 16000 and np.max(np.abs(audio)) > 0.5


def test_missing_soundfont_is_named(tmp_path):
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        pytest.skip('libfluidsynth missing: the soundfont is not used')
    with pytest.raises(FileNotFoundError, match='nope.sf2'):
        nb.synthesize(nb.twinkle_twinkle(), 16000, soundfont=tmp_path / 'nope.sf2')


def test_melody_statistics():
    sequence = nb.music_pb2.NoteSequence()
    pitches = [60, 62, 64, 60, 62, 64, 60, 62, 61]  # C D E repeated, one C# outside C major
    for i, pitch in enumerate(pitches):
        sequence.notes.add(pitch=pitch, start_time=i * 0.5, end_time=(i + 1) * 0.5, velocity=80)
    stats = nb.melody_statistics(sequence)
    assert stats['pitch_range'] == 4
    assert stats['in_key'] == pytest.approx(8 / 9)
    # interval 3-grams: (2,2,-4) (2,-4,2) (-4,2,2) (2,2,-4)* (2,-4,2)* (-4,2,-1): 2 repeats of 6
    assert stats['repetition'] == pytest.approx(2 / 6)
    assert nb.melody_statistics(nb.music_pb2.NoteSequence()) is None
