"""Unit tests of cookbook.melody_baselines: Kneser-Ney n-grams, softmax regression, onsets,
bootstrap intervals over tunes, the verdict and the n-gram sampler."""
import os

_PREVIOUS_LEGACY_KERAS = os.environ.get('TF_USE_LEGACY_KERAS')
os.environ['TF_USE_LEGACY_KERAS'] = '1'

import numpy as np
import pytest

from cookbook import melody_baselines as mb
from cookbook import midi

try:
    from magenta.models.melody_rnn import melody_rnn_model
finally:
    if _PREVIOUS_LEGACY_KERAS is None:
        os.environ.pop('TF_USE_LEGACY_KERAS', None)
    else:
        os.environ['TF_USE_LEGACY_KERAS'] = _PREVIOUS_LEGACY_KERAS


def test_contexts_put_position_first_then_latest_labels():
    ctx = mb.contexts(np.array([5, 6, 7]), depth=3, num_classes=9, bar_steps=4)
    # step i predicts label i at position (i + 1) % 4; start of melody is label 9
    assert ctx.tolist() == [[1, 9, 9], [2, 5, 9], [3, 6, 5]]
    plain = mb.contexts(np.array([5, 6, 7]), depth=2, num_classes=9, bar_steps=None)
    assert plain.tolist() == [[9, 9], [5, 9], [6, 5]]


def test_unigram_level_is_discounted_counts_plus_a_uniform_share_by_hand():
    train = [np.array([0, 0, 1])]  # counts 2, 1, 0 of 3; too few counts of counts: D = .5, 1, 1.5
    model = mb.KneserNey(3, max_order=1).fit(train)
    p = model.probabilities([np.array([0, 1, 2])], order=1)[0]
    gamma = (1.0 + 0.5) / 3  # D2 for the count 2, D1 for the count 1
    assert p == pytest.approx([(2 - 1) / 3 + gamma / 3, (1 - 0.5) / 3 + gamma / 3, gamma / 3])


@pytest.mark.parametrize('bar_steps', [None, 4])
def test_every_order_gives_distributions(bar_steps):
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 6, 120) for _ in range(15)]
    model = mb.KneserNey(6, max_order=7, bar_steps=bar_steps).fit(train)
    for p in model.all_orders([rng.integers(0, 6, 40), np.array([5])]):
        assert p.shape == (41, 6) and np.allclose(p.sum(1), 1) and (p > 0).all()
    with pytest.raises(ValueError, match='order must be'):
        model.probabilities(train[:1], order=8)
    with pytest.raises(ValueError, match='labels must lie'):
        mb.KneserNey(3).fit([np.array([0, 3])])


def _mean_loglik(p, melodies):
    y = np.concatenate(melodies)
    return float(np.log(p[np.arange(len(y)), y]).mean())


def test_longer_contexts_and_position_win_where_the_data_need_them():
    # a 4-label motif: 1 label of context is ambiguous (0 is followed by 0 or 1), 2 are not
    motif = [np.array([0, 0, 1, 2] * 30)]
    held = [np.array([0, 0, 1, 2] * 5)]
    orders = mb.KneserNey(3, max_order=3).fit(motif).all_orders(held)
    lls = [_mean_loglik(p, held) for p in orders]
    assert lls[2] > lls[1] + 0.2 > lls[0] + 0.2
    # position in a bar of 4 decides the label by itself
    positional = mb.KneserNey(3, max_order=1 + 1, bar_steps=4).fit(motif).probabilities(held)
    assert _mean_loglik(positional, held) > lls[1] + 0.2
    assert (positional.argmax(1) == held[0]).mean() == 1.0


def test_next_distribution_is_the_last_step_of_the_history():
    model = mb.KneserNey(3, max_order=3).fit([np.array([0, 1, 2] * 20)])
    p = model.next_distribution([0, 1], order=3)
    assert p.argmax() == 2 and p.sum() == pytest.approx(1)


def test_stacked_inputs_and_softmax_regression():
    x = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    stacked = mb.stacked_inputs(x, 2)
    assert stacked.shape == (4, 6) and stacked[0, 3:].sum() == 0 and (stacked[1, 3:] == x[0]).all()
    rng = np.random.default_rng(1)
    # the label is the previous step's one-hot feature: one step of inputs cannot know it, two can
    examples = []
    for _ in range(20):
        states = rng.integers(0, 3, 60)
        features = np.eye(3, dtype=np.float32)[states]
        labels = np.concatenate([[0], states[:-1]])
        examples.append((features, labels))
    one = mb.SoftmaxRegression(3, window=1, l2=1e-4).fit(examples[:15])
    two = mb.SoftmaxRegression(3, window=2, l2=1e-4).fit(examples[:15])
    held_labels = [l for _, l in examples[15:]]
    assert _mean_loglik(two.probabilities(examples[15:]), held_labels) > -0.2
    assert _mean_loglik(one.probabilities(examples[15:]), held_labels) < -0.9
    assert two.iterations > 0 and 'two' not in two.name and '2 steps' in two.name


def test_onsets_resolve_the_repeat_classes():
    config = melody_rnn_model.default_configs['lookback_rnn']
    events, inputs, labels = midi.encode_melody(midi.twinkle_twinkle(), config)
    onsets = mb.onset_mask(config, inputs, labels)
    assert onsets.tolist() == [event >= 0 for event in events[1:]]
    assert any(label >= 38 for label, onset in zip(labels, onsets) if not onset)  # repeats of holds
    classes = mb.next_event_classes(config, inputs, labels)
    assert classes.tolist() == [0 if e == -2 else 1 if e == -1 else e - config.min_note + 2
                                for e in events[1:]]
    basic = melody_rnn_model.default_configs['basic_rnn']
    _, b_inputs, b_labels = midi.encode_melody(midi.twinkle_twinkle(), basic)
    assert mb.onset_mask(basic, b_inputs, b_labels).tolist() == onsets.tolist()


def _scores(loglik, steps=(10, 10, 10), notes=(4, 4, 4), correct=(5, 5, 5), onset=(2, 2, 2)):
    return {'loglik': np.array(loglik, float), 'steps': np.array(steps, float),
            'notes': np.array(notes, float), 'correct': np.array(correct, float),
            'onset_correct': np.array(onset, float)}


def test_per_tune_scores_and_summary_by_hand():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    sums = mb.per_tune_scores(p, [[np.array([0, 1])], [np.array([1])]],
                              [[np.array([True, False])], [np.array([True])]])
    assert sums['loglik'] == pytest.approx([np.log(0.5) + np.log(0.1), np.log(0.8)])
    assert sums['correct'].tolist() == [1, 1] and sums['onset_correct'].tolist() == [1, 1]
    s = mb.summary(sums)
    assert s['log_likelihood_per_step'] == pytest.approx(np.log(0.5 * 0.1 * 0.8) / 3)
    assert s['log_likelihood_per_note'] == pytest.approx(np.log(0.5 * 0.1 * 0.8) / 2)
    assert s['accuracy'] == pytest.approx(2 / 3) and s['onset_accuracy'] == 1.0
    with pytest.raises(ValueError, match='rows of probabilities'):
        mb.per_tune_scores(p, [[np.array([0])]], [[np.array([True])]])


def test_bootstrap_intervals_over_tunes():
    same = _scores([-10, -12, -14])
    diff = mb.bootstrap_difference(same, same, resamples=200)
    assert all(d == (0.0, 0.0, 0.0) for d in diff.values())
    better = _scores([-8, -10, -13])
    value, low, high = mb.bootstrap_difference(better, same, resamples=500)['log_likelihood_per_step']
    assert value == pytest.approx(5 / 30) and 0 < low <= value <= high
    mixed = _scores([-6, -12, -18])  # better on one tune, worse on another
    value, low, high = mb.bootstrap_difference(mixed, same, resamples=500)['log_likelihood_per_step']
    assert low < 0 < high
    # a tune that gave no melody (0 steps) is left out of the resampling, not a NaN
    empty = _scores([-8, -10, 0], steps=(10, 10, 0), notes=(4, 4, 0), correct=(5, 5, 0), onset=(2, 2, 0))
    base = _scores([-9, -12, 0], steps=(10, 10, 0), notes=(4, 4, 0), correct=(5, 5, 0), onset=(2, 2, 0))
    diff = mb.bootstrap_difference(empty, base, resamples=300)
    assert all(np.isfinite(v).all() for v in diff.values())
    with pytest.raises(ValueError, match='same tunes'):
        mb.bootstrap_difference(same, _scores([-1, -1, -1], steps=(10, 10, 9)))
    assert 'better than' in mb.verdict('m', (0.1, 0.05, 0.15), 'KN')
    assert 'worse than' in mb.verdict('m', (-0.1, -0.15, -0.05), 'KN')
    assert 'no better than KN' in mb.verdict('m', (0.01, -0.02, 0.04), 'KN')


def test_ngram_sampler_continues_in_the_models_classes():
    config = melody_rnn_model.default_configs['lookback_rnn']
    events, _, labels = midi.encode_melody(midi.twinkle_twinkle(), config)
    model = mb.KneserNey(config.encoder_decoder.num_classes, max_order=4).fit([labels] * 5)
    out = mb.sample_continuation(model, 4, config, events, 16, np.random.default_rng(0))
    assert out[:len(events)] == events and len(out) == len(events) + 16
    assert all(e in (-2, -1) or config.min_note <= e < config.max_note for e in out)
    cold = mb.sample_continuation(model, 4, config, events, 16, np.random.default_rng(0), 0.05)
    assert len(cold) == len(events) + 16
