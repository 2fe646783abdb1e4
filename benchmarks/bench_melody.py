"""Benchmark for notebook 3: MelodyRNN generation and training speed on this machine's CPU.

For each configuration (basic_rnn, mono_rnn, lookback_rnn, attention_rnn) it generates with
Magenta's released bundle when checkpoints/<config>.mag is present, else with the bundle this
project ships in checkpoints/shipped/ for that configuration, else with a bundle it trains itself
for a few steps on music21 folk tunes (same architecture, so the same speed; the output says
which). It prints:
  * generation: new melody steps per second continuing Twinkle Twinkle (plain sampling and beam
    search, beam_size=2 branch_factor=2), median of --repeats runs after one warm-up;
  * training: steps per second of Magenta's training loop (batch --batch-size, layers --layers),
    measured between the first and last logged step, i.e. without graph building.

The issue asks for CPU figures, so the script hides every GPU from TensorFlow
(CUDA_VISIBLE_DEVICES='' is set before TensorFlow is imported) and prints the device TensorFlow
really uses, with the CPU model and the number of cores.

With --held-out it measures the shipped bundle instead, on the tunes it never saw: every tune of
the corpus is read, split with midi.FOLK_SPLIT (the split the bundle was trained on and the
notebook uses), encoded in the bundle's configuration, and scored next to the counting baselines
(unigram, bigram, bigram + position in the bar); then each held-out tune's first 32 steps are
continued by 32 steps and compared with the tune's own next 32 steps (the notebook's table, on
every held-out tune). --tunes-cache keeps the parsed corpus (NoteSequences) for a second run.

Run:  .venv/bin/python benchmarks/bench_melody.py [--train-steps 30] [--layers 128,128]
      .venv/bin/python benchmarks/bench_melody.py --held-out [--tunes-cache /tmp/folk.pkl]
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ['TF_USE_LEGACY_KERAS'] = '1'  # before TensorFlow is imported (see the notebook)
# CPU figures, even on a machine with a GPU: TensorFlow reads this when it first looks for devices.
os.environ['CUDA_VISIBLE_DEVICES'] = ''
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'notebooks'))

import cookbook  # noqa: E402
from cookbook import midi  # noqa: E402

nb = cookbook.import_notebook_code('03_melody_generation.ipynb', tag='library')


def cpu_model():
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module knows."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tensorflow_devices():
    """The devices TensorFlow will really run on, e.g. ['CPU:0']."""
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


def corpus_with_cache(cache):
    """midi.corpus_tunes(None), kept in ``cache`` (serialized NoteSequences) when given."""
    import pickle
    from note_seq.protobuf import music_pb2
    if cache and Path(cache).is_file():
        stored = pickle.loads(Path(cache).read_bytes())
        return [music_pb2.NoteSequence.FromString(b) for b in stored['tunes']], stored['report']
    tunes, report = midi.corpus_tunes(None)
    if cache:
        with cookbook.atomic_path(cache) as tmp:
            Path(tmp).write_bytes(pickle.dumps({'tunes': [t.SerializeToString() for t in tunes],
                                                'report': report}))
    return tunes, report


def held_out(args):
    """The shipped bundle on the shared split's held-out tunes, next to the counting baselines."""
    started = time.perf_counter()
    tunes, report = corpus_with_cache(args.tunes_cache)
    train_tunes, holdout_tunes = midi.split_tunes(tunes, **midi.FOLK_SPLIT)
    print(f"corpus: {len(tunes)} tunes ({report.get('pickup', 'not counted')} open with a pickup); "
          f'{len(train_tunes)} training, {len(holdout_tunes)} held out '
          f'({time.perf_counter() - started:.0f} s)', flush=True)
    shipped = midi.shipped_bundle()
    config_name = midi.read_bundle(shipped).generator_details.id
    config = nb.melody_rnn_config(config_name)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        dataset = nb.make_dataset(config, train_tunes, holdout_tunes, tmp)
        train_labels = [labels for _, labels in midi.read_sequence_examples(dataset['train'])]
        holdout_labels = [labels for _, labels in midi.read_sequence_examples(dataset['holdout'])]
        print(f"pipeline: {dataset['train_melodies']} training and {dataset['holdout_melodies']} "
              f'held-out melodies ({time.perf_counter() - started:.0f} s)', flush=True)
        num_classes = config.encoder_decoder.num_classes
        baselines = midi.ngram_baselines(train_labels, holdout_labels, num_classes)
        started = time.perf_counter()
        scores = nb.evaluate_bundle(shipped, dataset['holdout'])
        print(f'scoring the bundle: {time.perf_counter() - started:.0f} s', flush=True)
    majority = midi.majority_baseline(train_labels, holdout_labels, num_classes)
    print(f"\n{config_name} labels of the {len(holdout_tunes)} held-out tunes; majority label "
          f"{majority['majority_label']} {midi.lookback_labels(config).get(majority['majority_label'], '')}"
          f" is {majority['accuracy']:.1%} of the steps")
    midi.print_scores({**baselines, f'shipped {shipped.name}': scores})
    print(midi.verdict('the shipped bundle', scores, baselines))

    started = time.perf_counter()
    generator = nb.load_melody_rnn(shipped)
    rows = {"the tunes' own next 32 steps": []}
    rows.update({f'shipped bundle, temperature {t}': [] for t in args.temperatures})
    try:
        cookbook.seed_everything(0)
        for tune in holdout_tunes:
            opening = midi.tune_opening(tune, primer_steps=32, next_steps=32)
            if opening is None:
                continue
            rows["the tunes' own next 32 steps"].append(midi.next_steps_statistics(tune, 32, 32))
            for t in args.temperatures:
                continuation = nb.continue_melody(generator, opening,
                                                  64 - midi.count_primer_steps(opening), temperature=t)
                rows[f'shipped bundle, temperature {t}'].append(
                    midi.next_steps_statistics(continuation, 32, 32))
    finally:
        generator.close()
    print(f'\ncontinuations of every held-out tune of at least 64 steps '
          f'({time.perf_counter() - started:.0f} s):')
    midi.print_statistics_table(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--held-out', action='store_true',
                        help='score the shipped bundle on the shared split instead (see above)')
    parser.add_argument('--tunes-cache', default=None)
    parser.add_argument('--temperatures', default='1.0',
                        type=lambda text: [float(t) for t in text.split(',')])
    parser.add_argument('--configs', default=','.join(midi.MELODY_CONFIGS))
    parser.add_argument('--generate-steps', type=int, default=128)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--train-steps', type=int, default=30)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--layers', default='128,128', help="Magenta's default is 128,128")
    parser.add_argument('--tunes', type=int, default=120)
    args = parser.parse_args()
    if args.held_out:
        return held_out(args)
    layers = [int(size) for size in args.layers.split(',')]

    devices = tensorflow_devices()
    print(f'machine: {cpu_model()}, {os.cpu_count()} CPU cores visible; TensorFlow '
          f'{nb.tf.__version__} devices: {", ".join(devices)} (GPUs hidden: CUDA_VISIBLE_DEVICES='
          f'{os.environ["CUDA_VISIBLE_DEVICES"]!r})')
    if any('GPU' in device for device in devices):
        raise SystemExit('TensorFlow still sees a GPU; these would not be CPU figures')
    print(f'generation: continue Twinkle Twinkle by {args.generate_steps} steps, median of '
          f'{args.repeats}; training: batch {args.batch_size}, layers {layers}, '
          f'{args.train_steps} steps on up to {args.tunes} music21 folk tunes')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tunes, _ = midi.corpus_tunes(args.tunes)
        train_tunes, holdout_tunes = midi.split_tunes(tunes, **midi.FOLK_SPLIT)
        for config_name in args.configs.split(','):
            config = nb.melody_rnn_config(config_name, batch_size=args.batch_size,
                                          rnn_layer_sizes=layers)
            folder = Path(tmp) / config_name
            dataset = nb.make_dataset(config, train_tunes, holdout_tunes, folder)
            nb.train_melody_rnn(config, dataset['train'], folder / 'train', args.train_steps)
            train_rate = training_steps_per_second(folder / 'train')

            asset = cookbook.ASSETS.get(f'melody_rnn_{config_name}')
            shipped = midi.shipped_bundle(config_name)
            if asset is not None and asset.path.is_file():
                bundle, source = asset.path, f'released bundle {asset.path.name}'
            elif shipped is not None:
                bundle, source = shipped, f'shipped bundle {shipped.name}'
            else:
                bundle = nb.export_bundle(config, folder / 'train', folder / 'own.mag', 'benchmark')
                source = f'bundle trained here ({args.train_steps} steps, layers {layers})'
            generator = nb.load_melody_rnn(bundle, config_name)
            try:
                sample_rate = generation_steps_per_second(generator, args.generate_steps, args.repeats)
                beam_rate = generation_steps_per_second(generator, args.generate_steps, args.repeats,
                                                        beam_size=2, branch_factor=2)
            finally:
                generator.close()
            rows.append((config_name, sample_rate, beam_rate, train_rate, source))

    print()
    print(f"{'config':14s} {'generate steps/s':>17s} {'beam 2x2 steps/s':>17s} "
          f"{'train steps/s':>14s}  generation bundle")
    for config_name, sample_rate, beam_rate, train_rate, source in rows:
        print(f'{config_name:14s} {sample_rate:17.1f} {beam_rate:17.1f} {train_rate:14.2f}  {source}')
    base = rows[0]
    print(f'\nrelative to {base[0]}: ' + ', '.join(
        f'{name} generates {rate / base[1]:.2f}x, trains {train / base[3]:.2f}x'
        for name, rate, _, train, _ in rows[1:]))


if __name__ == '__main__':
    main()
