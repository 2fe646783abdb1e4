#!/usr/bin/env python3
"""Benchmark of notebook 1 (voice commands): the recipe's approach against the improved one.

On one directory in the Speech Commands layout and one word list, in one run, on the same files
and the same speaker-disjoint split (the directory's validation_list.txt / testing_list.txt):

1. loading speed in files per second:
   - the recipe's loop: librosa.load at 22,050 Hz, one file at a time (vectorize_directory);
   - the new pipeline: native 16 kHz, parallel, with a cold (empty) cache, so caching does not
     count as speed; the warm-cache figure is printed separately;
   - the new pipeline plus the log-mel features (which the model otherwise computes itself),
     so nobody has to guess what the features would cost on this CPU;
2. test accuracy on the testing list of the recipe's Conv1D model and the log-mel DS-CNN.

Both models and loaders are the notebook's own `library` cells. Targets (from issue 4): the new
pipeline at least 10x the recipe's loop, the DS-CNN at least 15 points above the recipe's model.

    .venv/bin/python benchmarks/bench_voice_commands.py                      # the shared dev data
    .venv/bin/python benchmarks/bench_voice_commands.py --data DIR --words bed,bird,tree
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

DEFAULT_DATA = REPO_ROOT.parent / 'shared' / 'data' / 'speech_commands_dev'
DEFAULT_WORDS = 'yes,no,up,down,left,right,on,off,stop,go'
LOADING_TARGET = 10.0
ACCURACY_TARGET_POINTS = 15.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', type=Path, default=DEFAULT_DATA,
                        help=f'a folder in the Speech Commands layout (default {DEFAULT_DATA})')
    parser.add_argument('--words', default=DEFAULT_WORDS, help=f'comma-separated (default {DEFAULT_WORDS})')
    parser.add_argument('--recipe-epochs', type=int, default=8,
                        help='epochs for the recipe model (default 8; the book used 30, about 40 s '
                             'each on 1,000 clips on a 2-core CPU)')
    parser.add_argument('--epochs', type=int, default=30, help='epochs for the DS-CNN (default 30)')
    parser.add_argument('--workers', type=int, default=None, help='loader threads (default: the pipeline\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3, help='timings are the best of this many runs')
    parser.add_argument('--skip-training', action='store_true', help='loading speed only')
    args = parser.parse_args(argv)

    import numpy as np
    import cookbook
    nb = cookbook.import_notebook_code('01_voice_commands.ipynb', tag='library')
    import keras
    import librosa
    import tensorflow as tf

    words = [w.strip() for w in args.words.split(',') if w.strip()]
    task = nb.build_task(args.data, 'words', words, seed=args.seed)
    files = [f for split in nb.SPLITS for f in task.files[split]]
    print(f'data: {args.data.resolve()} ({len(files)} clips of {len(words)} words: {", ".join(words)})')
    print('split (speaker-disjoint lists): ' + ', '.join(f'{s} {len(task.files[s])}' for s in nb.SPLITS))
    print(f'machine: {platform.machine()}, {os.cpu_count()} CPU cores, '
          f'GPU: {"yes" if tf.config.list_physical_devices("GPU") else "none"}; Python '
          f'{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, '
          f'librosa {librosa.__version__}')

    # Both loaders read the same files from the operating system's page cache: read every byte
    # once first, so that neither pays for the disk and the other does not.
    for rel in files:
        (args.data / rel).read_bytes()
    # One-time start-up costs (librosa's resampler, the thread pool) are not per-file costs.
    librosa.load(args.data / files[0])
    nb.load_clips(args.data, files[:8], workers=args.workers)

    # The machine may be shared: every timing is the best of --repeats runs, for both sides.
    def best_of(fn):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    # 1. the recipe's loop
    recipe_out = {}
    recipe_seconds = best_of(lambda: recipe_out.update(zip(
        ('features', 'labels', 'files', 'skipped'), nb.vectorize_words(args.data, words))))
    features, labels, recipe_files = recipe_out['features'], recipe_out['labels'], recipe_out['files']

    # 2. the new pipeline, cold cache: a fresh, empty cache folder each time, so the run reads,
    # checks and pads every file and writes the cache; nothing is served from a cache
    def cold():
        with tempfile.TemporaryDirectory() as cache:
            clips, ok, report = nb.load_clips(args.data, files, cache_dir=cache, workers=args.workers)
            assert not report.from_cache
            pipeline_out['report'] = report
    pipeline_out = {}
    cold_seconds = best_of(cold)
    report = pipeline_out['report']
    with tempfile.TemporaryDirectory() as cache:
        nb.load_clips(args.data, files, cache_dir=cache, workers=args.workers)
        warm_seconds = best_of(lambda: nb.load_clips(args.data, files, cache_dir=cache,
                                                     workers=args.workers))
    no_cache_seconds = best_of(lambda: nb.load_clips(args.data, files, workers=args.workers))
    one_thread_seconds = best_of(lambda: nb.load_clips(args.data, files, workers=1))
    # ... and with the log-mel features computed on this CPU as well (no cache), as a compiled
    # TensorFlow function in batches of 512, the way model.predict would run the model's layer
    log_mel = tf.function(nb.LogMelSpectrogram())
    log_mel(nb.as_float(np.zeros((512, nb.CLIP_SAMPLES), np.int16)))  # trace once

    def with_features():
        clips, ok, _ = nb.load_clips(args.data, files, workers=args.workers)
        for i in range(0, len(clips), 512):
            batch = nb.as_float(clips[i:i + 512])
            if len(batch) < 512:  # keep one traced shape
                batch = np.concatenate([batch, np.zeros((512 - len(batch), batch.shape[1]), np.float32)])
            log_mel(batch).numpy()
    features_seconds = best_of(with_features)

    n = len(files)
    print()
    print(f'loading (files per second, higher is better; best of {args.repeats} runs each)')
    print(f'  recipe loop (librosa.load at 22,050 Hz, one by one): {n / recipe_seconds:9.0f} files/s '
          f'({recipe_seconds:.2f} s; kept {len(features)} clips of exactly 22,050 samples)')
    print(f'  new pipeline, cold cache (writes the cache):        {n / cold_seconds:9.0f} files/s '
          f'({cold_seconds:.3f} s)  ratio {recipe_seconds / cold_seconds:5.1f}x')
    print(f'  new pipeline, no cache:                             {n / no_cache_seconds:9.0f} files/s '
          f'({no_cache_seconds:.3f} s)  ratio {recipe_seconds / no_cache_seconds:5.1f}x')
    print(f'  new pipeline, 1 thread, no cache:                   {n / one_thread_seconds:9.0f} files/s '
          f'({one_thread_seconds:.3f} s)  ratio {recipe_seconds / one_thread_seconds:5.1f}x')
    print(f'  new pipeline + log-mel features on this CPU:        {n / features_seconds:9.0f} files/s '
          f'({features_seconds:.3f} s)  ratio {recipe_seconds / features_seconds:5.1f}x')
    print(f'  new pipeline, warm cache (reported separately):     {n / warm_seconds:9.0f} files/s '
          f'({warm_seconds:.3f} s)  ratio {recipe_seconds / warm_seconds:5.1f}x')
    print(f'  pipeline report: {report.summary()}')
    for label, seconds in (('cold cache, writing it', cold_seconds), ('no cache', no_cache_seconds)):
        ratio = recipe_seconds / seconds
        print(f'  target: new pipeline ({label}) >= {LOADING_TARGET:.0f}x the recipe loop: '
              f'{"MET" if ratio >= LOADING_TARGET else "NOT MET"} ({ratio:.1f}x)')
    if args.skip_training:
        return

    # 3. accuracy on the testing list, both models on the same split
    recipe_splits = nb.split_files(args.data, recipe_files)
    train = np.array([s == 'train' for s in recipe_splits])
    test = np.array([s == 'test' for s in recipe_splits])
    keras.utils.set_random_seed(args.seed)
    recipe_model = nb.create_model(words)
    start = time.perf_counter()
    recipe_model.fit(features[train], labels[train], epochs=args.recipe_epochs, verbose=0)
    recipe_train_seconds = time.perf_counter() - start
    recipe_predicted = recipe_model.predict(features[test], verbose=0).argmax(axis=1)
    recipe_accuracy = float(np.mean(recipe_predicted == labels[test]))

    data, _, _, noise_parts = nb.load_task(args.data, task, seed=args.seed)
    (train_x, train_y, _), (val_x, val_y, _), (test_x, test_y, test_names) = (
        data['train'], data['validation'], data['test'])
    start = time.perf_counter()
    model, _ = nb.train_dscnn(train_x, train_y, val_x, val_y, len(words), args.epochs,
                              noise_parts=noise_parts['train'], seed=args.seed)
    dscnn_train_seconds = time.perf_counter() - start
    dscnn_accuracy, dscnn_predicted = nb.accuracy(model, test_x, test_y)
    kept_test = {f for f, t in zip(recipe_files, test) if t}
    same = np.array([name in kept_test for name in test_names])
    same_accuracy = float(np.mean(dscnn_predicted[same] == test_y[same])) if same.any() else float('nan')

    print()
    print(f'accuracy on the testing list (speakers never seen in training), {len(test_y)} clips')
    print(f'  recipe Conv1D (raw 22,050 Hz waveform, {recipe_model.count_params():,} parameters, '
          f'{args.recipe_epochs} epochs, {recipe_train_seconds:.0f} s): {recipe_accuracy:.3f} '
          f'on the {int(test.sum())} test clips it keeps')
    print(f'  log-mel DS-CNN (16 kHz, {model.count_params():,} parameters, {args.epochs} epochs with '
          f'noise augmentation, {dscnn_train_seconds:.0f} s): {dscnn_accuracy:.3f} '
          f'(on the recipe\'s {int(same.sum())} clips: {same_accuracy:.3f})')
    points = 100 * (same_accuracy - recipe_accuracy)
    print(f'  target: DS-CNN >= {ACCURACY_TARGET_POINTS:.0f} points above the recipe model (same clips): '
          f'{"MET" if points >= ACCURACY_TARGET_POINTS else "NOT MET"} ({points:+.1f} points)')


if __name__ == '__main__':
    main()
