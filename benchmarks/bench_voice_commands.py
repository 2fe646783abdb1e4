#!/usr/bin/env python3
"""Benchmark of notebook 1 (voice commands): per-clip accuracy and keyword spotting in a stream.

On one folder in the Speech Commands layout, with its own speaker-disjoint lists, and a folder
of other speech (LJSpeech-style, for negatives that hold no command):

* choices on validation, test once. The stream model (the notebook's log-mel CNN with the
  twelve classes _silence_, _unknown_ and the ten commands, trained on stream-like windows:
  cookbook.kws_stream.StreamExamples, no label smoothing) is trained on the training speakers in
  each set-up of --variants, and the set-up with the fewest validation misses is kept; the
  detector (legacy rule against per-keyword hysteresis, margin, minimum windows, smoothing,
  refractory period) and its threshold are chosen on validation streams at a false-alarm budget;
  the chosen set-up is refitted on training + validation speakers (one model per seed) and the
  testing speakers are scored once;
* streams: every test command once, in random order with 0.5-1.5 s gaps, at clean, 20, 10 and
  5 dB SNR (noise: the test part, 35 %, of each noise recording, unit RMS, set against the
  commands' median RMS); negatives without a command: other speech (the test half of the speech
  folder) and the test noise alone, each stretch used once from a random start;
* per-clip accuracy of the ten commands with a spread over seeds and a 95 % bootstrap interval
  over the testing speakers; the recipe's Conv1D given one stream-model run's training time;
  the stream model as full-int8 TensorFlow Lite; loading speed against the recipe's loop.

    .venv/bin/python benchmarks/bench_voice_commands.py              # everything (hours on 2 cores; not timed as a whole)
    .venv/bin/python benchmarks/bench_voice_commands.py --part timing   # loading speed and epoch time only
    .venv/bin/python benchmarks/bench_voice_commands.py --quick      # 1-2 minutes, says nothing; outputs/bench-quick

The recorded stream figures came from `--part stream` with the defaults (40 epochs, the three
training set-ups of VARIANTS compared on validation, 2 seeds refitted and both scored on the
streams, every command of each group): benchmarks/voice_commands.md.

--data defaults to $SPEECH_COMMANDS_DIR, --speech to $LJSPEECH_DIR. Figures go through
benchmarks/results.py into benchmarks/results/voice_commands.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))

import results as results_module  # noqa: E402

BUDGET_PER_HOUR = 60.0   # the validation false-alarm budget: one per minute of audio
TARGET = (0.90, 60.0)    # at 10 dB on the testing speakers: hit rate, false alarms per hour of stream
TAGS = ('legacy_avg5', 'legacy', 'hysteresis', 'margin', 'windows3', 'avg3', 'refractory')
# Training set-ups of the stream model compared on the validation speakers (ks.StreamExamples fields):
# the one with the fewest validation misses at the budget is refitted and tested.
VARIANTS = {
    'stream': ('shifts up to 300 ms, SNR 0-30 dB, 10 % silence, 10 % partial words', dict(max_shift=0.3)),
    'shift150': ('shifts up to 150 ms, otherwise as stream', dict(max_shift=0.15)),
    'negatives20': ('20 % silence and 20 % partial words, otherwise as stream',
                    dict(max_shift=0.3, p_silence=0.2, p_partial=0.2)),
}
THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(27)) + (0.97, 0.98, 0.99)  # 0.3 to 0.95, then finer


def tagged(tag, variant):
    """A cache name's stem for a training set-up: the first set-up ('stream') keeps the bare tag."""
    return tag if variant in (None, 'stream') else f'{tag}_{variant}'


def say(text=''):
    print(text, flush=True)


def load():
    return ', '.join(f'{x:.1f}' for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', type=Path, default=os.environ.get('SPEECH_COMMANDS_DIR'),
                        help='a folder in the Speech Commands layout (default: $SPEECH_COMMANDS_DIR)')
    parser.add_argument('--speech', type=Path, default=os.environ.get('LJSPEECH_DIR'),
                        help='a folder of other speech, LJSpeech-style (default: $LJSPEECH_DIR)')
    parser.add_argument('--epochs', type=int, default=40,
                        help='epochs of every stream-model run (default 40, the notebook\'s with a GPU)')
    parser.add_argument('--seeds', type=int, default=2, help='seeds of the refitted model (default 2)')
    parser.add_argument('--stream-seeds', type=int, default=None,
                        help='how many of the refitted seeds are scored on the test streams (default: all; '
                             'every seed gets per-clip accuracy)')
    parser.add_argument('--max-commands', type=int, default=None,
                        help='at most this many commands in each group\'s streams, drawn at random (default: all)')
    parser.add_argument('--variants', default=','.join(VARIANTS),
                        help='comma-separated training set-ups compared on validation (default: all of '
                             + ', '.join(VARIANTS) + ')')
    parser.add_argument('--hop', type=float, default=0.05, help='seconds between stream windows (default 0.05)')
    parser.add_argument('--budget', type=float, default=BUDGET_PER_HOUR,
                        help='false alarms per hour allowed on the validation streams (default 60)')
    parser.add_argument('--part', default='all', choices=('all', 'stream', 'timing', 'recipe'),
                        help='stream: accuracy and streams; timing: loading speed and epoch time; '
                             'recipe: the recipe model and int8 only; all: everything')
    parser.add_argument('--legacy', action='store_true',
                        help='also train the first notebook version\'s 12-class model (label smoothing, '
                             '100 ms shifts with zeros, quiet noise) and score it on the validation streams')
    parser.add_argument('--cache', type=Path, default=REPO_ROOT / 'outputs' / 'voice_commands_bench',
                        help='where models and stream probabilities are kept between parts')
    parser.add_argument('--quick', action='store_true',
                        help='1-2 minutes: 2 epochs, 1 seed, 96 training clips, short streams; says nothing')
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or not args.variants:
        parser.error(f'--variants {",".join(unknown) or "(none)"}: choose from {", ".join(VARIANTS)}')
    if args.quick:  # a check that the code runs: the shipped samples unless data are named
        args.data = args.data or REPO_ROOT / 'data' / 'samples' / 'speech_commands'
        args.speech = args.speech or REPO_ROOT / 'data' / 'samples' / 'ljspeech'
    if args.data is None:
        parser.error('give --data DIR or set SPEECH_COMMANDS_DIR (a folder in the Speech Commands layout)')
    if args.speech is None and args.part in ('all', 'stream'):
        parser.error('give --speech DIR or set LJSPEECH_DIR (a folder of speech recordings for negatives)')
    if args.quick:
        args.epochs, args.seeds = 2, 1
        args.cache = REPO_ROOT / 'outputs' / 'bench-quick' / 'voice_commands_cache'
    args.cache.mkdir(parents=True, exist_ok=True)

    import cookbook
    cookbook.quiet_tensorflow()
    bench = Bench(args, results_module.Results('voice_commands', quick=args.quick))
    say(f'data: {args.data.resolve()}; other speech: {args.speech}; load average at start {load()}')
    if args.quick:
        say('QUICK MODE: 2 epochs, 1 seed, 96 training clips, short streams: the figures say nothing')
    if args.part in ('all', 'timing'):
        bench.timing()
    if args.part in ('all', 'stream'):
        bench.stream()
    if args.part in ('all', 'recipe'):
        bench.recipe_and_int8()
    bench.results.save()
    say(f'done; load average at the end {load()}')


class Bench:
    def __init__(self, args, results):
        import numpy as np
        from cookbook import kws_stream as ks
        from cookbook import speech_commands as sc
        import cookbook
        self.args, self.results, self.np, self.ks, self.sc = args, results, np, ks, sc
        self.nb = cookbook.import_notebook_code('01_voice_commands.ipynb', tag='library')
        self.task = sc.build_task(args.data, '12class', seed=0)
        data, _, _, _ = sc.load_task(args.data, self.task, seed=0)
        self.keyword_ids = [i for i, c in enumerate(self.task.classes) if c not in (sc.SILENCE, sc.UNKNOWN)]
        self.data = {}
        for split in sc.SPLITS:  # the real clips only: silence is made from noise in training
            x, y, names = data[split]
            real = [not n.startswith(sc.SILENCE) for n in names]
            self.data[split] = (x[real], y[real], [n for n, r in zip(names, real) if r])
        noises, problems = sc.load_background_noise(args.data)
        self.noise = ks.split_noise_by_time(noises)
        self.data_name = (f'{sum(len(self.data[s][1]) for s in sc.SPLITS):,} real Speech Commands clips of '
                          f'{len(self.keyword_ids)} commands, split by speaker')
        if args.quick:
            rng = np.random.default_rng(0)
            for split, n in (('train', 96), ('validation', 40), ('test', 40)):
                x, y, names = self.data[split]
                pick = np.sort(rng.permutation(len(y))[:n])
                self.data[split] = (x[pick], y[pick], [names[i] for i in pick])

    # --- training -----------------------------------------------------------------------------

    def train(self, splits, seed, tag, variant='stream'):
        """The stream model on the given speakers' clips (cached by tag and variant); returns (model,
        seconds per epoch)."""
        import keras
        np, nb = self.np, self.nb
        tag = tagged(tag, variant)
        path = self.args.cache / f'{tag}_seed{seed}_e{self.args.epochs}.keras'
        timing = path.with_suffix('.epoch_seconds')
        if path.is_file() and timing.is_file():
            return keras.saving.load_model(path), float(timing.read_text())
        x = np.concatenate([self.data[s][0] for s in splits])
        y = np.concatenate([self.data[s][1] for s in splits])
        start = time.perf_counter()
        model, history = nb.train_stream_model((x, y), self.task.classes, self.noise['train'],
                                               self.args.epochs, seed=seed, stream_options=VARIANTS[variant][1])
        seconds = (time.perf_counter() - start) / self.args.epochs
        model.save(path)
        timing.write_text(f'{seconds:.3f}')
        say(f'  trained {tag}, seed {seed}: {len(y)} clips, {self.args.epochs} epochs, {seconds:.1f} s per epoch '
            f'(load average {load()})')
        return model, seconds

    def clip_accuracy(self, model, split, twelve=False):
        """Per-clip accuracy on the split's command clips: which of the ten commands (the highest
        score among them, the task of the 10-word CNN and of the book), or with twelve=True the
        argmax over all twelve classes (silence or unknown for a command is then an error); also
        whether each clip was right and its speaker."""
        np = self.np
        x, y, names = self.data[split]
        command = y >= 2
        x, y = x[command], y[command]
        probs = self.predict(model, x)
        ids = np.array(self.keyword_ids)
        predicted = probs.argmax(1) if twelve else ids[probs[:, ids].argmax(1)]
        speakers = np.array([self.sc.speaker_of(n) for n, c in zip(names, command) if c])
        return float(np.mean(predicted == y)), predicted == y, speakers

    def predict(self, model, x):
        return model.predict(self.sc.as_float(x), batch_size=128, verbose=0)

    def bootstrap(self, correct, speakers, n=2000, seed=0):
        """95 % interval of the accuracy over speakers drawn with replacement."""
        np = self.np
        ids = sorted(set(speakers))
        per = {s: correct[speakers == s] for s in ids}
        rng = np.random.default_rng(seed)
        values = []
        for _ in range(n):
            pick = rng.choice(len(ids), len(ids))
            values.append(np.mean(np.concatenate([per[ids[i]] for i in pick])))
        return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)), len(ids)

    # --- streams ----------------------------------------------------------------------------------

    def streams(self, split, seed):
        """The split's command streams at every SNR and its negatives (other speech, noise)."""
        np, ks = self.np, self.ks
        rng = np.random.default_rng(seed)
        x, y, _ = self.data[split]
        if self.args.max_commands and len(y) > self.args.max_commands:
            pick = np.sort(rng.permutation(len(y))[:self.args.max_commands])
            x, y = x[pick], y[pick]
        clean, events, level = ks.command_stream(x, y, rng)
        noise = self.noise[split]
        out = []
        for snr in ks.SNRS:
            audio, seconds, passes = ks.with_noise(clean, noise, level, snr, np.random.default_rng(seed + 1),
                                                   allow_reuse=True)
            out.append(ks.Stream(audio, events, snr, 'commands', seconds, passes))
        recordings = ks.load_speech(self.args.speech)
        half = len(recordings) * 3 // 8 if len(recordings) > 1 else 0  # validation: the first 3/8
        speech = recordings[:half] if split == 'validation' else recordings[half:]
        if self.args.quick:
            speech = speech[:2]
        speech_audio = ks.speech_stream(speech, level, rng)
        out.append(ks.Stream(speech_audio, [], 'clean', 'speech'))
        noisy_speech, seconds, passes = ks.with_noise(speech_audio, noise, level, 10, rng, allow_reuse=True)
        out.append(ks.Stream(noisy_speech, [], 10, 'speech', seconds, passes))
        total = sum(len(a) for _, a in noise)
        for snr in ks.SNRS[1:]:
            track, passes = ks.noise_track(noise, total, np.random.default_rng(seed + 2))
            out.append(ks.Stream(track * ks.noise_gain(level, snr), [], snr, 'noise', total / ks.SAMPLE_RATE, passes))
        return out

    def probabilities(self, model, streams, tag):
        """[(stream, times, probs)], cached per model tag."""
        np, ks = self.np, self.ks
        path = self.args.cache / f'probs_{tag}.npz'
        if path.is_file():
            z = np.load(path)
            if len(z.files) == 2 * len(streams):
                return [(s, z[f't{i}'], z[f'p{i}']) for i, s in enumerate(streams)]
        predict = lambda w: model.predict(w, batch_size=256, verbose=0)
        out = [(s, *ks.posteriors(predict, s.audio, self.args.hop)) for s in streams]
        np.savez(path, **{f't{i}': t for i, (_, t, _) in enumerate(out)},
                 **{f'p{i}': p for i, (_, _, p) in enumerate(out)})
        return out

    def stream(self):
        np, ks, sc = self.np, self.ks, self.sc
        args, R = self.args, self.results
        say(f'\nstream model: the notebook\'s log-mel CNN, 12 classes, trained on stream-like windows '
            f'(shifts with noise filling, SNR 0-30 dB, silence, partial words; no label smoothing), '
            f'{args.epochs} epochs')
        noise_s = {s: ks.seconds_of(self.noise[s]) for s in sc.SPLITS}
        say('noise recordings split by time: ' + ', '.join(f'{s} {v:.0f} s' for s, v in noise_s.items()))
        val_streams = self.streams('validation', seed=100)
        describe_streams('validation', val_streams)
        variant, model, val = self.choose_variant(val_streams)
        self.variant = variant
        val_acc, _, _ = self.clip_accuracy(model, 'validation')
        chosen = self.choose_detector(val)
        # the testing speakers, once: the set-up refitted on training + validation speakers
        test_streams = self.streams('test', seed=200)
        describe_streams('test', test_streams)
        per_seed, accs, accs12, boots, epoch_seconds = [], [], [], [], []
        for seed in range(args.seeds):
            refit, seconds = self.train(['train', 'validation'], seed, 'trainval', variant)
            epoch_seconds.append(seconds)
            acc, correct, speakers = self.clip_accuracy(refit, 'test')
            accs.append(acc)
            accs12.append(self.clip_accuracy(refit, 'test', twelve=True)[0])
            boots.append(self.bootstrap(correct, speakers))
            if seed < (args.stream_seeds or args.seeds):
                probs = self.probabilities(refit, test_streams, f'{tagged("test_trainval", variant)}_seed{seed}_e{args.epochs}')
                per_seed.append(ks.evaluate(probs, self.keyword_ids, chosen))
            say(f'  seed {seed}: test per-clip accuracy {acc:.3f} (95 % over {boots[-1][2]} test speakers '
                f'{boots[-1][0]:.3f}-{boots[-1][1]:.3f})')
            if seed == 0:
                self.refit0 = refit
            # the figures so far, written after every seed: they are kept if what follows is stopped
            self.report_test(per_seed, test_streams, accs, boots, chosen, val_acc)
            R.add('test_accuracy_12way', float(np.mean(accs12)), 'accuracy', format='.3f', seeds=len(accs12),
                  std=float(np.std(accs12, ddof=1)) if len(accs12) > 1 else None,
                  data='the same test clips, argmax over all twelve classes (a command taken for silence or '
                       'unknown is an error)')
            R.add('epoch_seconds_stream_model', float(np.mean(epoch_seconds)), 's', kind='time', format='.0f',
                  data=f'one epoch of the stream model over {len(self.data["train"][1]) + len(self.data["validation"][1])} '
                       'clips (training + validation speakers), CPU', n=len(epoch_seconds))
            R.save()
        self.report_train_only(model, variant, test_streams, chosen)
        R.save()
        if args.legacy:
            self.legacy_row(val_streams)

    def choose_variant(self, val_streams):
        """Each training set-up of --variants trained on the training speakers (seed 0) and judged on the
        validation streams: per-clip accuracy, and the miss rate of a fixed detector (per-keyword
        hysteresis, 3 windows, average of 3) at its best threshold within the budget (the commands'
        streams at every SNR pooled: false alarms per hour of those streams, the target's measure).
        Returns (variant, model, validation probabilities) of the one with the fewest misses (ties:
        fewer false alarms)."""
        ks, R, args = self.ks, self.results, self.args
        fixed = dict(rearm='half', min_windows=3, smooth=3)
        say(f'\ntraining set-ups on the validation speakers (model of the training speakers, seed 0, {args.epochs} '
            f'epochs; detector: per-keyword hysteresis, 3 windows, average of 3, best threshold within '
            f'{args.budget:g} false alarms per hour):')
        rows = []
        for name in args.variants:
            model, _ = self.train(['train'], 0, 'train', name)
            acc, _, _ = self.clip_accuracy(model, 'validation')
            acc12 = self.clip_accuracy(model, 'validation', twelve=True)[0]
            val = self.probabilities(model, val_streams, f'{tagged("val_train", name)}_seed0_e{args.epochs}')
            pool = [v for v in val if v[0].kind == 'commands']
            speech = [v for v in val if v[0].kind == 'speech']
            d, f = ks.choose(ks.curve(pool, self.keyword_ids, self.family(**fixed)), args.budget)
            sp = ks.pooled(ks.evaluate(speech, self.keyword_ids, d)) if speech else None
            rows.append((name, model, val, f))
            R.add(f'variant_{name}_validation_miss_rate', f['miss_rate'], 'share of commands', format='.3f',
                  data=f'validation streams pooled (commands of the validation speakers at every SNR); '
                       f'model of the training speakers, seed 0, {args.epochs} epochs',
                  setup=VARIANTS[name][0], threshold=d.threshold, fa_per_hour=f['fa_per_hour'],
                  speech_fa_per_hour=sp['fa_per_hour'] if sp else None, budget=args.budget,
                  clip_accuracy=acc, clip_accuracy_12way=acc12, epochs=args.epochs)
            say(f'  {name:<12} {VARIANTS[name][0]:<72} per-clip {acc:.3f} (12-way {acc12:.3f}); threshold '
                f'{d.threshold:.2f}: miss {f["miss_rate"]:.3f}, {f["fa_per_hour"]:.0f} FA/h'
                + (f'; other speech {sp["fa_per_hour"]:.0f} FA/h' if sp else ''))
            R.save()
        name, model, val, f = min(rows, key=lambda r: (r[3]['miss_rate'], r[3]['fa_per_hour']))
        say(f'chosen set-up: {name} ({VARIANTS[name][0]})')
        R.add('variant', name, 'set-up', format='s', data='the training set-up with the fewest validation misses',
              setup=VARIANTS[name][0], compared=', '.join(args.variants))
        return name, model, val

    def report_train_only(self, model, variant, test_streams, chosen):
        """The model the threshold was chosen on (training speakers only, seed 0: what the notebook
        trains) on the same test clips and streams: the refitted models are other models, whose scores
        the validation threshold was not fitted to."""
        ks, R, args = self.ks, self.results, self.args
        acc, correct, speakers = self.clip_accuracy(model, 'test')
        low, high, n = self.bootstrap(correct, speakers)
        scored = ks.evaluate(self.probabilities(model, test_streams, f'{tagged("test_train", variant)}_seed0_e{args.epochs}'),
                             self.keyword_ids, chosen)
        data = 'the model the threshold was chosen on (training speakers only, seed 0), testing speakers'
        R.add('train_only_test_accuracy', acc, 'accuracy', format='.3f', data=data, low=low, high=high, speakers=n)
        say(f'\nthe model of the training speakers (seed 0; the threshold was chosen on it): test per-clip accuracy '
            f'{acc:.3f} (95 % over {n} speakers {low:.3f}-{high:.3f})')
        for one in scored:
            if one.stream.kind == 'commands':
                c = one.counts
                s = one.stream.snr if one.stream.snr == 'clean' else int(one.stream.snr)
                lo, hi = ks.wilson(c['hits'], c['commands'])
                R.add(f'train_only_stream_{s}_hit_rate', c['hits'] / c['commands'], 'share of commands', format='.3f',
                      data=data + f', {c["commands"]} commands, {ks.snr_label(one.stream.snr)}', low=lo, high=hi,
                      fa_per_hour=one.fa_per_hour, false_alarms=c['false_alarms'], hours=one.stream.hours)
                say('  ' + ks.summary_line(one.stream.seconds, one.stream.snr, c) + f'  [{one.fa_per_hour:.0f} per hour]')
            else:
                rate, upper = ks.per_hour(one.counts['false_alarms'], one.stream.hours)
                say(f'  {one.stream.kind} alone, {ks.snr_label(one.stream.snr)}: {one.stream.seconds:.0f} s, '
                    f'{one.counts["false_alarms"]} false alarms: {rate:.0f} per hour (95 % upper bound {upper:.0f})')
                if one.stream.kind == 'speech' and one.stream.snr == 'clean':
                    R.add('train_only_speech_fa_per_hour', rate, 'false alarms per hour', format='.0f',
                          data=data + f', {one.stream.seconds:.0f} s of other speech (LJSpeech), clean', upper95=upper)

    STEPS = (  # (tag, what it adds, the Detector fields it sets): tried one after another
        ('margin', '+ margin of 0.3 over the runner-up class', dict(margin=0.3)),
        ('windows3', '+ 3 windows in a row (150 ms)', dict(min_windows=3)),
        ('avg3', '+ causal average of 3 windows', dict(smooth=3)),
        ('refractory', '+ 0.5 s refractory period for all words', dict(refractory=0.5)),
    )

    def family(self, **fields):
        """One detector per threshold; rearm='half' re-arms below half the threshold."""
        ks = self.ks
        out = []
        for t in THRESHOLDS:
            f = dict(fields)
            if f.get('rearm') == 'half':
                f['rearm'] = t / 2
            out.append(ks.Detector(t, **f))
        return out

    def choose_detector(self, val):
        """The legacy rule, then the per-keyword trigger with each step added in turn on the validation
        streams, each at its best threshold within the budget; a step is kept when it lowers the miss
        rate there (or keeps it and lowers the false alarms). The chosen detector and threshold."""
        ks, R = self.ks, self.results
        say(f'\ndetectors on the validation streams (pooled: the commands at {", ".join(map(str, ks.SNRS))}, false '
            f'alarms per hour of those streams, the target\'s measure; other speech and the noise alone beside '
            f'them), each at its best threshold within {self.args.budget:g} false alarms per hour:')
        self.val_table = []
        speech = [v for v in val if v[0].kind == 'speech']
        val = [v for v in val if v[0].kind == 'commands']

        def measure(tag, name, fields, kept=None, best=None):
            points = ks.curve(val, self.keyword_ids, self.family(**fields))
            d, f = ks.choose(points, self.args.budget)
            if kept is None:
                better = (f['miss_rate'], f['fa_per_hour']) < (best[1]['miss_rate'], best[1]['fa_per_hour'])
                kept = f['fa_per_hour'] <= self.args.budget and better
            self.val_table.append((name, d, f, kept, points))
            R.add(f'validation_{tag}_miss_rate', f['miss_rate'], 'share of commands', format='.3f',
                  data='validation streams pooled (commands of the validation speakers at every SNR; other '
                       'speech beside them); stream model of the training speakers, seed 0',
                  detector=name, threshold=d.threshold, fa_per_hour=f['fa_per_hour'], kept='yes' if kept else 'no',
                  hours=f['hours'], commands=f['commands'], budget=self.args.budget)
            sp = ks.pooled(ks.evaluate(speech, self.keyword_ids, d)) if speech else None
            say(f'  {name:<80} threshold {d.threshold:.2f}: miss {f["miss_rate"]:.3f}, '
                f'{f["fa_per_hour"]:.0f} FA/h{"  (kept)" if kept else ""}'
                + (f'; other speech {sp["fa_per_hour"]:.0f} FA/h' if sp else ''))
            R.figures[f'validation_{tag}_miss_rate']['speech_fa_per_hour'] = sp['fa_per_hour'] if sp else None
            return kept, (d, f, points)

        measure('legacy_avg5', 'first version\'s rule: top class, 1 s refractory for all words, average of 5',
                dict(rearm=None, smooth=5), kept=False)
        measure('legacy', 'the same without averaging', dict(rearm=None, smooth=1), kept=False)
        fields = dict(rearm='half')
        _, best = measure('hysteresis', 'per-keyword trigger, re-armed below half the threshold', fields, kept=True)
        name = 'per-keyword hysteresis'
        for tag, what, extra in self.STEPS:
            kept, result = measure(tag, what, {**fields, **extra}, best=best[:2])
            if kept:
                fields, best, name = {**fields, **extra}, result, name + ' ' + what
        chosen, f, points = best
        say(f'chosen on validation: {chosen.describe()}: miss rate {f["miss_rate"]:.3f}, '
            f'{f["fa_per_hour"]:.1f} false alarms per hour')
        say('validation curve of the chosen detector (threshold: miss rate, false alarms per hour):')
        say('  ' + '; '.join(f'{d.threshold:.2f}: {p["miss_rate"]:.3f}, {p["fa_per_hour"]:.0f}' for d, p in points))
        R.add('threshold', chosen.threshold, 'probability', format='.3f',
              data=f'validation streams (speakers, noise and speech disjoint from test), budget '
                   f'{self.args.budget:g} false alarms per hour', detector=chosen.describe(),
              validation_miss_rate=f['miss_rate'], validation_fa_per_hour=f['fa_per_hour'],
              curve=[[d.threshold, p['miss_rate'], p['fa_per_hour']] for d, p in points])
        self.chosen_points, self.chosen = points, chosen
        self.chosen_fields = {k: v for k, v in fields.items()}
        return chosen

    def legacy_row(self, val_streams):
        """The first notebook version's model (and rule) on the same validation streams."""
        import keras
        nb, ks = self.nb, self.ks
        path = self.args.cache / f'legacy_seed0_e{self.args.epochs}.keras'
        if path.is_file():
            model = keras.saving.load_model(path)
        else:
            task = self.sc.build_task(self.args.data, '12class', seed=0)
            data, _, _, noise_parts = self.sc.load_task(self.args.data, task, seed=0)
            model, _ = nb.train_cnn(data['train'][:2], len(task.classes), self.args.epochs,
                                    noise_parts=noise_parts['train'], seed=0, verbose=0)
            model.save(path)
        probs = self.probabilities(model, val_streams, f'val_legacy_seed0_e{self.args.epochs}')
        families = [('first version\'s rule', self.family(rearm=None, smooth=5)),
                    ('the chosen detector', self.family(**self.chosen_fields))]
        for tag, (name, family) in zip(('legacy_avg5', 'chosen'), families):
            d, f = ks.choose(ks.curve(probs, self.keyword_ids, family), self.args.budget)
            self.results.add(f'validation_first_version_{tag}_miss_rate', f['miss_rate'], 'share of commands',
                             format='.3f', detector=name, threshold=d.threshold, fa_per_hour=f['fa_per_hour'],
                             data='validation streams pooled; the first notebook version\'s 12-class model (label '
                                  'smoothing, 100 ms shifts filled with zeros, quiet noise), training speakers, seed 0')
            say(f'  first version\'s model, {name:<56} threshold {d.threshold:.2f}: miss {f["miss_rate"]:.3f}, '
                f'{f["fa_per_hour"]:.0f} FA/h')
            self.val_table.append(('first version\'s model: ' + name, d, f, False, []))

    def report_test(self, per_seed, streams, accs, boots, chosen, val_acc):
        np, ks, R = self.np, self.ks, self.results
        say(f'\ntesting speakers, once ({len(accs)} seed(s) of the model refitted on training + validation '
            f'speakers, {len(per_seed)} of them scored on the streams; detector {chosen.describe()}):')
        seeds = len(accs)
        n_test = len(self.data['test'][1])
        data = f'{n_test} test clips of the testing speakers ({self.data_name})'
        R.add('test_accuracy', float(np.mean(accs)), 'accuracy', format='.3f', data=data,
              std=float(np.std(accs, ddof=1)) if seeds > 1 else None, low=float(np.mean([b[0] for b in boots])),
              high=float(np.mean([b[1] for b in boots])), n=n_test, seeds=seeds, speakers=boots[0][2],
              note='which of the ten commands (highest score among them); std over seeds; low/high: 95 % '
                   'bootstrap over testing speakers (mean over seeds)', model='stream model refitted on training + validation speakers')
        R.add('validation_accuracy', val_acc, 'accuracy', format='.3f', data='validation speakers, model of the '
              'training speakers only, seed 0')
        say(f'test per-clip accuracy (which of the ten commands): {np.mean(accs):.3f}' + (f' +- {np.std(accs, ddof=1):.3f} over {seeds} seeds'
                                                               if seeds > 1 else '')
            + f'; 95 % over testing speakers {np.mean([b[0] for b in boots]):.3f}-{np.mean([b[1] for b in boots]):.3f}')
        seeds = len(per_seed)  # from here on: the seeds scored on the streams
        for i, stream in enumerate(streams):
            counts = [scored[i].counts for scored in per_seed]
            sum_ = lambda k: sum(c[k] for c in counts)
            # Every seed hears the same audio: a rate is the mean over seeds of count / hours of audio, and
            # its bound the largest of the seeds' bounds over that audio (the seeds are not more hours).
            hours = stream.hours * seeds  # divides a sum over seeds: the mean over seeds per hour of audio
            bound = max(ks.poisson_upper95(c['false_alarms']) for c in counts) / stream.hours
            if stream.kind == 'commands':
                s = stream.snr if stream.snr == 'clean' else int(stream.snr)
                rate = sum_('hits') / max(sum_('commands'), 1)
                low, high = ks.wilson(round(rate * counts[0]['commands']), counts[0]['commands'])
                rates = [c['hits'] / c['commands'] for c in counts]
                fa, fa_up = sum_('false_alarms') / hours, bound
                noise_note = (f'; noise: {stream.noise_seconds:.0f} s of the test noise, heard {stream.noise_passes} '
                              'times at different places under different commands' if stream.noise_passes else '')
                where = f'{ks.snr_label(stream.snr)}'
                d = f'{counts[0]["commands"]} commands of the testing speakers in a {stream.seconds / 60:.1f}-min stream, {where}{noise_note}'
                R.add(f'stream_{s}_hit_rate', rate, 'share of commands', format='.3f', data=d, low=low, high=high,
                      std=float(np.std(rates, ddof=1)) if seeds > 1 else None, seeds=seeds,
                      note='low/high: 95 % Wilson interval for one seed\'s commands')
                R.add(f'stream_{s}_fa_per_hour', fa, 'false alarms per hour', format='.0f', data=d, upper95=fa_up,
                      wrong_word=sum_('wrong_word') / hours, duplicate=sum_('duplicate') / hours,
                      gap=sum_('gap') / hours, false_alarms=sum_('false_alarms'), hours=stream.hours, seeds=seeds,
                      note='mean over seeds (each hears the same audio); upper95: the largest seed\'s bound; '
                           'every false alarm here falls on a stream of commands (wrong word, duplicate, gap)')
                R.add(f'stream_{s}_commands', counts[0]['commands'], 'commands', format='d', data=d)
                R.add(f'stream_{s}_hours', stream.hours, 'hours', format='.3f', data=d)
                R.add(f'stream_{s}_seconds', stream.seconds, 's', format='.0f', data=d)
                say('  ' + ks.summary_line(stream.seconds, stream.snr, counts[0])
                    + f'  [seed 0; hit rate over seeds {rate:.3f} (95 % {low:.3f}-{high:.3f}); false alarms per hour '
                      f'{fa:.0f}: wrong word {sum_("wrong_word") / hours:.0f}, duplicate {sum_("duplicate") / hours:.0f}, '
                      f'in a gap {sum_("gap") / hours:.0f}]')
            else:
                alarms = sum_('false_alarms')
                fa, fa_up = alarms / hours, bound
                what = ('other speech (LJSpeech read speech, not in any command set), at the commands\' level'
                        if stream.kind == 'speech' else 'the test part of the noise recordings alone, each stretch once')
                d = f'{stream.seconds:.0f} s of {what}, {ks.snr_label(stream.snr)}'
                if stream.noise_passes > 1:
                    d += f' (noise heard {stream.noise_passes} times)'
                key = f'{stream.kind}_fa_per_hour'
                if not (stream.kind == 'speech' and stream.snr == 'clean') and not (stream.kind == 'noise' and stream.snr == 10):
                    key = f'stream_{int(stream.snr)}_{stream.kind}_fa_per_hour'
                R.add(key, fa, 'false alarms per hour', format='.0f', data=d, upper95=fa_up, false_alarms=alarms,
                      hours=stream.hours, seeds=seeds,
                      note='mean over seeds (each hears the same audio); upper95: the largest seed\'s bound over '
                           'these hours')
                say(f'  {stream.kind} alone, {ks.snr_label(stream.snr)}: {stream.seconds:.0f} s, {seeds} seed(s), '
                    f'{alarms} false alarms in all: {fa:.0f} per hour (95 % upper bound {fa_up:.0f})')
        ten = [i for i, s in enumerate(streams) if s.kind == 'commands' and s.snr == 10][0]
        rate = np.mean([sc_[ten].counts['hits'] / sc_[ten].counts['commands'] for sc_ in per_seed])
        fa = np.mean([sc_[ten].fa_per_hour for sc_ in per_seed])
        met = rate >= TARGET[0] and fa <= TARGET[1]
        say(f'target at 10 dB: >= {TARGET[0]:.0%} found with <= {TARGET[1]:.0f} false alarms per hour of stream: '
            f'{"MET" if met else "NOT MET"} ({rate:.3f}, {fa:.0f} per hour)')

    # --- timing, recipe, int8 -----------------------------------------------------------------------

    def timing(self):
        import librosa
        np, sc, nb, R = self.np, self.sc, self.nb, self.results
        files = [f for s in sc.SPLITS for f in self.task.files[s]]
        for rel in files:
            (self.args.data / rel).read_bytes()
        librosa.load(self.args.data / files[0])
        words = sorted({f.split('/')[0] for f in files})
        start = time.perf_counter()
        for i, w in enumerate(words):
            nb.vectorize_directory(self.args.data / w, i)
        recipe_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            sc.load_clips(self.args.data, files, cache_dir=cache)
            pipeline_s = time.perf_counter() - start
        R.add('loading_speedup', recipe_s / pipeline_s, 'x', kind='ratio', format='.1f',
              data=f'{len(files):,} real Speech Commands clips: the recipe\'s librosa loop against the pipeline '
                   '(cold cache, writing it), one run each')
        say(f'\nloading {len(files)} files: recipe loop {len(files) / recipe_s:.0f} files/s, pipeline '
            f'{len(files) / pipeline_s:.0f} files/s: {recipe_s / pipeline_s:.1f}x')
        # one epoch of the stream model on the training speakers (2 epochs, the second timed)
        import keras
        x, y, _ = self.data['train']
        keras.utils.set_random_seed(0)
        t0 = time.perf_counter()
        model, history = nb.train_stream_model((x, y), self.task.classes, self.noise['train'], 1, seed=0, verbose=0)
        seconds = time.perf_counter() - t0
        R.add('epoch_seconds', seconds, 's', kind='time', format='.0f',
              data=f'one epoch of the stream model over {len(y):,} training clips (model built, front end adapted, '
                   'one pass), CPU')
        say(f'one stream-model epoch on {len(y)} clips: {seconds:.1f} s')
        # scoring a stream: windows per second of audio at the 50 ms hop
        from cookbook import kws_stream as ks
        audio = np.random.default_rng(0).standard_normal(60 * sc.SAMPLE_RATE).astype(np.float32) * 0.01
        t0 = time.perf_counter()
        times, _ = ks.posteriors(lambda w: model.predict(w, batch_size=256, verbose=0), audio, 0.05)
        per_window = (time.perf_counter() - t0) / len(times)
        # one epoch of the recipe's Conv1D on the same clips at 22,050 Hz
        import librosa
        command = np.asarray(y) >= 2  # the recipe's model knows the ten commands only
        wave = librosa.resample(sc.as_float(x[command]), orig_sr=sc.SAMPLE_RATE, target_sr=nb.RECIPE_SAMPLE_RATE)
        keras.utils.set_random_seed(0)
        recipe = nb.create_model(list(range(len(self.keyword_ids))))
        t0 = time.perf_counter()
        recipe.fit(wave, np.asarray(y)[command] - 2, epochs=1, verbose=0)
        recipe_seconds = time.perf_counter() - t0
        R.add('recipe_epoch_seconds', recipe_seconds, 's', kind='time', format='.0f',
              data=f'one epoch of the recipe\'s Conv1D over {int(command.sum()):,} training clips at 22,050 Hz, CPU')
        say(f'one recipe epoch on {int(command.sum())} clips: {recipe_seconds:.1f} s; stream scoring {per_window * 1e3:.1f} ms '
            'per 50 ms window')
        # The notebook's default CPU run (v0.01, bed/bird/tree and the 12-class task): 3,000 training
        # clips per model, 8 epochs of three CNNs (with and without augmentation, the 12-class stream
        # model; a plain CNN epoch taken as long as a stream-model epoch), 1 epoch of the book's model
        # twice, about 64,700 v0.01 files loaded, two groups of streams of 300 commands (about 2,700 s
        # of audio each, 50 ms hop). The download is not included.
        per_clip, recipe_per_clip = seconds / len(y), recipe_seconds / max(int(command.sum()), 1)
        estimate = (3 * 8 * 3000 * per_clip + 2 * 3000 * recipe_per_clip + 64700 / (len(files) / pipeline_s)
                    + 2 * 2700 / 0.05 * per_window)
        R.add('cpu_default_minutes', estimate / 60, 'minutes', kind='time', format='.0f',
              data='the notebook\'s default run on a CPU runtime (v0.01, bed/bird/tree and 12-class; 8 CNN epochs, '
                   '1 epoch of the book\'s model, 3,000 clips per model), download not included',
              note='ESTIMATED from the epoch, loading and scoring times measured in this run on this machine\'s CPU, '
                   'not measured as a whole; Colab\'s CPU runtime has 2 cores too')
        say(f'estimated default CPU run of the notebook (without the download): {estimate / 60:.0f} min')

    def recipe_and_int8(self):
        import keras
        import librosa
        np, sc, nb, R = self.np, self.sc, self.nb, self.results
        model = getattr(self, 'refit0', None)
        if model is None:  # the set-up the stream part chose (this run's, or the results file's)
            variant = getattr(self, 'variant', None)
            if variant is None and R.path.is_file():
                variant = results_module.load(R.path)['figures'].get('variant', {}).get('value')
            self.variant = variant or 'stream'
            model, _ = self.train(['train', 'validation'], 0, 'trainval', self.variant)
        x, y, _ = self.data['test']
        train_x = np.concatenate([self.data['train'][0], self.data['validation'][0]])
        train_y = np.concatenate([self.data['train'][1], self.data['validation'][1]])
        front = keras.Model(model.input, model.get_layer('band_norm').output)
        features = front.predict(sc.as_float(x), verbose=0)
        pick = np.random.default_rng(0).permutation(len(train_x))[:200]
        calibration = front.predict(sc.as_float(train_x[pick]), verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = nb.to_tflite(model.get_layer('network'), Path(tmp) / 'int8.tflite', 'int8', calibration)
            interpreter, _ = sc.tflite_interpreter(path)
            probs, _ = sc.tflite_predict(interpreter, features)
            kib = path.stat().st_size / 1024
        ids, command = np.array(self.keyword_ids), y >= 2
        acc = float(np.mean(ids[probs[command][:, ids].argmax(1)] == y[command]))
        keras_acc = self.clip_accuracy(model, 'test')[0]
        R.add('int8_test_accuracy', acc, 'accuracy', format='.3f', n=int(command.sum()), kib=kib, keras=keras_acc,
              data=f'{int(command.sum())} test clips of the commands, testing speakers; which of the ten commands; the '
                   'stream model (seed 0, training + validation speakers) as full-int8 TensorFlow Lite (int8 input '
                   'and output), float front end')
        say(f'\nint8 TensorFlow Lite (stream model, seed 0): {kib:.0f} KiB, test accuracy {acc:.3f}')
        # the recipe's Conv1D on the raw 22,050 Hz waveform, given one stream-model run's time
        seconds_path = self.args.cache / f'{tagged("trainval", getattr(self, "variant", None))}_seed0_e{self.args.epochs}.epoch_seconds'
        budget = float(seconds_path.read_text()) * self.args.epochs if seconds_path.is_file() else 300.0
        resample = lambda c: librosa.resample(sc.as_float(c), orig_sr=sc.SAMPLE_RATE, target_sr=nb.RECIPE_SAMPLE_RATE)
        train_c, test_c = train_y >= 2, y >= 2  # the ten commands only: classes 2.. of the 12
        keras.utils.set_random_seed(0)
        recipe = nb.create_model(list(range(len(self.keyword_ids))))
        stopper = sc.time_budget(budget)
        recipe.fit(resample(train_x[train_c]), train_y[train_c] - 2, epochs=30, callbacks=[stopper], verbose=2)
        r_acc = float(np.mean(recipe.predict(resample(x[test_c]), verbose=0).argmax(1) == y[test_c] - 2))
        R.add('recipe_test_accuracy', r_acc, 'accuracy', format='.3f', n=int(test_c.sum()), epochs=stopper.epochs_run,
              data=f'{int(test_c.sum())} test clips of the commands of the testing speakers; the recipe\'s Conv1D on the raw waveform, trained on '
                   f'training + validation speakers for the time of one stream-model run ({stopper.epochs_run} epochs, '
                   'at most the book\'s 30), seed 0')
        say(f'recipe Conv1D ({stopper.epochs_run} epochs in {stopper.seconds_used:.0f} s): test accuracy {r_acc:.3f}')


def describe_streams(split, streams):
    for s in streams:
        extra = (f', noise {s.noise_seconds:.0f} s distinct' + (f' heard {s.noise_passes}x' if s.noise_passes > 1 else '')
                 if s.noise_passes else '')
        n = sum(1 for _ in s.events)
        say(f'  {split} stream: {s.kind}, {snr_text(s.snr)}: {s.seconds:.0f} s, {n} commands{extra}')


def snr_text(snr):
    return 'clean' if snr == 'clean' else f'{snr} dB SNR'


if __name__ == '__main__':
    main()
