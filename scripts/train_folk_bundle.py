"""Train the MelodyRNN bundle this project ships in checkpoints/shipped/, and measure it.

It uses the melody notebook's own training code (its cells tagged `library`, imported with
cookbook.import_notebook_code) on folk tunes from the corpus that ships with music21 (O'Neill's
Music of Ireland: 1850 Melodies and Ryan's Mammoth Collection, in the metres the encoding fits:
2/4, 4/4, 2/2), holds out whole tunes with midi.split_tunes(tunes, **midi.FOLK_SPLIT), the split
the notebook uses too (so the notebook's held-out tunes are never in this bundle's training set),
and trains in rounds: after every round it exports a bundle, scores it on the held-out melodies
next to the counting baselines (midi.ngram_baselines), and writes it (atomically) to
checkpoints/shipped/folk_<config>.mag with the figures in folk_<config>.json. So a usable bundle
exists even if the run is stopped; it stops by itself after --max-minutes.

The shipped bundle was made with the defaults (about an hour on two shared CPU cores):
    nice -n 10 .venv/bin/python scripts/train_folk_bundle.py --work /tmp/folk_bundle
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
    args = parser.parse_args()
    started = time.perf_counter()
    nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library')
    layers = [int(size) for size in args.layers.split(',')]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tunes, report = midi.corpus_tunes(args.tunes or None)
    print(f"corpus: {report['read']} tunes read, {report['other_metre']} in other metres left "
          f"out, {report['skipped']} unreadable ({time.perf_counter() - started:.0f} s)", flush=True)
    if not args.tunes and len(tunes) != midi.FOLK_SPLIT['corpus_size']:
        raise SystemExit(f"music21's corpus gives {len(tunes)} tunes, midi.FOLK_SPLIT was made for "
                         f"{midi.FOLK_SPLIT['corpus_size']}: set its corpus_size to {len(tunes)} (a new "
                         'split: the notebook then uses it too) and train again')
    train_tunes, holdout_tunes = midi.split_tunes(tunes, **midi.FOLK_SPLIT)
    config = nb.melody_rnn_config(args.config, batch_size=args.batch_size, rnn_layer_sizes=layers)
    work = Path(args.work or tempfile.mkdtemp(prefix='folk_bundle_'))
    dataset = nb.make_dataset(config, train_tunes, holdout_tunes, work / 'dataset')
    train_labels = [labels for _, labels in midi.read_sequence_examples(dataset['train'])]
    holdout_labels = [labels for _, labels in midi.read_sequence_examples(dataset['holdout'])]
    baseline = midi.majority_baseline(train_labels, holdout_labels,
                                      config.encoder_decoder.num_classes)
    baselines = midi.ngram_baselines(train_labels, holdout_labels,
                                     config.encoder_decoder.num_classes)
    print(f"{len(train_tunes)} training tunes -> {dataset['train_melodies']} melodies; "
          f"{len(holdout_tunes)} held-out tunes -> {dataset['holdout_melodies']} melodies, "
          f"{baseline['steps']} steps", flush=True)
    print(f"majority-class baseline (label {baseline['majority_label']}): accuracy "
          f"{baseline['accuracy']:.3f}, log-likelihood {baseline['log_likelihood_per_step']:.3f} "
          'nats/step', flush=True)
    midi.print_scores(baselines)

    train_dir = work / 'train'
    steps, train_seconds, history = 0, 0.0, []
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
        print(midi.verdict(f'step {steps}', scores, baselines), flush=True)
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
                       'split_seed': midi.FOLK_SPLIT['seed'], 'split': midi.FOLK_SPLIT},
            'holdout': row, 'baseline': baseline, 'baselines': baselines, 'history': history,
            'machine': 'see checkpoints/README.md',
        }
        with cookbook.atomic_path(out / f'folk_{args.config}.json') as tmp:
            tmp.write_text(json.dumps(summary, indent=1) + '\n')
    print(f'done: {steps} steps, {train_seconds / 60:.1f} min of training, '
          f'{(time.perf_counter() - started) / 60:.1f} min in all; bundle {target} '
          f'({target.stat().st_size / 1e6:.2f} MB)', flush=True)


if __name__ == '__main__':
    main()
