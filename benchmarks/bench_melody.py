"""Benchmark for notebook 3: the shipped MelodyRNN bundle against the baselines a reviewer expects,
on held-out tunes that have no copy or melodic twin in its training set; and its speed.

Default part (held-out evaluation), written as benchmark `melody` (benchmarks/results/melody.json):
  1. music21's folk corpus (midi.corpus_tunes; --tunes-cache keeps it parsed), split by the ids
     stored beside the bundle (checkpoints/shipped/folk_lookback_rnn.split.json, midi.split_by_ids);
  2. each tune through Magenta's melody pipeline in the bundle's configuration (lookback_rnn), so
     every baseline sees exactly the model's labels and steps, kept per tune;
  3. validation tunes taken from the training side (whole groups, 10 %, seed 1) choose: the order
     (1..--max-order) of an interpolated modified Kneser-Ney n-gram over the labels, with and
     without the step's position in the bar; the window (1 or 2 steps; --windows) and L2 penalty (--l2s) of a
     softmax regression on lookback_rnn's own input features. The best of these on validation is
     "the best baseline". Then everything is refitted on all training tunes and scored once on
     the held-out tunes, next to the bundle (its own graph, temperature 1);
  4. log-likelihood in nats per step and per note (note = a step whose event is a new note),
     accuracy on all steps and on note onsets, and for each baseline the difference bundle minus
     baseline with a 95 % bootstrap interval over held-out tunes (--resamples, seed 0);
  5. continuations: each held-out tune of at least 64 steps is continued from its first 32 steps
     by 32 steps, by the bundle at temperatures 0.5, 1.0 and 1.5, by a sampler from the best
     n-gram (temperature 1) and by copying the primer; the means and spreads (standard deviation
     over tunes) of simple statistics sit beside the tunes' own next 32 steps;
  6. with --old-bundle, the first look at the bundle shipped before the split by tune: it is
     scored on the held-out tunes of its own split (list positions, midi.POSITION_SPLIT_2026_12_06),
     separately on those with a twin in its training set and those without, next to the best
     n-gram refitted on that split's training tunes.

--timing (run it alone on the machine; kind='time' figures are marked busy otherwise): generation
steps per second continuing Twinkle Twinkle with the shipped bundle (plain sampling and beam search,
median of --repeats runs after a warm-up) and training steps per second of Magenta's loop for each
configuration (a few steps on folk tunes), on the CPU (GPUs hidden).

Run (see benchmarks/melody.md for the record):
    .venv/bin/python benchmarks/bench_melody.py --tunes-cache /tmp/folk_corpus.pkl \\
        [--old-bundle /tmp/folk_lookback_rnn_2026-12-06.mag]
    .venv/bin/python benchmarks/bench_melody.py --timing
    .venv/bin/python benchmarks/bench_melody.py --quick      # a small check, outputs/bench-quick/
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ['TF_USE_LEGACY_KERAS'] = '1'  # before TensorFlow is imported (see the notebook)
# CPU figures, even on a machine with a GPU: TensorFlow reads this when it first looks for devices.
os.environ['CUDA_VISIBLE_DEVICES'] = ''
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))

import numpy as np  # noqa: E402

import cookbook  # noqa: E402
import results  # noqa: E402
from cookbook import melody_baselines as mb  # noqa: E402
from cookbook import midi  # noqa: E402

nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library')
NLL_UNIT = 'nats per step (log-likelihood; higher is better)'
STATISTICS = ('notes', 'pitch_range', 'distinct_pitches', 'in_key', 'mean_step', 'repeat_2_bars')


def log(text):
    print(text, flush=True)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

def encode_tunes(config, tunes):
    """Per tune, the (inputs, labels, onsets) of each melody Magenta's pipeline extracts from it."""
    return nb.encode_tunes(config, tunes)


def labels_of(encoded):
    return [labels for melodies in encoded for _, labels, _ in melodies]


def examples_of(encoded):
    return [(inputs, labels) for melodies in encoded for inputs, labels, _ in melodies]


def sums(probabilities, encoded):
    return mb.per_tune_scores(probabilities, [[l for _, l, _ in m] for m in encoded],
                              [[o for _, _, o in m] for m in encoded])


def bundle_probabilities(bundle_path, encoded):
    """[steps, K] of the bundle's own graph over every melody, at temperature 1."""
    return nb.bundle_probabilities(bundle_path, examples_of(encoded))


def validation_ids(train_tunes, split):
    """Whole groups of training tunes (10 %, seed 1) for the choices."""
    group_of = split.get('group_of', {})
    ids = [t.id for t in train_tunes]
    groups = [group_of.get(i, f'single {i}') for i in ids]
    numbering = {g: n for n, g in enumerate(dict.fromkeys(groups))}
    return set(midi.choose_holdout(ids, [numbering[g] for g in groups], 0.1, seed=1))


# --------------------------------------------------------------------------------------
# Baselines: choices on validation tunes, then one fit on all training tunes
# --------------------------------------------------------------------------------------

def choose_baselines(fit_enc, val_enc, num_classes, args):
    """Validation log-likelihood per step of every candidate; the chosen setting per family."""
    choices, table = {}, []
    val_labels = labels_of(val_enc)
    y = np.concatenate(val_labels)
    for bar in (None, 16):
        model = mb.KneserNey(num_classes, args.max_order, bar).fit(labels_of(fit_enc))
        lls = [float(np.log(p[np.arange(len(y)), y]).mean()) for p in model.all_orders(val_labels)]
        order = int(np.argmax(lls)) + 1
        choices[model.name] = {'kind': 'ngram', 'bar_steps': bar, 'order': order,
                               'validation': lls[order - 1]}
        table.append((model.name, ' '.join(f'{o + 1}:{ll:.3f}' for o, ll in enumerate(lls))))
    val_examples = examples_of(val_enc)
    best = None
    for window in args.windows:
        for l2 in args.l2s:
            model = mb.SoftmaxRegression(num_classes, window, l2, args.max_iter).fit(examples_of(fit_enc))
            p = model.probabilities(val_examples)
            ll = float(np.log(p[np.arange(len(y)), y]).mean())
            table.append((f'softmax window {window}, l2 {l2:g}', f'{ll:.3f} ({model.iterations} iterations)'))
            log(f'  validation: softmax regression window {window}, l2 {l2:g}: {ll:.4f}')
            if best is None or ll > best[0]:
                best = (ll, window, l2)
    name = mb.SoftmaxRegression(num_classes, best[1]).name
    choices[name] = {'kind': 'softmax', 'window': best[1], 'l2': best[2], 'validation': best[0]}
    for row in table:
        log(f'  validation: {row[0]}: {row[1]}')
    return choices


def fit_and_score(choices, train_enc, test_enc, num_classes, args):
    """{name: per-tune sums} of each chosen baseline, fitted on train_enc, scored on test_enc."""
    scored, models = {}, {}
    for name, choice in choices.items():
        if choice['kind'] == 'ngram':
            model = mb.KneserNey(num_classes, choice['order'], choice['bar_steps']).fit(labels_of(train_enc))
            p = model.probabilities(labels_of(test_enc), choice['order'])
        else:
            model = mb.SoftmaxRegression(num_classes, choice['window'], choice['l2'],
                                         args.max_iter).fit(examples_of(train_enc))
            p = model.probabilities(examples_of(test_enc))
        scored[name], models[name] = sums(p, test_enc), model
    return scored, models


def load_baseline_cache(path, key):
    """(choices, per-tune sums) stored by an earlier run with the same key, else None."""
    import pickle
    if not path or not Path(path).is_file():
        return None
    stored = pickle.loads(Path(path).read_bytes())
    return (stored['choices'], stored['scored']) if stored.get('key') == key else None


def save_baseline_cache(path, key, choices, scored):
    import pickle
    if path:
        with cookbook.atomic_path(path) as tmp:
            Path(tmp).write_bytes(pickle.dumps({'key': key, 'choices': choices, 'scored': scored}))


def label(name, choice):
    if name.startswith('unigram'):
        return name
    if choice['kind'] == 'ngram':
        return f"{name} (order {choice['order']})"
    return f"{name} (L2 {choice['l2']:g})"


def print_rows(rows):
    log(f"{'':58s} {'nats/step':>9s} {'nats/note':>9s} {'accuracy':>8s} {'onsets':>7s}")
    for name, s in rows.items():
        s = mb.summary(s)
        log(f"{name:58s} {s['log_likelihood_per_step']:9.3f} {s['log_likelihood_per_note']:9.3f} "
            f"{s['accuracy']:8.3f} {s['onset_accuracy']:7.3f}")


# --------------------------------------------------------------------------------------
# Continuations
# --------------------------------------------------------------------------------------

def continuation_rows(bundle_path, holdout_tunes, ngram, order, config, temperatures, max_tunes):
    import note_seq
    rows = {"the tunes' own next 32 steps": [], 'copy the primer (repeat its 32 steps)': [],
            f'sampler from the best n-gram (order {order}), temperature 1.0': []}
    rows.update({f'bundle, temperature {t:g}': [] for t in temperatures})
    rng = np.random.default_rng(0)
    generator = nb.load_melody_rnn(bundle_path)
    used = 0
    try:
        cookbook.seed_everything(0)
        for tune in holdout_tunes:
            if max_tunes and used >= max_tunes:
                break
            opening = midi.tune_opening(tune, primer_steps=32, next_steps=32)
            if opening is None:
                continue
            used += 1
            primer_steps = midi.count_primer_steps(opening)
            qpm = opening.tempos[0].qpm
            rows["the tunes' own next 32 steps"].append(midi.next_steps_statistics(tune, 32, 32))
            events = midi.melody_events(opening)[:primer_steps]
            events += [-2] * (primer_steps - len(events))
            copied = note_seq.Melody(events + events[:64 - primer_steps]).to_sequence(qpm=qpm)
            rows['copy the primer (repeat its 32 steps)'].append(midi.next_steps_statistics(copied, 32, 32))
            squashed, _, _ = midi.encode_melody(opening, config)
            squashed = list(squashed)[:primer_steps]
            squashed += [-2] * (primer_steps - len(squashed))
            sampled = mb.sample_continuation(ngram, order, config, squashed, 64 - primer_steps, rng)
            rows[f'sampler from the best n-gram (order {order}), temperature 1.0'].append(
                midi.next_steps_statistics(note_seq.Melody(sampled).to_sequence(qpm=qpm), 32, 32))
            for t in temperatures:
                continuation = nb.continue_melody(generator, opening, 64 - primer_steps, temperature=t)
                rows[f'bundle, temperature {t:g}'].append(midi.next_steps_statistics(continuation, 32, 32))
    finally:
        generator.close()
    return rows


def print_statistics(rows):
    log(f"{'':52s} " + ' '.join(f'{s:>15s}' for s in STATISTICS))
    for name, stats in rows.items():
        cells = []
        for key in STATISTICS:
            values = [row[key] for row in stats]
            cells.append(f'{np.mean(values):7.2f} ±{np.std(values):5.2f}  ')
        log(f'{name:52s} ' + ' '.join(f'{c:>15s}' for c in cells) + f' ({len(stats)} tunes)')


def slug(name):
    import re
    return re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')


# --------------------------------------------------------------------------------------
# The held-out evaluation
# --------------------------------------------------------------------------------------

class Prefixed:
    """Results whose keys all start with ``prefix`` (a second bundle beside the shipped one)."""

    def __init__(self, inner, prefix):
        self.inner, self.prefix = inner, prefix

    def add(self, key, *args, **kwargs):
        return self.inner.add(self.prefix + key, *args, **kwargs)

    def save(self):
        return self.inner.save()


def evaluate(args):
    started = time.perf_counter()
    out = results.Results('melody', quick=args.quick)
    if args.prefix:
        out = Prefixed(out, args.prefix)
    tunes, report = midi.corpus_with_cache(args.tunes_cache, args.tunes or None)
    split = midi.read_folk_split(args.split)
    train_tunes, holdout_tunes = midi.split_by_ids(tunes, split, complete=not args.tunes)
    if args.bundle_split == 'position':
        # a bundle trained on the first bundle's split: its own held-out tunes, less every tune
        # with a twin (same group) in its training set; baselines fitted on its training tunes
        train_tunes, holdout_tunes = midi.split_tunes(tunes, **midi.POSITION_SPLIT_2026_12_06)
        group_of = split.get('group_of', {})
        seen = {group_of[t.id] for t in train_tunes if t.id in group_of}
        dropped = [t for t in holdout_tunes if group_of.get(t.id) in seen]
        holdout_tunes = [t for t in holdout_tunes if group_of.get(t.id) not in seen]
        log(f'position split of the first bundle: {len(dropped)} held-out tunes with a twin in '
            'its training set left out')
    val = validation_ids(train_tunes, split)
    fit_tunes = [t for t in train_tunes if t.id not in val]
    val_tunes = [t for t in train_tunes if t.id in val]
    bundle = Path(args.bundle) if args.bundle else midi.shipped_bundle()
    config_name = midi.read_bundle(bundle).generator_details.id
    config = nb.melody_rnn_config(config_name)
    k = config.encoder_decoder.num_classes
    log(f'corpus: {len(tunes)} tunes; split {Path(args.split or midi.FOLK_SPLIT_FILE).name}: '
        f'{len(train_tunes)} training ({len(val_tunes)} of them for validation), '
        f'{len(holdout_tunes)} held out; bundle {bundle} ({config_name}) '
        f'[{time.perf_counter() - started:.0f} s]')
    encoded = dict(zip(('fit', 'val', 'holdout'),
                       (encode_tunes(config, x) for x in (fit_tunes, val_tunes, holdout_tunes))))
    train_enc = encoded['fit'] + encoded['val']
    log(f"pipeline: {sum(map(len, train_enc))} training melodies, "
        f"{sum(map(len, encoded['holdout']))} held-out melodies "
        f"[{time.perf_counter() - started:.0f} s]")

    key = {'split': sorted(t.id for t in holdout_tunes), 'config': config_name, 'tunes': len(tunes),
           'max_order': args.max_order, 'windows': args.windows, 'l2s': args.l2s, 'max_iter': args.max_iter}
    cache = load_baseline_cache(args.baseline_cache, key)
    if cache is None:
        choices = choose_baselines(encoded['fit'], encoded['val'], k, args)
        scored, _ = fit_and_score(choices, train_enc, encoded['holdout'], k, args)
        unigram = mb.KneserNey(k, 1).fit(labels_of(train_enc))
        scored['unigram (label frequencies, Kneser-Ney order 1)'] = sums(
            unigram.probabilities(labels_of(encoded['holdout']), 1), encoded['holdout'])
        save_baseline_cache(args.baseline_cache, key, choices, scored)
    else:
        choices, scored = cache
        log(f'baselines read from {args.baseline_cache} (the same split, choices and fits)')
    best_name = max(choices, key=lambda n: choices[n]['validation'])
    log(f'best baseline on validation: {label(best_name, choices[best_name])} '
        f'[{time.perf_counter() - started:.0f} s]')
    models = {n: mb.KneserNey(k, c['order'], c['bar_steps']).fit(labels_of(train_enc))
              for n, c in choices.items() if c['kind'] == 'ngram'}
    model = sums(bundle_probabilities(bundle, encoded['holdout']), encoded['holdout'])
    log(f"\n{config_name} labels of the {len(holdout_tunes)} held-out tunes "
        f"[{time.perf_counter() - started:.0f} s]:")
    print_rows({**{label(n, choices[n]) if n in choices else n: s for n, s in scored.items()},
                 f'bundle {bundle.name}': model})

    data = (f"{len(holdout_tunes)} held-out folk tunes of music21's corpus (O'Neill 1850, Ryan's "
            f"Mammoth; 2/4, 4/4, 2/2), split by tune with every group of duplicates on one side "
            f"({split['groups']['groups_of_two_or_more']} groups), {config_name} labels")
    if args.bundle_split == 'position':
        data = (f"{len(holdout_tunes)} held-out folk tunes of music21's corpus (O'Neill 1850, Ryan's "
                "Mammoth; 2/4, 4/4, 2/2) of the first bundle's split by list position, without the "
                f"ones with a twin in its training set, {config_name} labels")
    s_model = mb.summary(model)
    out.add('held_out_tunes', len(holdout_tunes), 'tunes', data, kind='count')
    out.add('held_out_steps', s_model['steps'], 'steps', data, kind='count')
    out.add('held_out_notes', s_model['notes'], 'notes', data, kind='count')
    out.add('train_tunes', len(train_tunes), 'tunes', data, kind='count')
    out.add('validation_tunes', len(val_tunes), 'tunes', data, kind='count')
    out.add('twin_groups', split['groups']['groups_of_two_or_more'], 'groups',
            f"{split['groups']['tunes']} folk tunes of music21's corpus; rule: {split['rule']}",
            kind='count', tunes_in_groups=split['groups']['tunes_in_such_groups'],
            melodic_twin_pairs=split['groups']['melodic_twin_pairs'],
            same_oneill_number_links=split['groups']['same_oneill_number_links'],
            largest_group=split['groups']['largest_group'])
    if args.bundle_split == 'tune' and not args.tunes:
        # controls for the twin rule: the same comparison against reversed melodies (a false
        # match rate), and the pairs a looser 80 % rule would add
        signatures = [midi.interval_signature(t) for t in tunes]
        reversed_pairs = midi.twin_pairs(signatures, [s[::-1].copy() for s in signatures])
        looser = midi.twin_pairs(signatures, match=0.8)
        rule_data = f"{len(tunes)} folk tunes of music21's corpus, first 48 melodic intervals"
        out.add('twin_rule_reversed_pairs', sum(1 for i, j, _ in reversed_pairs if i != j), 'pairs',
                rule_data + ', each against every reversed one (90 % rule)', kind='count')
        out.add('twin_rule_pairs_80_to_90', len(looser) - split['groups']['melodic_twin_pairs'], 'pairs',
                rule_data + ', pairs agreeing on 80 to 90 % (left apart by the 90 % rule)', kind='count')
    for prefix, s in [('bundle', s_model)]:
        out.add(f'{prefix}_nats_per_step', s['log_likelihood_per_step'], NLL_UNIT, data, format='.3f')
        out.add(f'{prefix}_nats_per_note', s['log_likelihood_per_note'],
                'nats per note (log-likelihood; higher is better)', data, format='.3f')
        out.add(f'{prefix}_accuracy', s['accuracy'], 'fraction of steps', data, kind='accuracy', format='.3f')
        out.add(f'{prefix}_onset_accuracy', s['onset_accuracy'], 'fraction of note onsets', data,
                kind='accuracy', format='.3f')
    log('')
    for name, base in scored.items():
        key = 'unigram' if name.startswith('unigram') else slug(name)
        s = mb.summary(base)
        extra = {k2: v for k2, v in choices.get(name, {}).items() if k2 != 'validation'}
        out.add(f'{key}_nats_per_step', s['log_likelihood_per_step'], NLL_UNIT, data, format='.3f',
                validation=choices.get(name, {}).get('validation'), **extra)
        out.add(f'{key}_nats_per_note', s['log_likelihood_per_note'],
                'nats per note (log-likelihood; higher is better)', data, format='.3f')
        out.add(f'{key}_accuracy', s['accuracy'], 'fraction of steps', data, kind='accuracy', format='.3f')
        out.add(f'{key}_onset_accuracy', s['onset_accuracy'], 'fraction of note onsets', data,
                kind='accuracy', format='.3f')
        diff = mb.bootstrap_difference(model, base, args.resamples, seed=0)
        for figure, (value, low, high) in diff.items():
            short = {'log_likelihood_per_step': 'nats_per_step', 'log_likelihood_per_note': 'nats_per_note',
                     'accuracy': 'accuracy', 'onset_accuracy': 'onset_accuracy'}[figure]
            out.add(f'gain_over_{key}_{short}', value, 'bundle minus baseline', data, kind='difference',
                    format='+.3f', low=low, high=high, n=args.resamples,
                    note='95 % bootstrap interval over held-out tunes')
        log(mb.verdict('The bundle', diff['log_likelihood_per_step'], label(name, choices.get(name, {'kind': 'ngram', 'order': 1}))))
        log(f"   accuracy {diff['accuracy'][0]:+.3f} ({diff['accuracy'][1]:+.3f} to {diff['accuracy'][2]:+.3f}), "
            f"on onsets {diff['onset_accuracy'][0]:+.3f} ({diff['onset_accuracy'][1]:+.3f} to "
            f"{diff['onset_accuracy'][2]:+.3f}), per note {diff['log_likelihood_per_note'][0]:+.3f}")
    best = mb.summary(scored[best_name])
    gain = mb.bootstrap_difference(model, scored[best_name], args.resamples, seed=0)
    out.add('best_baseline_name', label(best_name, choices[best_name]), 'name',
            data + '; chosen by validation log-likelihood on training-side tunes', kind='name')
    out.add('best_baseline_nats_per_step', best['log_likelihood_per_step'], NLL_UNIT, data, format='.3f')
    out.add('best_baseline_nats_per_note', best['log_likelihood_per_note'],
            'nats per note (log-likelihood; higher is better)', data, format='.3f')
    out.add('best_baseline_accuracy', best['accuracy'], 'fraction of steps', data, kind='accuracy', format='.3f')
    out.add('best_baseline_onset_accuracy', best['onset_accuracy'], 'fraction of note onsets', data,
            kind='accuracy', format='.3f')
    for figure, key in (('log_likelihood_per_step', 'nats_per_step_gain'),
                        ('log_likelihood_per_note', 'nats_per_note_gain'),
                        ('accuracy', 'accuracy_gain'), ('onset_accuracy', 'onset_accuracy_gain')):
        value, low, high = gain[figure]
        out.add(key, value, 'bundle minus best baseline', data, kind='difference', format='+.3f',
                low=low, high=high, n=args.resamples, note='95 % bootstrap interval over held-out tunes')
    if args.update_record:
        update_record(bundle, scored, choices, model, gain, best_name, data, args)
    text = mb.verdict('The shipped bundle', gain['log_likelihood_per_step'], label(best_name, choices[best_name]))
    out.add('verdict', text, 'sentence', data, kind='text')
    log('\n' + text)
    record = midi.shipped_record(bundle) or {}
    if record.get('history'):
        out.add('learning_curve', [[r['steps'], r['holdout_log_likelihood_per_step']] for r in record['history']],
                '[training steps, nats per step]', data + ' (scored by scripts/train_folk_bundle.py after each round)',
                kind='curve')
        out.add('bundle_training_steps', record.get('training_steps'), 'steps', 'the shipped bundle\'s record',
                kind='count')

    best_ngram = max((n for n in choices if choices[n]['kind'] == 'ngram'),
                     key=lambda n: choices[n]['validation'])
    if not args.no_continuations:
        started_c = time.perf_counter()
        rows = continuation_rows(bundle, holdout_tunes, models[best_ngram], choices[best_ngram]['order'],
                                 config, args.temperatures, args.continuation_tunes)
        log(f'\ncontinuations: 32 steps after the first 32 of each held-out tune of at least 64 steps; '
            f'mean ± standard deviation over tunes [{time.perf_counter() - started_c:.0f} s]')
        print_statistics(rows)
        cont_data = (f"{len(rows[next(iter(rows))])} held-out folk tunes of at least 64 steps, "
                     'continued from their first 32 steps by 32 steps (seed 0)')
        for name, stats in rows.items():
            row_key = ('own' if name.startswith("the tunes") else 'copy' if name.startswith('copy')
                       else 'ngram_sampler' if name.startswith('sampler')
                       else 'bundle_t' + name.rsplit(' ', 1)[1].replace('.', '_'))
            for stat in STATISTICS:
                values = [row[stat] for row in stats]
                out.add(f'continuation_{row_key}_{stat}', float(np.mean(values)), stat, cont_data,
                        kind='statistic', format='.2f', std=float(np.std(values)), n=len(values), row=name)

    if args.old_bundle:
        first_look = out.inner if isinstance(out, Prefixed) else out
        old_bundle_first_look(args, first_look, tunes, split, choices[best_ngram], best_ngram, k, config)
    out.save()


def update_record(bundle, scored, choices, model, gain, best_name, data, args):
    """Write the comparison into the bundle's JSON record (beside the .mag)."""
    import json
    path = Path(bundle).with_suffix('.json')
    record = json.loads(path.read_text())
    figures = ('log_likelihood_per_step', 'log_likelihood_per_note', 'accuracy', 'onset_accuracy')
    record['baselines_on_holdout'] = {
        label(name, choices.get(name, {})): {k: round(float(mb.summary(row)[k]), 4) for k in figures}
        for name, row in scored.items()}
    record['holdout_scores'] = {k: round(float(v), 4) for k, v in mb.summary(model).items()}
    record['best_baseline'] = label(best_name, choices[best_name])
    record['gain_over_best_baseline'] = {k: [round(float(x), 4) for x in v] for k, v in gain.items()}
    record['comparison'] = (f'{data}; baselines chosen on validation tunes from the training side; '
                            f'gain = bundle minus best baseline with a 95 % bootstrap interval over '
                            f'held-out tunes ({args.resamples} resamples); benchmarks/bench_melody.py, '
                            'benchmarks/results/melody.json')
    record.pop('baseline', None)
    record.pop('baselines', None)
    with cookbook.atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + '\n')
    log(f'comparison written into {path}')


def old_bundle_first_look(args, out, tunes, split, choice, name, k, config):
    """The bundle shipped before the split by tune, on its own held-out tunes, twins apart."""
    train, holdout = midi.split_tunes(tunes, **midi.POSITION_SPLIT_2026_12_06)
    group_of = split.get('group_of', {})
    train_groups = {group_of[t.id] for t in train if t.id in group_of}
    twins = [t for t in holdout if group_of.get(t.id) in train_groups]
    alone = [t for t in holdout if group_of.get(t.id) not in train_groups]
    train_enc = encode_tunes(config, train)
    ngram = mb.KneserNey(k, choice['order'], choice['bar_steps']).fit(labels_of(train_enc))
    log(f'\nfirst look: the bundle shipped before the split by tune ({args.old_bundle}), on the '
        f'{len(holdout)} held-out tunes of its own split (list positions, seed 0): {len(twins)} have '
        f'a twin in its training set, {len(alone)} do not; {name} (order {choice["order"]}) refitted '
        'on that split\'s training tunes')
    for subset, key in ((holdout, 'all'), (twins, 'twins'), (alone, 'no_twins')):
        enc = encode_tunes(config, subset)
        if not any(enc):
            log(f'  {key}: no melodies')
            continue
        model = sums(bundle_probabilities(args.old_bundle, enc), enc)
        base = sums(ngram.probabilities(labels_of(enc), choice['order']), enc)
        diff = mb.bootstrap_difference(model, base, args.resamples, seed=0)
        s, b = mb.summary(model), mb.summary(base)
        data = (f'{len(subset)} held-out tunes of the first bundle\'s split by list position '
                f'({key.replace("_", " ")}: with or without a twin in its training set)')
        out.add(f'old_bundle_{key}_tunes', len(subset), 'tunes', data, kind='count')
        out.add(f'old_bundle_{key}_nats_per_step', s['log_likelihood_per_step'], NLL_UNIT, data, format='.3f')
        out.add(f'old_bundle_{key}_accuracy', s['accuracy'], 'fraction of steps', data, kind='accuracy', format='.3f')
        out.add(f'old_split_ngram_{key}_nats_per_step', b['log_likelihood_per_step'], NLL_UNIT, data,
                format='.3f', baseline=f'{name} (order {choice["order"]})')
        out.add(f'old_split_ngram_{key}_accuracy', b['accuracy'], 'fraction of steps', data,
                kind='accuracy', format='.3f')
        value, low, high = diff['log_likelihood_per_step']
        out.add(f'old_bundle_{key}_nats_per_step_gain', value, 'old bundle minus n-gram', data,
                kind='difference', format='+.3f', low=low, high=high, n=args.resamples)
        log(f'  {key:9s} {len(subset):4d} tunes: bundle {s["log_likelihood_per_step"]:.3f} nats/step, '
            f'accuracy {s["accuracy"]:.3f}; n-gram {b["log_likelihood_per_step"]:.3f}, {b["accuracy"]:.3f}; '
            f'difference {value:+.3f} ({low:+.3f} to {high:+.3f})')


# --------------------------------------------------------------------------------------
# Speed (run alone)
# --------------------------------------------------------------------------------------

def tensorflow_devices():
    return [device.name.replace('/device:', '') for device in nb.tf.config.list_logical_devices()]


def training_steps_per_second(train_dir):
    """Steps/s between the first and the last step summary written by Magenta's training loop."""
    points = []
    for events_file in sorted(Path(train_dir).glob('events.out.tfevents.*')):
        for event in nb.tf1.train.summary_iterator(str(events_file)):
            if any(v.tag == 'loss' for v in event.summary.value):
                points.append((event.step, event.wall_time))
    points.sort()
    (first_step, first_time), (last_step, last_time) = points[0], points[-1]
    return (last_step - first_step) / (last_time - first_time)


def generation_steps_per_second(generator, num_steps, repeats, **options):
    primer = midi.twinkle_twinkle()
    nb.continue_melody(generator, primer, num_steps, **options)  # warm-up run, not timed
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        nb.continue_melody(generator, primer, num_steps, **options)
        rates.append(num_steps / (time.perf_counter() - started))
    return statistics.median(rates)


def timing(args):
    out = results.Results('melody', quick=args.quick)
    devices = tensorflow_devices()
    log(f'TensorFlow {nb.tf.__version__} devices: {", ".join(devices)}; {os.cpu_count()} CPU cores')
    if any('GPU' in device for device in devices):
        raise SystemExit('TensorFlow still sees a GPU; these would not be CPU figures')
    layers = midi.parse_layer_sizes(args.layers)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        tunes, _ = midi.corpus_with_cache(args.tunes_cache, args.timing_tunes)
        tunes = tunes[:args.timing_tunes]
        train_tunes, holdout_tunes = tunes[:-10], tunes[-10:]
        for config_name in args.configs.split(','):
            config = nb.melody_rnn_config(config_name, batch_size=args.batch_size, rnn_layer_sizes=layers)
            folder = Path(tmp) / config_name
            dataset = nb.make_dataset(config, train_tunes, holdout_tunes, folder)
            nb.train_melody_rnn(config, dataset['train'], folder / 'train', args.train_steps)
            train_rate = training_steps_per_second(folder / 'train')
            data = (f'{config_name}, LSTM {"x".join(map(str, layers))}, batch {args.batch_size}, '
                    f'{args.train_steps} steps on {len(train_tunes)} folk tunes, CPU')
            out.add(f'train_steps_per_second_{config_name}', train_rate, 'steps/s', data, kind='time',
                    format='.2f')
            shipped = midi.shipped_bundle(config_name)
            if shipped is None:
                bundle = nb.export_bundle(config, folder / 'train', folder / 'own.mag', 'benchmark')
            else:
                bundle = shipped
            generator = nb.load_melody_rnn(bundle, config_name)
            try:
                rate = generation_steps_per_second(generator, args.generate_steps, args.repeats)
                beam = generation_steps_per_second(generator, args.generate_steps, args.repeats,
                                                   beam_size=2, branch_factor=2)
            finally:
                generator.close()
            data = (f'{config_name} continuing Twinkle Twinkle by {args.generate_steps} steps, median '
                    f'of {args.repeats} after a warm-up, CPU')
            out.add(f'generate_steps_per_second_{config_name}', rate, 'steps/s', data, kind='time', format='.0f')
            out.add(f'beam_steps_per_second_{config_name}', beam, 'steps/s', data + ', beam 2 x 2',
                    kind='time', format='.0f')
            log(f'{config_name:14s} generate {rate:7.1f} steps/s, beam 2x2 {beam:7.1f} steps/s, '
                f'train {train_rate:6.2f} steps/s')
            rates[config_name] = train_rate
    if 'lookback_rnn' in rates and 'attention_rnn' in rates:
        out.add('attention_training_slowdown', rates['lookback_rnn'] / rates['attention_rnn'], 'times',
                f'training steps per second of lookback_rnn over attention_rnn in one run '
                f'(LSTM {"x".join(map(str, layers))}, batch {args.batch_size}, CPU)', kind='ratio', format='.1f')
    out.save()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='a small run into outputs/bench-quick/')
    parser.add_argument('--timing', action='store_true', help='speed figures instead (run alone)')
    parser.add_argument('--tunes-cache', default=None, help='keep the parsed corpus here')
    parser.add_argument('--split', default=None, help='default: the file beside the shipped bundle')
    parser.add_argument('--bundle', default=os.environ.get('MELODY_BUNDLE') or None)
    parser.add_argument('--old-bundle', default=None, help='the bundle shipped before the split by tune')
    parser.add_argument('--update-record', action='store_true',
                        help="write the comparison into the bundle's JSON record")
    parser.add_argument('--prefix', default='',
                        help='start every key with this (figures of a bundle that does not ship)')
    parser.add_argument('--bundle-split', default='tune', choices=('tune', 'position'),
                        help="the split --bundle was trained on: 'tune' (the stored split by tune) or "
                             "'position' (the first bundle's; scored on its held-out tunes without twins)")
    parser.add_argument('--tunes', type=int, default=0, help='0: the whole corpus')
    parser.add_argument('--max-order', type=int, default=12)
    parser.add_argument('--windows', default='1,2', type=lambda t: [int(x) for x in t.split(',')])
    parser.add_argument('--l2s', default='1e-4', type=lambda t: [float(x) for x in t.split(',')])
    parser.add_argument('--max-iter', type=int, default=100)
    parser.add_argument('--baseline-cache', default=None,
                        help='keep the baselines\' choices and scores here (they do not depend on the bundle)')
    parser.add_argument('--resamples', type=int, default=2000)
    parser.add_argument('--temperatures', default='0.5,1.0,1.5',
                        type=lambda text: [float(t) for t in text.split(',')])
    parser.add_argument('--continuation-tunes', type=int, default=0, help='0: every held-out tune')
    parser.add_argument('--no-continuations', action='store_true')
    parser.add_argument('--configs', default=','.join(midi.MELODY_CONFIGS))
    parser.add_argument('--generate-steps', type=int, default=128)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--train-steps', type=int, default=30)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--layers', default='128,128', help="Magenta's default is 128,128")
    parser.add_argument('--timing-tunes', type=int, default=120)
    args = parser.parse_args()
    if args.quick:
        args.tunes = args.tunes or 300
        args.max_order, args.windows, args.l2s, args.max_iter = min(args.max_order, 6), [1, 2], [1e-4], 30
        args.resamples, args.continuation_tunes = 200, args.continuation_tunes or 5
        args.repeats, args.train_steps, args.configs = 2, 12, 'lookback_rnn'
        args.temperatures = args.temperatures[:1] if len(args.temperatures) > 1 else args.temperatures
    if args.timing:
        return timing(args)
    return evaluate(args)


if __name__ == '__main__':
    main()
