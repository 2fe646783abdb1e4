"""Unit tests for notebook 3 (melody generation): the code in its cells tagged `library`
(loading a bundle, continuing a melody, Magenta's pipeline, training, export and held-out scoring).
The plumbing it calls (primers, bundle checks, the corpus, sound, pictures) is tested through the
package in tests/test_cookbook_midi.py.

TF_USE_LEGACY_KERAS: MelodyRNN's graph code needs tf.compat.v1.nn.rnn_cell, which TensorFlow 2.16+
only serves through tf-keras when TF_USE_LEGACY_KERAS=1. TensorFlow resolves each of its lazy Keras
entry points on first use, not at `import tensorflow`, so setting the flag before Magenta is imported
works even when TensorFlow/Keras 3 were imported earlier in this pytest process. The flag is put
back afterwards so that other test modules that touch `tf.keras` for the first time still get
Keras 3 (the entry points Magenta needs were already resolved during the import below).
"""
import math
import os

_PREVIOUS_LEGACY_KERAS = os.environ.get('TF_USE_LEGACY_KERAS')
os.environ['TF_USE_LEGACY_KERAS'] = '1'  # before TensorFlow/Magenta are imported below

import pytest

import cookbook
from cookbook import midi

try:
    nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library',
                                       module_name='nb_melody_under_test')
finally:
    if _PREVIOUS_LEGACY_KERAS is None:
        os.environ.pop('TF_USE_LEGACY_KERAS', None)
    else:
        os.environ['TF_USE_LEGACY_KERAS'] = _PREVIOUS_LEGACY_KERAS


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A real, tiny MelodyRNN trained for a few steps on corpus tunes and exported as .mag."""
    folder = tmp_path_factory.mktemp('melody_training')
    tunes, _ = midi.corpus_tunes(14)
    train_tunes, holdout_tunes = midi.split_tunes(tunes, 0.3)
    config = nb.melody_rnn_config('basic_rnn', batch_size=4, rnn_layer_sizes=[16])
    dataset = nb.make_dataset(config, train_tunes, holdout_tunes, folder / 'dataset')
    training = nb.train_melody_rnn(config, dataset['train'], folder / 'train', 3)
    bundle = nb.export_bundle(config, folder / 'train', folder / 'tiny.mag', 'test bundle')
    return {'config': config, 'dataset': dataset, 'training': training, 'bundle': bundle,
            'train_tunes': train_tunes, 'holdout_tunes': holdout_tunes, 'folder': folder}


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


def test_configuration_copies_change_only_what_is_asked():
    config = nb.melody_rnn_config('attention_rnn', batch_size=8, rnn_layer_sizes=['32', '16'])
    assert config.hparams.batch_size == 8 and config.hparams.rnn_layer_sizes == [32, 16]
    assert config.hparams.attn_length == 40  # attention over the last 40 outputs
    original = nb.melody_rnn_model.default_configs['attention_rnn']
    assert original.hparams.batch_size == 128 and original.hparams.rnn_layer_sizes == [128, 128]
    with pytest.raises(ValueError, match='valid configurations'):
        nb.melody_rnn_config('jazz_rnn')


def test_tiny_training_produces_a_bundle_that_loads_and_generates(tiny, tmp_path, monkeypatch):
    assert tiny['bundle'].stat().st_size > 1000
    assert tiny['dataset']['train_melodies'] > 0 and tiny['dataset']['holdout_melodies'] > 0
    curve = tiny['training']['curve']
    assert curve and all(math.isfinite(loss) for _, loss, _ in curve)
    generator = nb.load_melody_rnn(tiny['bundle'], 'basic_rnn')
    lengths = _spy_on_generated_lengths(generator, monkeypatch)
    try:
        cookbook.seed_everything(0)  # Magenta samples with NumPy's global generator
        twinkle = midi.twinkle_twinkle()  # 8 s = 32 steps of 0.25 s at 60 qpm
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
        with pytest.raises(ValueError, match='temperature'):
            nb.continue_melody(generator, twinkle, 16, temperature=0)
        assert len(lengths) == 2  # refused before Magenta was asked
    finally:
        generator.close()


def test_resumed_training_goes_on_from_the_checkpoint(tiny, tmp_path):
    train_dir = tmp_path / 'train'
    first = nb.train_melody_rnn(tiny['config'], tiny['dataset']['train'], train_dir, 2)
    assert first['steps'] == 2 and nb.tf1.train.latest_checkpoint(str(train_dir)).endswith('-2')
    more = nb.train_melody_rnn(tiny['config'], tiny['dataset']['train'], train_dir, 3, resume=True)
    assert more['steps'] == 5 and nb.tf1.train.latest_checkpoint(str(train_dir)).endswith('-5')
    fresh = nb.train_melody_rnn(tiny['config'], tiny['dataset']['train'], train_dir, 1)
    assert fresh['steps'] == 1 and nb.tf1.train.latest_checkpoint(str(train_dir)).endswith('-1')


def test_truncated_and_mismatched_real_bundle(tiny, tmp_path):
    data = tiny['bundle'].read_bytes()
    truncated = tmp_path / 'truncated.mag'
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(midi.BundleError, match='truncated.mag'):
        nb.load_melody_rnn(truncated)
    with pytest.raises(midi.BundleError, match='basic_rnn'):
        nb.load_melody_rnn(tiny['bundle'], 'attention_rnn')
    # a readable protobuf whose weights are garbage: refused when the weights are restored
    bundle = midi.read_bundle(tiny['bundle'])
    bundle.checkpoint_file[0] = b'\0' * 64
    broken = tmp_path / 'broken_weights.mag'
    broken.write_bytes(bundle.SerializeToString())
    with pytest.raises(midi.BundleError, match='broken_weights.mag.*cannot be restored'):
        nb.load_melody_rnn(broken)


def test_primer_with_a_tempo_map_is_continued(tiny, tmp_path, capsys):
    sequence = midi.twinkle_twinkle()
    sequence.tempos.add(qpm=90, time=4.0)
    sequence.filename = 'tempo_map.mid'
    generator = nb.load_melody_rnn(tiny['bundle'])
    try:
        result = nb.continue_melody(generator, sequence, 8)  # no MultipleTempoError escapes
    finally:
        generator.close()
    assert 'kept 60 qpm' in capsys.readouterr().out
    assert result.tempos[0].qpm == pytest.approx(60)
    assert 8.0 - 1e-6 <= result.total_time <= 8.0 + 8 * 0.25 + 1e-6


def test_quantization_errors_from_magenta_become_value_errors():
    class Generator:  # stands in for a loaded MelodyRNN whose quantizer refuses the primer
        steps_per_quarter = 4

        def generate(self, primer, options):
            raise nb.note_seq.sequences_lib.QuantizationStatusError('not quantized relative to tempo')

    sequence = midi.twinkle_twinkle()
    sequence.filename = 'odd.mid'
    with pytest.raises(ValueError, match=r'odd\.mid.*QuantizationStatusError'):
        nb.continue_melody(Generator(), sequence, 8)
    Generator.generate = lambda self, primer, options: (_ for _ in ()).throw(
        nb.note_seq.MultipleTempoError('tempo change'))
    with pytest.raises(ValueError, match='MultipleTempoError'):
        nb.continue_melody(Generator(), midi.twinkle_twinkle(), 8)


def test_options_carry_every_knob():
    seen = {}

    class Generator:
        steps_per_quarter = 4

        def generate(self, primer, options):
            seen['options'] = options
            return primer

    nb.continue_melody(Generator(), midi.twinkle_twinkle(), 32, temperature=0.7, beam_size=3,
                       branch_factor=2, steps_per_iteration=4)
    args, section = seen['options'].args, seen['options'].generate_sections[0]
    assert args['temperature'].float_value == pytest.approx(0.7)
    assert (args['beam_size'].int_value, args['branch_factor'].int_value,
            args['steps_per_iteration'].int_value) == (3, 2, 4)
    assert section.start_time == pytest.approx(8.0) and section.end_time == pytest.approx(16.0, abs=1e-5)


def test_the_section_counts_new_steps_after_the_primer():
    twinkle = midi.twinkle_twinkle()  # 8 s = 32 steps at 60 qpm, 4 steps per quarter
    section = nb.generator_options(twinkle, 32, steps_per_quarter=4).generate_sections[0]
    assert section.start_time == pytest.approx(8.0) and section.end_time == pytest.approx(16.0, abs=1e-5)
    # 2 steps per quarter: the primer is 16 steps of 0.5 s, plus 8 -> 24 steps = 12 s
    section = nb.generator_options(twinkle, 8, steps_per_quarter=2).generate_sections[0]
    assert section.end_time == pytest.approx(12.0, abs=1e-5)
    # at 120 qpm a step is 0.125 s: Twinkle's 8 s are 64 steps, 16 more end at 10 s
    fast = midi.twinkle_twinkle()
    fast.tempos[0].qpm = 120
    assert nb.generator_options(fast, 16, 4).generate_sections[0].end_time == pytest.approx(10.0, abs=1e-5)
    # a primer ending in the middle of a step: generation starts at its last note's end, and the
    # section ends on the grid, 32 - 29 steps after the primer's 29
    opening = midi.twinkle_twinkle()
    opening.notes[-1].end_time = 7.1
    section = nb.generator_options(opening, 3, 4).generate_sections[0]
    assert section.start_time == pytest.approx(7.1) and section.end_time == pytest.approx(8.0, abs=1e-5)
    for bad in (0, -4, 2.5):
        with pytest.raises(ValueError, match='num_steps'):
            nb.generator_options(twinkle, bad, 4)


def test_a_released_bundle_that_cannot_be_fetched_or_loaded_falls_back(tmp_path, monkeypatch, capsys):
    corrupt = tmp_path / 'attention_rnn.mag'
    corrupt.write_bytes(b'\x08\x01 not a bundle' * 50)
    monkeypatch.setattr(cookbook.assets, 'fetch_asset', lambda name: corrupt)
    path, generator = midi.released_or_shipped('attention_rnn', nb.load_melody_rnn)
    try:
        assert path == midi.shipped_bundle()
        assert generator.details.id == midi.read_bundle(path).generator_details.id
    finally:
        generator.close()
    notice = capsys.readouterr().out
    assert 'BundleError' in notice and 'attention_rnn.mag' in notice and path.name in notice

    def offline(name):
        raise cookbook.DownloadError(f'{name}: no network')
    monkeypatch.setattr(cookbook.assets, 'fetch_asset', offline)
    path, generator = midi.released_or_shipped('basic_rnn', nb.load_melody_rnn)
    generator.close()
    assert path == midi.shipped_bundle() and 'no network' in capsys.readouterr().out
    with pytest.raises(ValueError, match='valid configurations'):
        midi.released_or_shipped('jazz_rnn', nb.load_melody_rnn)


def test_a_bundle_named_by_the_reader_is_not_replaced(tiny, tmp_path):
    generator = nb.load_melody_rnn(tiny['bundle'])  # any MelodyRNN bundle loads as it is
    try:
        assert generator.details.id == 'basic_rnn'
    finally:
        generator.close()
    with pytest.raises(FileNotFoundError, match='missing.mag'):
        nb.load_melody_rnn(tmp_path / 'missing.mag')


def test_held_out_scores_and_the_baseline(tiny):
    scores = nb.evaluate_bundle(tiny['bundle'], tiny['dataset']['holdout'])
    melodies = midi.read_sequence_examples(tiny['dataset']['holdout'])
    assert scores['steps'] == sum(len(labels) for _, labels in melodies)
    assert scores['log_likelihood_per_step'] < 0 and 0 <= scores['accuracy'] <= 1
    # three steps of training leave the model close to uniform over basic_rnn's 38 classes
    assert scores['log_likelihood_per_step'] == pytest.approx(-math.log(38), abs=0.5)
    train_labels = [labels for _, labels in midi.read_sequence_examples(tiny['dataset']['train'])]
    baseline = midi.majority_baseline(train_labels, [labels for _, labels in melodies], 38)
    assert baseline['steps'] == scores['steps']
    held_out_ids = {t.id for t in tiny['holdout_tunes']}
    assert held_out_ids and not held_out_ids & {t.id for t in tiny['train_tunes']}


def test_evaluate_bundle_agrees_with_magentas_own_log_likelihood(tiny, tmp_path):
    """The same number by an independent route: Magenta's EventSequenceRnnModel scoring Twinkle."""
    from magenta.pipelines.pipelines_common import make_sequence_example
    events, inputs, labels = midi.encode_melody(midi.twinkle_twinkle(), tiny['config'])
    record = midi.write_tfrecord([make_sequence_example(inputs.tolist(), labels.tolist())],
                                 tmp_path / 'twinkle.tfrecord')
    ours = nb.evaluate_bundle(tiny['bundle'], record)
    generator = nb.load_melody_rnn(tiny['bundle'])
    try:
        magentas = generator._model._evaluate_log_likelihood([nb.note_seq.Melody(events)])[0]
    finally:
        generator.close()
    assert ours['steps'] == len(events) - 1
    assert ours['log_likelihood_per_step'] * ours['steps'] == pytest.approx(magentas, rel=1e-4)


def test_make_dataset_refuses_tunes_that_yield_no_melody(tmp_path):
    config = nb.melody_rnn_config('basic_rnn', batch_size=4, rnn_layer_sizes=[8])
    too_short = midi.twinkle_twinkle()  # 2 bars: Magenta's extractor wants at least 7
    with pytest.raises(ValueError, match='no train tune survived'):
        nb.make_dataset(config, [too_short], [too_short], tmp_path)


def test_the_notebook_and_the_shipped_bundles_script_use_one_split():
    """The held-out tunes the notebook scores on are the shipped bundle's held-out tunes: both split
    with midi.split_by_ids and the split file stored beside the bundle."""
    import json
    notebook = json.loads((cookbook.REPO_ROOT / 'notebooks' / '03_melody_generation.ipynb').read_text())
    code = '\n'.join(''.join(c['source']) for c in notebook['cells'] if c['cell_type'] == 'code')
    script = (cookbook.REPO_ROOT / 'scripts' / 'train_folk_bundle.py').read_text()
    assert 'midi.split_by_ids(tunes)' in code and 'split_tunes(' not in code
    assert 'midi.split_by_ids(tunes, split)' in script and 'split_tunes(' not in script
    assert 'midi.read_folk_split(args.split)' in script
    assert f"default=str(midi.SHIPPED_DIR / midi.FOLK_SPLIT_FILE)" in script


def test_encode_tunes_keeps_the_pipelines_melodies_per_tune(tiny):
    """The per-tune encoding the baselines and the bootstrap use gives exactly the melodies of the
    held-out TFRecord, and the bundle's probabilities over them are the ones evaluate_bundle scores."""
    import numpy as np
    encoded = nb.encode_tunes(tiny['config'], tiny['holdout_tunes'])
    assert len(encoded) == len(tiny['holdout_tunes'])
    ours = sorted(tuple(y) for melodies in encoded for _, y, _ in melodies)
    pipeline = sorted(tuple(y) for _, y in midi.read_sequence_examples(tiny['dataset']['holdout']))
    assert ours == pipeline
    melodies = [(x, y) for m in encoded for x, y, _ in m]
    p = nb.bundle_probabilities(tiny['bundle'], melodies)
    labels = np.concatenate([y for _, y in melodies])
    assert p.shape == (len(labels), 38) and np.allclose(p.sum(1), 1, atol=1e-4)
    scores = nb.evaluate_bundle(tiny['bundle'], tiny['dataset']['holdout'])
    assert scores['log_likelihood_per_step'] == pytest.approx(np.log(p[np.arange(len(labels)), labels]).mean(), abs=1e-4)
    assert all(o.dtype == bool and len(o) == len(y) for m in encoded for _, y, o in m)
