"""Baselines for MelodyRNN's next-event predictions, on the same labels and held-out tunes.

A model of melodies is judged by the likelihood it gives to held-out tunes (nats per step, and
per note), next to models a music-modelling reviewer expects:

* ``KneserNey``: a smoothed variable-order n-gram over the configuration's own output classes
  (interpolated modified Kneser-Ney, Chen & Goodman 1999), optionally with the step's position
  in the bar as the first element of every context; the order is chosen on validation tunes;
* ``SoftmaxRegression``: multinomial logistic regression on lookback_rnn's own input features
  (the features of the last ``window`` steps), L2-regularised, fitted with L-BFGS.

Plus the scoring helpers: per-tune sums (so intervals can be bootstrapped over tunes), which
steps are note onsets, paired bootstrap intervals for a difference of two models, and a sampler
that continues a primer from an n-gram (a reference row for the continuation statistics).
Everything here is NumPy (and SciPy's optimiser); Magenta is needed only to decode classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


# --------------------------------------------------------------------------------------
# What a step is: note onsets
# --------------------------------------------------------------------------------------

def next_event_classes(config, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The one-hot melody class (0 no event, 1 note-off, 2.. a pitch) of the event each label
    stands for. A lookback label ("repeat N bars ago") is resolved with the input that shows the
    event it would repeat (lookback_rnn's inputs hold those one-hot events after the current one)."""
    encoder = config.encoder_decoder
    distances = getattr(encoder, '_lookback_distances', None) or []
    labels = np.asarray(labels, np.int64)
    if not distances:
        return labels.copy()
    width = encoder.num_classes - len(distances)  # the melody one-hot classes (38 for lookback)
    classes = labels.copy()
    for index in range(len(distances)):
        repeat = labels == width + index
        block = inputs[:, width * (index + 1):width * (index + 2)]
        classes[repeat] = block[repeat].argmax(-1)
    return classes


def onset_mask(config, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """True at the steps whose event (the label's) is a new note."""
    return next_event_classes(config, inputs, labels) >= 2


# --------------------------------------------------------------------------------------
# Interpolated modified Kneser-Ney over label contexts
# --------------------------------------------------------------------------------------

def contexts(labels: np.ndarray, depth: int, num_classes: int, bar_steps: int | None):
    """[steps, depth] context elements of each step, most important first: with ``bar_steps``,
    the position in the bar of the step predicted, then the previous labels, latest first; the
    start of the melody is label ``num_classes``. Label i is the class of the event at step i + 1."""
    labels = np.asarray(labels, np.int64)
    n = len(labels)
    padded = np.concatenate([np.full(depth, num_classes, np.int64), labels])
    columns = []
    if bar_steps:
        columns.append((np.arange(n) + 1) % bar_steps)
    for back in range(1, depth + 1 - len(columns)):
        columns.append(padded[depth - back:depth - back + n])
    return np.stack(columns, 1) if columns else np.zeros((n, 0), np.int64)


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Chen & Goodman's D1, D2, D3+ from the counts of counts (guarded for tiny data)."""
    n = [np.sum(counts == c) for c in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.array([0.5, 1.0, 1.5])
    y = n[0] / (n[0] + 2 * n[1])
    d = np.array([1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])
    return np.clip(d, 0.05, [1.0, 2.0, 3.0])


@dataclass
class _Level:
    keys: np.ndarray       # sorted context keys at this level (parent id * base + element)
    pairs: np.ndarray      # sorted context id * K + label, raw counts
    kept: np.ndarray       # discounted raw counts of those pairs
    total: np.ndarray      # per context id: raw count
    gamma: np.ndarray      # per context id: mass left to the level below, raw
    cont_pairs: np.ndarray | None = None  # the same with continuation counts
    cont_kept: np.ndarray | None = None
    cont_total: np.ndarray | None = None
    cont_gamma: np.ndarray | None = None


def _tables(pair_ids, counts, n_contexts, k):
    d = _discounts(counts)
    discount = d[np.minimum(counts, 3).astype(np.int64) - 1]
    kept = counts - discount
    context = pair_ids // k
    total = np.bincount(context, weights=counts, minlength=n_contexts)
    left = np.bincount(context, weights=discount, minlength=n_contexts)
    gamma = np.divide(left, total, out=np.ones(n_contexts), where=total > 0)
    kept = np.divide(kept, total[context])
    return kept, total, gamma


class KneserNey:
    """Interpolated modified Kneser-Ney over a configuration's output classes, every order up to
    ``max_order`` at once (order n reads n - 1 context elements; with ``bar_steps`` the first is
    the step's position in the bar, kept until the last back-off).

    fit(label arrays) counts; probabilities(label arrays, order) gives [steps, K] per melody.
    """

    def __init__(self, num_classes: int, max_order: int = 10, bar_steps: int | None = None):
        if max_order < 1:
            raise ValueError(f'max_order must be >= 1, got {max_order}')
        self.k, self.max_order, self.bar_steps = int(num_classes), int(max_order), bar_steps
        self.base = max(self.k + 1, bar_steps or 0)
        self.levels: list[_Level] = []

    @property
    def name(self) -> str:
        return 'Kneser-Ney n-gram' + (' + position in bar' if self.bar_steps else '')

    def _context_matrix(self, melodies):
        depth = self.max_order - 1
        return np.concatenate([contexts(m, depth, self.k, self.bar_steps) for m in melodies])

    def fit(self, melodies: Sequence[np.ndarray]) -> 'KneserNey':
        melodies = [np.asarray(m, np.int64) for m in melodies if len(m)]
        if not melodies:
            raise ValueError('no training labels to count')
        y = np.concatenate(melodies)
        if y.min() < 0 or y.max() >= self.k:
            raise ValueError(f'labels must lie in 0..{self.k - 1}, got {y.min()}..{y.max()}')
        elements = self._context_matrix(melodies)
        ids = np.zeros(len(y), np.int64)
        levels, parents = [], []
        for level in range(self.max_order):
            if level == 0:
                keys = np.zeros(1, np.int64)
            else:
                keys, ids = np.unique(ids * self.base + elements[:, level - 1], return_inverse=True)
                ids = ids.reshape(-1)
            pairs, counts = np.unique(ids * self.k + y, return_counts=True)
            kept, total, gamma = _tables(pairs, counts.astype(float), len(keys), self.k)
            levels.append(_Level(keys, pairs, kept, total, gamma))
            parents.append(keys // self.base if level else None)
        # continuation counts of level l: how many distinct contexts of level l + 1 extend a
        # context of level l and were followed by the label
        for level in range(self.max_order - 1):
            above = levels[level + 1]
            parent_of = parents[level + 1]
            cont = parent_of[above.pairs // self.k] * self.k + above.pairs % self.k
            pairs, counts = np.unique(cont, return_counts=True)
            lv = levels[level]
            lv.cont_pairs = pairs
            lv.cont_kept, lv.cont_total, lv.cont_gamma = _tables(pairs, counts.astype(float),
                                                                 len(lv.keys), self.k)
        self.levels = levels
        return self

    def _lookup(self, pairs_sorted, values, queries):
        index = np.minimum(np.searchsorted(pairs_sorted, queries), len(pairs_sorted) - 1)
        found = pairs_sorted[index] == queries
        return np.where(found, values[index], 0.0)

    def all_orders(self, melodies: Sequence[np.ndarray]) -> list[np.ndarray]:
        """For orders 1..max_order: [steps, K] probabilities of every step of ``melodies``
        (concatenated in order)."""
        if not self.levels:
            raise RuntimeError('fit the model first')
        melodies = [np.asarray(m, np.int64) for m in melodies]
        elements = self._context_matrix(melodies)
        n = len(elements)
        ids = np.zeros(n, np.int64)
        known = np.ones(n, bool)
        labels = np.arange(self.k)
        lower = np.full((n, self.k), 1.0 / self.k)
        out = []
        for level, lv in enumerate(self.levels):
            if level:
                keys = ids * self.base + elements[:, level - 1]
                index = np.minimum(np.searchsorted(lv.keys, keys), len(lv.keys) - 1)
                known = known & (lv.keys[index] == keys)
                ids = np.where(known, index, 0)
            queries = ids[:, None] * self.k + labels[None, :]
            raw = (self._lookup(lv.pairs, lv.kept, queries)
                   + lv.gamma[ids][:, None] * lower)
            raw = np.where(known[:, None], raw, lower)
            out.append(raw)
            if lv.cont_pairs is not None:
                cont = (self._lookup(lv.cont_pairs, lv.cont_kept, queries)
                        + lv.cont_gamma[ids][:, None] * lower)
                has = known & (lv.cont_total[ids] > 0)
                lower = np.where(has[:, None], cont, lower)
        return out

    def probabilities(self, melodies: Sequence[np.ndarray], order: int | None = None) -> np.ndarray:
        order = order or self.max_order
        if not 1 <= order <= self.max_order:
            raise ValueError(f'order must be 1..{self.max_order}, got {order}')
        return self.all_orders(melodies)[order - 1]

    def next_distribution(self, history: Sequence[int], order: int) -> np.ndarray:
        """P(next label | the labels so far) for sampling: the last step of history + [?]."""
        probe = np.asarray(list(history) + [0], np.int64)
        return self.probabilities([probe], order)[-1]


# --------------------------------------------------------------------------------------
# Softmax regression on the model's own inputs
# --------------------------------------------------------------------------------------

def stacked_inputs(inputs: np.ndarray, window: int) -> np.ndarray:
    """[steps, window * features]: the inputs of this step and the window - 1 before it (zeros
    before the start)."""
    n, f = inputs.shape
    padded = np.concatenate([np.zeros((window - 1, f), inputs.dtype), inputs])
    return np.concatenate([padded[window - 1 - back:window - 1 - back + n]
                           for back in range(window)], 1)


class SoftmaxRegression:
    """Multinomial logistic regression, P(label | features of the last ``window`` steps), with
    an L2 penalty ``l2`` (per step) on the weights, fitted by L-BFGS on all steps at once."""

    def __init__(self, num_classes: int, window: int = 1, l2: float = 1e-4, max_iter: int = 200):
        self.k, self.window, self.l2, self.max_iter = int(num_classes), int(window), float(l2), max_iter
        self.weights = None
        self.iterations = 0

    @property
    def name(self) -> str:
        return f'softmax regression on lookback inputs ({self.window} step{"s" * (self.window > 1)})'

    def _design(self, examples):
        x = np.concatenate([stacked_inputs(np.asarray(i, np.float32), self.window) for i, _ in examples])
        return np.concatenate([x, np.ones((len(x), 1), np.float32)], 1)

    def fit(self, examples: Sequence[tuple[np.ndarray, np.ndarray]]) -> 'SoftmaxRegression':
        from scipy.optimize import minimize
        x = self._design(examples)
        y = np.concatenate([np.asarray(l, np.int64) for _, l in examples])
        n, d = x.shape
        onehot = np.zeros((n, self.k), np.float32)
        onehot[np.arange(n), y] = 1

        def loss(flat):
            w = flat.reshape(d, self.k).astype(np.float32)
            logits = x @ w
            logits -= logits.max(1, keepdims=True)
            logsum = np.log(np.exp(logits).sum(1, keepdims=True))
            logp = logits - logsum
            value = -float((logp * onehot).sum()) / n + 0.5 * self.l2 * float((w[:-1] ** 2).sum())
            grad = x.T @ (np.exp(logp) - onehot) / n
            grad[:-1] += self.l2 * w[:-1]
            return value, grad.astype(np.float64).ravel()

        result = minimize(loss, np.zeros(d * self.k), jac=True, method='L-BFGS-B',
                          options={'maxiter': self.max_iter})
        self.weights = result.x.reshape(d, self.k).astype(np.float32)
        self.iterations = int(result.nit)
        return self

    def probabilities(self, examples) -> np.ndarray:
        if self.weights is None:
            raise RuntimeError('fit the model first')
        logits = self._design(examples) @ self.weights
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)


# --------------------------------------------------------------------------------------
# Scores per tune, and bootstrap intervals over tunes
# --------------------------------------------------------------------------------------

def per_tune_scores(probabilities: np.ndarray, labels_by_tune: Sequence[Sequence[np.ndarray]],
                    onsets_by_tune: Sequence[Sequence[np.ndarray]]) -> dict:
    """Sums per tune from [steps, K] probabilities of every step (melodies concatenated in tune
    order): 'loglik', 'steps', 'notes', 'correct', 'onset_correct' (arrays, one entry a tune)."""
    sums = {key: [] for key in ('loglik', 'steps', 'notes', 'correct', 'onset_correct')}
    start = 0
    for labels_list, onsets_list in zip(labels_by_tune, onsets_by_tune):
        labels = np.concatenate(labels_list) if len(labels_list) else np.zeros(0, np.int64)
        onsets = np.concatenate(onsets_list) if len(onsets_list) else np.zeros(0, bool)
        p = probabilities[start:start + len(labels)]
        start += len(labels)
        picked = p[np.arange(len(labels)), labels]
        right = p.argmax(1) == labels
        sums['loglik'].append(float(np.log(np.maximum(picked, 1e-12)).sum()))
        sums['steps'].append(len(labels))
        sums['notes'].append(int(onsets.sum()))
        sums['correct'].append(int(right.sum()))
        sums['onset_correct'].append(int(right[onsets].sum()))
    if start != len(probabilities):
        raise ValueError(f'{len(probabilities)} rows of probabilities for {start} labels')
    return {key: np.array(value, float) for key, value in sums.items()}


def summary(scores: dict) -> dict:
    """nats_per_step, nats_per_note (both as log-likelihoods: higher is better, 0 is certainty),
    accuracy and onset_accuracy of per-tune sums."""
    return {'log_likelihood_per_step': scores['loglik'].sum() / scores['steps'].sum(),
            'log_likelihood_per_note': scores['loglik'].sum() / scores['notes'].sum(),
            'accuracy': scores['correct'].sum() / scores['steps'].sum(),
            'onset_accuracy': scores['onset_correct'].sum() / scores['notes'].sum(),
            'steps': int(scores['steps'].sum()), 'notes': int(scores['notes'].sum()),
            'tunes': int(len(scores['steps']))}


def bootstrap_difference(a: dict, b: dict, resamples: int = 2000, seed: int = 0,
                         level: float = 0.95) -> dict:
    """Each summary() figure of a minus b, with a percentile interval from resampling tunes
    (the same tunes for both models): {figure: (difference, low, high)}."""
    if len(a['steps']) != len(b['steps']) or not np.array_equal(a['steps'], b['steps']):
        raise ValueError('the two models were not scored on the same tunes and steps')
    point_a, point_b = summary(a), summary(b)
    keys = ('log_likelihood_per_step', 'log_likelihood_per_note', 'accuracy', 'onset_accuracy')
    scored = a['steps'] > 0  # a tune that gave no melody has nothing to resample
    a = {k: v[scored] for k, v in a.items()}
    b = {k: v[scored] for k, v in b.items()}
    rng = np.random.default_rng(seed)
    n = len(a['steps'])
    draws = {key: [] for key in keys}
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        if not a['notes'][pick].sum():
            for key in keys:
                draws[key].append(np.nan)
            continue
        sa = summary({k: v[pick] for k, v in a.items()})
        sb = summary({k: v[pick] for k, v in b.items()})
        for key in keys:
            draws[key].append(sa[key] - sb[key])
    tail = (1 - level) / 2 * 100
    # a resample without a single note has no per-note figure: such draws are skipped
    return {key: (point_a[key] - point_b[key], float(np.nanpercentile(draws[key], tail)),
                  float(np.nanpercentile(draws[key], 100 - tail))) for key in keys}


def verdict(name: str, gain: tuple[float, float, float], baseline: str) -> str:
    """What a difference in log-likelihood per step (model minus baseline, with its interval)
    supports, in words."""
    value, low, high = gain
    figures = f'{value:+.3f} nats per step (95 % interval {low:+.3f} to {high:+.3f})'
    if low > 0:
        return f'{name} predicts held-out tunes better than {baseline}: {figures}.'
    if high < 0:
        return f'{name} predicts held-out tunes worse than {baseline}: {figures}.'
    return f'{name} is no better than {baseline} on held-out tunes: {figures}.'


# --------------------------------------------------------------------------------------
# Sampling continuations from an n-gram
# --------------------------------------------------------------------------------------

def sample_continuation(model: KneserNey, order: int, config, primer_events: Sequence[int],
                        num_steps: int, rng: np.random.Generator, temperature: float = 1.0):
    """Continue a melody's events (already transposed and squashed as the model's training data)
    by ``num_steps`` events sampled from the n-gram over ``config``'s classes. Returns events."""
    import note_seq
    encoder = config.encoder_decoder
    melody = note_seq.Melody(list(primer_events))
    _, labels = encoder.encode(melody)
    labels = list(labels)
    events = list(primer_events)
    for _ in range(num_steps):
        p = model.next_distribution(labels, order)
        if temperature != 1.0:
            p = np.exp(np.log(np.maximum(p, 1e-12)) / temperature)
            p /= p.sum()
        label = int(rng.choice(len(p), p=p))
        event = encoder.class_index_to_event(label, note_seq.Melody(events))
        events.append(int(event))
        labels.append(label)
    return events
