#!/usr/bin/env python3
"""Benchmark of notebook 1 (voice commands): the recipe's approach against the improved one.

On one directory in the Speech Commands layout and one word list, with the directory's own
speaker-disjoint lists (validation_list.txt, testing_list.txt):

* every model trains on the training speakers only; every choice (augmentation or not, the
  streaming detector's smoothing and threshold) is made on the validation speakers; the testing
  speakers are scored once, after the choices, and never steer anything;
* seeds: every CNN variant is trained once per seed and reported as mean and spread (sample
  standard deviation) over the seeds.

It prints:

1. loading speed in files per second: the recipe's loop (librosa.load at 22,050 Hz, one file at
   a time) against the pipeline (native 16 kHz; plain 16-bit PCM through the standard library's
   wave module, anything else through soundfile), also with soundfile alone; target 10x;
2. validation accuracy of each CNN variant (log-mel with and without augmentation, and the same
   CNN reading the raw waveform through learned filters instead of log-mel), the choice, then
   test accuracy of every model, the recipe's Conv1D given the same training time as one CNN
   run (or the book's 30 epochs, whichever ends first; --recipe-epochs);
3. the 12-class model (keywords, _silence_ cut from the background noise, _unknown_ where the
   folder has other words): test accuracy and the share of silence/unknown clips taken for a
   keyword;
4. that model as TensorFlow Lite: float, dynamic-range and full int8 (int8 input and output,
   the inputs quantised with the file's scale and zero point), sizes, accuracies, host latency;
5. streaming: the 12-class model over a recording of test commands in test-split background
   noise (at the recordings' own level, and scaled to RMS 0.05; --stream-noise), causal
   smoothing (past windows only), smoothing and threshold chosen on validation streams, hits,
   misses, false alarms, and false alarms per hour over background audio alone. Target: at
   least 90 % found with at most one false alarm per minute of background audio.

Models, features, training and detection are the notebook's own `library` cells; loading is
cookbook.speech_commands.

    .venv/bin/python benchmarks/bench_voice_commands.py --data DIR --words yes,no,up,down,left,right,on,off,stop,go
    .venv/bin/python benchmarks/bench_voice_commands.py --data DIR --quick   # 1-2 minutes, says nothing

The figures the notebook quotes (2026-12-06, a shared 2-core CPU) came from, on the folder of
1,962 real v0.02 recordings described there:

    ... --data DIR --epochs 15 --seeds 3 --stop-after 100          # loading, 10 words, 12-class
    ... --data DIR --tasks 12class --epochs 15 --repeats 1         # streaming at both noise levels
    ... --data DIR --tasks words --variants augmented,plain --epochs 40 --seeds 3 --stop-after 45
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))

DEFAULT_WORDS = 'yes,no,up,down,left,right,on,off,stop,go'
LOADING_TARGET = 10.0
STREAM_TARGET = (0.90, 1.0)  # share of commands found, false alarms per minute of background
VARIANTS = {  # name: train_cnn keyword arguments
    'log-mel CNN': dict(augment=True),
    'log-mel CNN, no augmentation': dict(augment=False),
    'waveform CNN (learned filters)': dict(augment=True, features='waveform'),
}
SHORT = dict(zip(('augmented', 'plain', 'waveform'), VARIANTS))  # --variants names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', type=Path, default=os.environ.get('SPEECH_COMMANDS_DIR'),
                        help='a folder in the Speech Commands layout (default: $SPEECH_COMMANDS_DIR)')
    parser.add_argument('--words', default=DEFAULT_WORDS, help=f'comma-separated (default {DEFAULT_WORDS})')
    parser.add_argument('--epochs', type=int, default=40, help='epochs of every CNN run (default 40, as the notebook)')
    parser.add_argument('--recipe-epochs', type=int, default=30,
                        help='most epochs of the recipe model (default 30, the book\'s); it also stops '
                             'when it has trained as long as the first CNN run')
    parser.add_argument('--seeds', type=int, default=3, help='seeds per CNN variant (default 3)')
    parser.add_argument('--variants', default=','.join(SHORT),
                        help='CNN variants to train, comma-separated: augmented (log-mel CNN), plain (the same '
                             'without augmentation), waveform (learned filters instead of log-mel); default all')
    parser.add_argument('--stream-commands', type=int, default=40, help='commands in each stream (default 40)')
    parser.add_argument('--background-minutes', type=float, default=10.0,
                        help='minutes of background-only audio for false alarms per hour (default 10)')
    parser.add_argument('--workers', type=int, default=None, help='loader threads (default: the pipeline\'s)')
    parser.add_argument('--repeats', type=int, default=3, help='timings are the best of this many runs')
    parser.add_argument('--skip-training', action='store_true', help='loading speed only')
    parser.add_argument('--tasks', default='words,12class',
                        help='what to train after loading: words (the 10-word models, ablation and recipe), '
                             '12class (the device model: TFLite and streaming); default both')
    parser.add_argument('--stream-noise', default='recorded,0.05',
                        help='background levels of the streams, comma-separated: recorded (the noise recordings\' '
                             'own level, as the _silence_ clips were cut) or an RMS such as 0.05; default both')
    parser.add_argument('--stop-after', type=float, default=None, metavar='MINUTES',
                        help='start no further CNN run that would end after this many minutes of the '
                             'benchmark (judged by the slowest run so far); the report says what was left out')
    parser.add_argument('--json', type=Path, help='also write every figure to this JSON file')
    parser.add_argument('--quick', action='store_true',
                        help='a 1-2 minute smoke run: 2 epochs, 1 seed, 96 training clips; its figures say nothing')
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error('give --data DIR or set SPEECH_COMMANDS_DIR (a folder in the Speech Commands layout)')
    if args.quick:
        args.epochs, args.recipe_epochs, args.seeds, args.repeats = 2, 1, 1, 1
        args.stream_commands, args.background_minutes = 6, 0.5
    variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    unknown = [v for v in variants if v not in SHORT]
    if unknown or not {'augmented', 'plain'} & set(variants):
        parser.error(f'--variants {args.variants!r}: choose among {", ".join(SHORT)}, '
                     'with augmented or plain among them')
    variants = [SHORT[v] for v in variants]

    import cookbook
    cookbook.quiet_tensorflow()
    import numpy as np
    from cookbook import speech_commands as sc
    nb = cookbook.import_notebook_code('01_voice_commands.ipynb', tag='library')
    import keras
    import librosa
    import tensorflow as tf

    words = [w.strip() for w in args.words.split(',') if w.strip()]
    task = sc.build_task(args.data, 'words', words, seed=0)
    files = [f for split in sc.SPLITS for f in task.files[split]]
    results = {'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), 'quick': args.quick,
               'data': str(args.data.resolve()), 'words': words, 'epochs': args.epochs, 'seeds': args.seeds,
               'split': {s: len(task.files[s]) for s in sc.SPLITS}}
    say(f'data: {args.data.resolve()} ({len(files)} clips of {len(words)} words: {", ".join(words)})')
    say('speaker-disjoint split (the folder\'s lists): '
        + ', '.join(f'{s} {len(task.files[s])}' for s in sc.SPLITS))
    say(f'machine: {platform.machine()}, {os.cpu_count()} CPU cores, '
        f'GPU: {"yes" if tf.config.list_physical_devices("GPU") else "none"}; load average at start '
        f'{load()}; Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras '
        f'{keras.__version__}, librosa {librosa.__version__}; {results["date"]}')
    if args.quick:
        say('QUICK MODE: 2 epochs, 1 seed, 96 training clips; the accuracies below say nothing')
    results['loading'] = loading(args, nb, sc, librosa, files)
    tasks = {t.strip() for t in args.tasks.split(',') if t.strip()}
    if not args.skip_training:
        run = Run(args, nb, sc, np, keras, results)
        if 'words' in tasks:
            run.words_task(task, variants, device='12class' in tasks)
            run.report_test(variants)
        elif '12class' in tasks:
            run.device_task()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    say(f'done; load average at the end {load()}')


def say(text=''):
    print(text, flush=True)


def load():
    return ', '.join(f'{x:.1f}' for x in os.getloadavg())


def best_of(fn, repeats):
    """The fastest of `repeats` runs: the machine may be shared, so both sides get the same."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def loading(args, nb, sc, librosa, files):
    # Both loaders read the same files from the page cache: read every byte once first.
    for rel in files:
        (args.data / rel).read_bytes()
    librosa.load(args.data / files[0])  # one-time start-up costs are not per-file costs
    sc.load_clips(args.data, files[:8], workers=args.workers)
    words = sorted({f.split('/')[0] for f in files})
    kept = []
    recipe_seconds = best_of(lambda: kept.__setitem__(slice(None), [
        nb.vectorize_directory(args.data / w, i) for i, w in enumerate(words)]), args.repeats)
    n_kept = sum(len(features) for features, _, _ in kept)
    reports = []

    def cold():  # a fresh, empty cache folder each time: reads, checks, pads and writes all
        with tempfile.TemporaryDirectory() as cache:
            _, _, report = sc.load_clips(args.data, files, cache_dir=cache, workers=args.workers)
            reports.append(report)
    cold_seconds = best_of(cold, args.repeats)
    no_cache_seconds = best_of(lambda: sc.load_clips(args.data, files, workers=args.workers), args.repeats)
    one_thread_seconds = best_of(lambda: sc.load_clips(args.data, files, workers=1), args.repeats)
    plain_reader = sc._read_plain_pcm16
    sc._read_plain_pcm16 = lambda path: None  # every file through soundfile, as before the fast path
    try:
        soundfile_seconds = best_of(lambda: sc.load_clips(args.data, files, workers=1), args.repeats)
    finally:
        sc._read_plain_pcm16 = plain_reader
    with tempfile.TemporaryDirectory() as cache:
        sc.load_clips(args.data, files, cache_dir=cache, workers=args.workers)
        warm_seconds = best_of(lambda: sc.load_clips(args.data, files, cache_dir=cache,
                                                     workers=args.workers), args.repeats)
    n = len(files)
    say(f'\nloading {n} files (files per second, higher is better; best of {args.repeats} runs each; '
        f'load average {load()})')
    rows = [('recipe loop (librosa.load at 22,050 Hz, one by one)', recipe_seconds),
            ('pipeline, cold cache (reads, checks, writes the cache)', cold_seconds),
            ('pipeline, no cache', no_cache_seconds),
            ('pipeline, 1 thread, no cache', one_thread_seconds),
            ('pipeline, 1 thread, soundfile for every file', soundfile_seconds),
            ('pipeline, warm cache (reported separately)', warm_seconds)]
    for label, seconds in rows:
        say(f'  {label:<56} {n / seconds:9.0f} files/s ({seconds:.3f} s)  ratio {recipe_seconds / seconds:5.1f}x')
    say(f'  (the recipe loop keeps {n_kept} of {n} clips: those of exactly 22,050 samples)')
    say(f'  pipeline report: {reports[-1].summary()}')
    for label, seconds in (('cold cache, writing it', cold_seconds), ('no cache', no_cache_seconds)):
        ratio = recipe_seconds / seconds
        say(f'  target: pipeline ({label}) >= {LOADING_TARGET:.0f}x the recipe loop: '
            f'{"MET" if ratio >= LOADING_TARGET else "NOT MET"} ({ratio:.1f}x)')
    return {label: n / seconds for label, seconds in rows}


class Run:
    """The trainings, in the order that matters most if time runs out."""

    def __init__(self, args, nb, sc, np, keras, results):
        self.args, self.nb, self.sc, self.np, self.keras, self.results = args, nb, sc, np, keras, results
        self.val_scores, self.test_scores, self.seconds = {}, {}, {}

    def subset(self, x, y, n=96):
        """Quick mode: the first n clips of a shuffled order (all of them otherwise)."""
        if not self.args.quick:
            return x, y
        pick = self.np.random.default_rng(0).permutation(len(y))[:n]
        return x[pick], y[pick]

    def words_task(self, task, variants, device=True):
        np, sc, nb = self.np, self.sc, self.nb
        data, _, _, noise_parts = sc.load_task(self.args.data, task, seed=0)
        self.noise_parts = noise_parts
        train = self.subset(*data['train'][:2])
        (val_x, val_y), (test_x, test_y) = data['validation'][:2], data['test'][:2]
        self.test_x, self.test_y = test_x, test_y
        n = len(task.classes)
        say(f'\n10-word accuracy: train on {len(train[1])} clips of the training speakers, choose on '
            f'{len(val_y)} clips of the validation speakers, test once on {len(test_y)} clips of the testing '
            f'speakers; {self.args.epochs} epochs per CNN run')
        # Order: what matters most first, should a run have to be cut short. Seed 0 of the log-mel
        # variants, the recipe (after the first), the 12-class model with TFLite and streaming,
        # then the other seeds, then the waveform CNN.
        log_mel = [v for v in variants if VARIANTS[v].get('features', 'log_mel') == 'log_mel']
        order = [(v, s) for s in range(self.args.seeds) for v in log_mel]
        order += [(v, s) for s in range(self.args.seeds) for v in variants if v not in log_mel]
        for i, (variant, seed) in enumerate(order):
            if i == len(log_mel) and device:
                self.device_task()
            if self.args.stop_after and self.seconds:
                slowest = max(max(x) for x in self.seconds.values())
                if time.perf_counter() - STARTED + slowest > self.args.stop_after * 60:
                    left = ', '.join(f'{v} seed {s}' for v, s in order[i:])
                    say(f'  --stop-after {self.args.stop_after:g} min: not started: {left}')
                    self.results['not_run'] = left
                    break
            start = time.perf_counter()
            model, _ = nb.train_cnn(train, n, self.args.epochs, noise_parts=noise_parts['train'], seed=seed,
                                    **VARIANTS[variant])
            seconds = time.perf_counter() - start
            val = float(np.mean(nb.predict_classes(model, val_x) == val_y))
            self.val_scores.setdefault(variant, []).append(val)
            self.seconds.setdefault(variant, []).append(seconds)
            self.test_scores.setdefault(variant, []).append(float(np.mean(nb.predict_classes(model, test_x) == test_y)))
            say(f'  {variant}, seed {seed}: validation accuracy {val:.3f} ({seconds:.0f} s training, '
                f'load average {load()})')
            if i == 0:  # the recipe gets the first CNN run's training time
                self.recipe(train, (val_x, val_y), n, budget=seconds)
        if device and '12class' not in self.results:  # one seed only, or stopped before it
            self.device_task()
        self.results['validation'] = self.val_scores
        self.results['train_seconds'] = self.seconds

    def recipe(self, train, validation, n, budget):
        import librosa
        np, sc, nb, keras = self.np, self.sc, self.nb, self.keras
        resample = lambda clips: librosa.resample(sc.as_float(clips), orig_sr=sc.SAMPLE_RATE,
                                                  target_sr=nb.RECIPE_SAMPLE_RATE)
        keras.utils.set_random_seed(0)
        model = nb.create_model(list(range(n)))
        stopper = sc.time_budget(budget)
        say(f'  recipe Conv1D (raw 22,050 Hz waveform): up to {self.args.recipe_epochs} epochs or '
            f'{budget:.0f} s, the first CNN run\'s training time, whichever ends first')
        model.fit(resample(train[0]), train[1], epochs=self.args.recipe_epochs, callbacks=[stopper], verbose=2)
        val = float(np.mean(model.predict(resample(validation[0]), verbose=0).argmax(1) == validation[1]))
        test = float(np.mean(model.predict(resample(self.test_x), verbose=0).argmax(1) == self.test_y))
        self.recipe_result = dict(epochs=stopper.epochs_run, seconds=stopper.seconds_used, validation=val,
                                  test=test, parameters=model.count_params())
        self.results['recipe'] = self.recipe_result
        say(f'  recipe Conv1D, seed 0: validation accuracy {val:.3f} ({stopper.epochs_run} epochs, '
            f'{stopper.seconds_used:.0f} s training, load average {load()})')

    def device_task(self):
        """The 12-class model: accuracy, false accepts, TFLite, streaming."""
        np, sc, nb = self.np, self.sc, self.nb
        task = sc.build_task(self.args.data, '12class', seed=0)
        data, _, _, noise_parts = sc.load_task(self.args.data, task, seed=0)
        empty = [c for i, c in enumerate(task.classes) if not np.any(data['train'][1] == i)]
        train = self.subset(*data['train'][:2])
        test_x, test_y = data['test'][:2]
        start = time.perf_counter()
        model, _ = nb.train_cnn(train, len(task.classes), self.args.epochs, noise_parts=noise_parts['train'], seed=0)
        seconds = time.perf_counter() - start
        predicted = nb.predict_classes(model, test_x)
        accuracy = float(np.mean(predicted == test_y))
        false_accepts = nb.false_accept_rate(test_y, predicted, task.classes)
        self.results['12class'] = dict(accuracy=accuracy, false_accept_share=false_accepts, seconds=seconds,
                                       classes_without_training_clips=empty,
                                       test_clips=len(test_y))
        say(f'\n12-class model (log-mel CNN with augmentation, seed 0, {self.args.epochs} epochs, {seconds:.0f} s; '
            f'{len(train[1])} training clips, {len(test_y)} test clips'
            + (f'; no training clips for {", ".join(empty)} in this folder' if empty else '') + ')')
        say(f'test accuracy (log-mel CNN, 12class): {accuracy:.3f}; silence/unknown test clips taken for a keyword: '
            f'{false_accepts:.3f}')
        self.tflite(model, train[0], test_x, test_y)
        self.streaming(model, task, data, noise_parts)

    def tflite(self, model, train_x, test_x, test_y):
        np, sc, nb, keras = self.np, self.sc, self.nb, self.keras
        front_end = keras.Model(model.input, model.get_layer('band_norm').output)
        test_features = front_end.predict(sc.as_float(test_x), verbose=0)
        pick = np.random.default_rng(0).permutation(len(train_x))[:200]
        calibration = front_end.predict(sc.as_float(train_x[pick]), verbose=0)
        keras_predicted = nb.predict_classes(model, test_x)
        say('\nTensorFlow Lite of the 12-class model (float: the whole model, STFT inside; quantised: the '
            'network on the float front end\'s features)')
        self.results['tflite'] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for quantize in (None, 'dynamic', 'int8'):
                part, inputs = (model, test_x) if quantize is None else (model.get_layer('network'), test_features)
                path = nb.to_tflite(part, Path(tmp) / f'{quantize or "float"}.tflite', quantize, calibration)
                interpreter, _ = sc.tflite_interpreter(path)
                io_types = (interpreter.get_input_details()[0]['dtype'].__name__,
                            interpreter.get_output_details()[0]['dtype'].__name__)
                probabilities, latency = sc.tflite_predict(interpreter, inputs)
                predicted = probabilities.argmax(1)
                row = dict(kib=path.stat().st_size / 1024, accuracy=float(np.mean(predicted == test_y)),
                           agreement=float(np.mean(predicted == keras_predicted)), ms=latency * 1e3, io=io_types)
                self.results['tflite'][quantize or 'float32'] = row
                say(f'  {quantize or "float32":>8}: {row["kib"]:6.0f} KiB, input/output {io_types[0]}/{io_types[1]}, '
                    f'test accuracy {row["accuracy"]:.3f}, agrees with Keras on {row["agreement"]:.1%}, '
                    f'{row["ms"]:.2f} ms per clip (host CPU, 1 thread)')

    def streaming(self, model, task, data, noise_parts):
        self.results['streaming'] = {}
        for level in [v.strip() for v in self.args.stream_noise.split(',') if v.strip()]:
            self.stream_at(model, task, data, noise_parts, None if level == 'recorded' else float(level))

    def stream_at(self, model, task, data, noise_parts, level):
        np, sc, nb = self.np, self.sc, self.nb
        described = ('the noise recordings at their own level' if level is None
                     else f'noise pieces scaled to RMS {level:g}')
        keyword_ids = [i for i, c in enumerate(task.classes) if c not in (sc.SILENCE, sc.UNKNOWN)]
        found_target, alarm_target = STREAM_TARGET
        scores, minutes = {}, {}
        for split, seed in (('validation', 1), ('test', 2)):  # as the notebook's streams, longer
            clips, labels = data[split][:2]
            is_command = np.isin(labels, keyword_ids)
            stream, events = sc.build_stream(clips[is_command], labels[is_command], noise_parts[split],
                                             n_commands=self.args.stream_commands, noise_level=level, seed=seed)
            seconds = self.args.background_minutes * 60
            background, _ = sc.build_stream(clips[:1], labels[:1], noise_parts[split], n_commands=0,
                                            gap_seconds=(seconds, seconds), noise_level=level, seed=seed)
            scores[split] = nb.stream_scores(model, stream, events, background, keyword_ids)
            minutes[split] = (len(stream) / sc.SAMPLE_RATE / 60, len(background) / sc.SAMPLE_RATE / 60, len(events))
        chosen = nb.choose_detector(scores['validation'], max_per_minute=alarm_target)
        say('\nstreaming (12-class model, a one-second window every 100 ms, causal smoothing over the past '
            f'windows, at most one detection per second; background: {described})')
        stream_min, background_min, n = minutes['validation']
        say(f'  validation speakers and noise ({n} commands in {stream_min:.1f} min; {background_min:.1f} min of '
            'background alone), every setting:')
        for g in scores['validation']:
            say(f'    smooth {g["smooth"]}, threshold {g["threshold"]:.1f}: {g["found"]:.0%} found, '
                f'{g["stream_false_alarms"]} false alarms in the stream, {g["per_hour"]:.0f}/h of background')
        say(f'  chosen on validation: smooth {chosen["smooth"]}, threshold {chosen["threshold"]}')
        test = [g for g in scores['test'] if (g['smooth'], g['threshold']) == (chosen['smooth'], chosen['threshold'])][0]
        stream_min, background_min, n = minutes['test']
        self.results['streaming']['recorded' if level is None else str(level)] = dict(validation_grid=scores['validation'], test=test,
                                         chosen=dict(smooth=chosen['smooth'], threshold=chosen['threshold']))
        say(f'  test speakers and noise, once: {stream_min:.1f} min stream with {n} commands: {test["hits"]} found '
            f'({test["found"]:.0%}), {test["misses"]} missed, {test["stream_false_alarms"]} false alarms; '
            f'background only: {test["per_minute"] * background_min:.0f} false alarms in {background_min:.1f} min '
            f'({test["per_hour"]:.0f} per hour, {test["per_minute"]:.2f} per minute)')
        met = test['found'] >= found_target and test['per_minute'] <= alarm_target
        say(f'  target: >= {found_target:.0%} found and <= {alarm_target:.0f} false alarm per minute of '
            f'background: {"MET" if met else "NOT MET"}')

    def report_test(self, variants):
        np = self.np
        stats = lambda xs: f'{np.mean(xs):.3f} +- {np.std(xs, ddof=1) if len(xs) > 1 else 0:.3f}'
        runs = max(len(x) for x in self.val_scores.values())
        say(f'\n10-word task, mean +- standard deviation over up to {runs} seed(s), {self.args.epochs} epochs:')
        for v in variants:
            if v in self.val_scores:
                say(f'  {v:<34} validation {stats(self.val_scores[v])}   training {np.mean(self.seconds[v]):.0f} s per run')
        candidates = [v for v in ('log-mel CNN', 'log-mel CNN, no augmentation') if v in self.val_scores]
        chosen = max(candidates, key=lambda v: np.mean(self.val_scores[v]))
        r = self.recipe_result
        say(f'  recipe Conv1D (seed 0)             validation {r["validation"]:.3f}            '
            f'training {r["seconds"]:.0f} s ({r["epochs"]} epochs)')
        say(f'chosen on the validation speakers: {chosen}')
        say('test speakers, scored once after the choice:')
        say(f'test accuracy (recipe Conv1D): {r["test"]:.3f}')
        say(f'test accuracy ({chosen}): {np.mean(self.test_scores[chosen]):.3f}')
        for v in variants:
            if v in self.test_scores:
                say(f'  {v:<34} test {stats(self.test_scores[v])} ({len(self.test_scores[v])} seeds)')
        self.results['test'] = self.test_scores
        self.results['chosen'] = chosen


if __name__ == '__main__':
    main()
