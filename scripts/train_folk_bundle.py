"""Train the MelodyRNN bundle this project ships in checkpoints/shipped/, and measure it.

It uses the melody notebook's own training code (its cells tagged `library`, imported with
cookbook.import_notebook_code) on folk tunes from the corpus that ships with music21 (O'Neill's
Music of Ireland: 1850 Melodies and Ryan's Mammoth Collection, in the metres the encoding fits:
2/4, 4/4, 2/2), splits them by tune with the split stored beside the shipped bundle
(checkpoints/shipped/folk_lookback_rnn.split.json, read by midi.split_by_ids; the notebook uses
it too, so its held-out tunes are never in this bundle's training set, and no held-out tune has a
copy or a melodic twin in training), and trains in rounds: after every round it exports a bundle,
scores it on the held-out melodies and writes it (atomically) to <out>/folk_<config>.mag with
its learning curve in folk_<config>.json. So a usable bundle exists even if the run is stopped;
it stops by itself after --max-steps or --max-minutes. The comparison with the baselines
(smoothed n-grams, softmax regression) is benchmarks/bench_melody.py's.

--make-split computes that split from the corpus (midi.make_folk_split: whole groups of
duplicates held out, seed 0, 10 %) and writes the split file, then stops.

The shipped bundle (2026-12-07), trained on two CPU cores shared with other jobs:
    .venv/bin/python scripts/train_folk_bundle.py --make-split --tunes-cache /tmp/folk_corpus.pkl
    nice -n 10 nohup .venv/bin/python scripts/train_folk_bundle.py --tunes-cache /tmp/folk_corpus.pkl \
        --max-steps 1800 --max-minutes 62 --out /tmp/folk_new --work /tmp/folk_bundle_new
stopped at step 1,370 (its export at step 1,200 kept), then resumed alone to 1,800 steps:
    .venv/bin/python scripts/train_folk_bundle.py --tunes-cache /tmp/folk_corpus.pkl --resume \
        --max-steps 1800 --max-minutes 14 --out /tmp/folk_new --work /tmp/folk_bundle_new
and copied into checkpoints/shipped/ once checked; see benchmarks/melody.md.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ['TF_USE_LEGACY_KERAS'] = '1'  # before TensorFlow is imported (see the notebook)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'notebooks'))

import cookbook  # noqa: E402
from cookbook import midi  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='lookback_rnn', choices=midi.MELODY_CONFIGS)
    parser.add_argument('--layers', default='128,128')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--tunes', type=int, default=0, help='0: every tune that fits')
    parser.add_argument('--round-steps', type=int, default=300, help='steps between exports')
    parser.add_argument('--max-steps', type=int, default=20000)
    parser.add_argument('--max-minutes', type=float, default=55.0,
                        help='no new round starts after this much wall time')
    parser.add_argument('--out', default=str(midi.SHIPPED_DIR))
    parser.add_argument('--work', default=None, help='working folder (default: a temporary one)')
    parser.add_argument('--split', default=str(midi.SHIPPED_DIR / midi.FOLK_SPLIT_FILE))
    parser.add_argument('--make-split', action='store_true',
                        help='compute the split by tune, write it to --split and stop')
    parser.add_argument('--tunes-cache', default=None,
                        help='a pickle of the parsed corpus (made on the first run) to reuse')
    parser.add_argument('--resume', action='store_true',
                        help="go on from the checkpoint in --work and the record in --out (same "
                             'settings): a run stopped by --max-minutes continues to --max-steps')
    args = parser.parse_args()
    started = time.perf_counter()
    nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library')
    layers = [int(size) for size in args.layers.split(',')]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tunes, report = midi.corpus_with_cache(args.tunes_cache, args.tunes or None)
    print(f"corpus: {report['read']} tunes read, {report['other_metre']} in other metres left "
          f"out, {report['skipped']} unreadable ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.make_split:
        split = midi.make_folk_split(tunes)
        with cookbook.atomic_path(args.split) as tmp:
            Path(tmp).write_text(json.dumps(split, indent=0, sort_keys=True) + '\n')
        print(f"{split['rule']}: {split['groups']}; {len(split['holdout'])} tunes held out, "
              f"{len(split['train'])} for training -> {args.split}", flush=True)
        return
    split = midi.read_folk_split(args.split)
    train_tunes, holdout_tunes = midi.split_by_ids(tunes, split)
    config = nb.melody_rnn_config(args.config, batch_size=args.batch_size, rnn_layer_sizes=layers)
    work = Path(args.work or tempfile.mkdtemp(prefix='folk_bundle_'))
    previous = json.loads((out / f'folk_{args.config}.json').read_text()) if args.resume else None
    if previous and (work / 'dataset' / 'train.tfrecord').is_file():
        dataset = {'train': work / 'dataset' / 'train.tfrecord',
                   'holdout': work / 'dataset' / 'holdout.tfrecord',
                   'train_melodies': previous['corpus']['train_melodies'],
                   'holdout_melodies': previous['corpus']['holdout_melodies']}
    else:
        dataset = nb.make_dataset(config, train_tunes, holdout_tunes, work / 'dataset')
    train_labels = [labels for _, labels in midi.read_sequence_examples(dataset['train'])]
    holdout_labels = [labels for _, labels in midi.read_sequence_examples(dataset['holdout'])]
    baselines = midi.ngram_baselines(train_labels, holdout_labels,
                                     config.encoder_decoder.num_classes)
    print(f"{len(train_tunes)} training tunes -> {dataset['train_melodies']} melodies; "
          f"{len(holdout_tunes)} held-out tunes -> {dataset['holdout_melodies']} melodies", flush=True)
    midi.print_scores(baselines)  # simple counting models, for orientation while it trains

    train_dir = work / 'train'
    steps, train_seconds, history = 0, 0.0, []
    if previous:
        steps, train_seconds = previous['training_steps'], previous['training_seconds']
        history = previous['history']
        print(f'resuming at step {steps} ({train_seconds / 60:.1f} min of training so far)', flush=True)
    while steps < args.max_steps and (time.perf_counter() - started) / 60 < args.max_minutes:
        more = min(args.round_steps, args.max_steps - steps)
        record = nb.train_melody_rnn(config, dataset['train'], train_dir, more, resume=steps > 0)
        if record['steps'] != steps + more:
            raise RuntimeError(f"expected global step {steps + more}, the checkpoint has {record['steps']}")
        steps = record['steps']
        train_seconds += record['seconds']
        description = (f'{args.config} (LSTM {"x".join(map(str, layers))}, batch {args.batch_size}) '
                       f'trained by audio-cookbook for {steps} steps on {len(train_tunes)} folk tunes '
                       "from music21's corpus (O'Neill 1850, Ryan's Mammoth; 2/4, 4/4, 2/2)")
        bundle = nb.export_bundle(config, train_dir, work / 'bundle.mag', description)
        scores = nb.evaluate_bundle(bundle, dataset['holdout'])
        row = {'steps': steps, 'train_seconds': round(train_seconds, 1),
               'holdout_accuracy': round(scores['accuracy'], 4),
               'holdout_log_likelihood_per_step': round(scores['log_likelihood_per_step'], 4)}
        history.append(row)
        print(f"step {steps}: {train_seconds / 60:.1f} min of training, held-out accuracy "
              f"{scores['accuracy']:.3f}, log-likelihood {scores['log_likelihood_per_step']:.3f} "
              f"nats/step (loss curve tail: {record['curve'][-1:]})", flush=True)
        target = out / f'folk_{args.config}.mag'
        with cookbook.atomic_path(target) as tmp:
            tmp.write_bytes(bundle.read_bytes())
        summary = {
            'bundle': target.name, 'bytes': target.stat().st_size, 'config': args.config,
            'rnn_layer_sizes': layers, 'batch_size': args.batch_size,
            'training_steps': steps, 'training_seconds': round(train_seconds, 1),
            'corpus': {'collections': list(midi.FOLK_COLLECTIONS), 'tunes_read': report['read'],
                       'other_metre_left_out': report['other_metre'], 'unreadable': report['skipped'],
                       'train_tunes': len(train_tunes), 'holdout_tunes': len(holdout_tunes),
                       'train_melodies': dataset['train_melodies'],
                       'holdout_melodies': dataset['holdout_melodies'],
                       'split_file': Path(args.split).name, 'split_rule': split['rule'],
                       'split_groups': split['groups']},
            'holdout': row, 'history': history,
            'comparison': 'benchmarks/results/melody.json (benchmarks/bench_melody.py)',
            'machine': 'see checkpoints/README.md',
        }
        with cookbook.atomic_path(out / f'folk_{args.config}.json') as tmp:
            tmp.write_text(json.dumps(summary, indent=1) + '\n')
    print(f'done: {steps} steps, {train_seconds / 60:.1f} min of training, '
          f'{(time.perf_counter() - started) / 60:.1f} min in all; bundle {target} '
          f'({target.stat().st_size / 1e6:.2f} MB)', flush=True)


if __name__ == '__main__':
    main()
