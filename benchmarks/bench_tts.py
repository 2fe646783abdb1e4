#!/usr/bin/env python
"""Benchmark for notebook 2 (text to speech): the figures its "What to expect" quotes.

Parts (all on the CPU by default, random seeded weights unless --text2mel/--ssrn name the
released checkpoints; time per frame does not depend on the weights):

1. decoder: Text2Mel decoding of one sentence for 210 frames without stopping, the book's loop
   (re-runs the whole network for every frame) against `dctts.decode` (one frame at a time, cached
   layer inputs): the ratio of their times (`decoder_speedup`, target >= 10x) and the largest
   difference between their mel frames (`decoder_max_diff`).
2. one sentence: `dctts.synthesize` of one sentence, text to waveform, median of 5 runs after a
   warm-up: `one_sentence_rtf` (seconds of computing per second of audio delivered, target <= 0.15),
   and the median time of each stage run on its own (`text2mel_seconds`, `ssrn_seconds`,
   `griffin_lim_seconds`).
3. ten sentences: `dctts.synthesize` of the ten garden-path sentences in one call, median of 3
   runs: `ten_sentences_rtf` (target <= 0.10).
4. griffin-lim (--griffin-lim, or whenever --ljspeech/LJSPEECH_DIR is set without --timing): spectral convergence of plain Griffin-Lim (50 iterations, the
   repository's setting) and fast Griffin-Lim (momentum 0.99) on the magnitude spectrograms of real
   recordings (--ljspeech: an LJSpeech-format folder). The number of fast iterations is chosen on
   the first half of the clips (the fewest whose mean spectral convergence is at most plain 50's)
   and reported on the other half. It measures quality, not speed: load does not change it.
5. training (--train-data DIR): a short Text2Mel + SSRN training run from scratch, seconds per step
   and losses (printed only).

Figures go to benchmarks/results/tts.json through benchmarks/results.py (--quick: outputs/bench-quick/).
Times are only as good as the machine's load: results.py marks a run busy when other processes
used the CPU meanwhile.

    python benchmarks/bench_tts.py --timing              # parts 1-3, the quoted timings (a few minutes alone)
    python benchmarks/bench_tts.py --griffin-lim --ljspeech DIR --skip-timing   # part 4 alone
    python benchmarks/bench_tts.py --quick               # a short smoke run of parts 1-3 (CI)
"""
import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))
sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import results  # noqa: E402
from cookbook import checkpoints, dctts, dctts_training, tts_data, tts_text  # noqa: E402

SENTENCES = list(tts_text.GARDEN_PATH_SENTENCES)  # the notebook's ten
hp = dctts.hp


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def bench_decoder(text2mel, ids, steps, out):
    dctts.decode(text2mel, [ids], max_T=3, stop=False)  # warm-up
    dctts.recipe_decode(text2mel, ids[None], max_T=3, stop=False)
    incremental_s, fast = timed(dctts.decode, text2mel, [ids], max_T=steps, stop=False)
    recipe_s, (Y, A) = timed(dctts.recipe_decode, text2mel, ids[None], max_T=steps, stop=False)
    mel_diff = (Y[0] - fast[0].mel).abs().max().item()
    attention_diff = (A[0] - fast[0].alignment).abs().max().item()
    print(f'\n[1] decoder, {steps} frames without stopping: recipe loop {recipe_s:.2f} s, incremental '
          f'{incremental_s:.3f} s: {recipe_s / incremental_s:.1f}x; max |mel difference| {mel_diff:.1e}, '
          f'max |attention difference| {attention_diff:.1e}')
    data = f'one sentence ({len(ids)} symbols), {steps} Text2Mel frames without stopping, same weights'
    out.add('decoder_speedup', recipe_s / incremental_s, 'x', data=data, kind='ratio', format='.1f',
            recipe_seconds=round(recipe_s, 3), incremental_seconds=round(incremental_s, 4), steps=steps)
    out.add('decoder_max_diff', max(mel_diff, attention_diff), 'absolute', data=data + ' (mel and attention)',
            kind='difference', format='.0e')
    return max(mel_diff, attention_diff) <= 1e-4


def bench_one_sentence(text2mel, ssrn, text, runs, out, weights):
    dctts.synthesize(text2mel, ssrn, text, warn=False)  # warm-up: thread pool, FFT plans, allocator
    totals, stages, audio_s = [], [], None
    for _ in range(runs):
        total, result = timed(dctts.synthesize, text2mel, ssrn, text, warn=False)
        totals.append(total)
        audio_s = len(result[0].wav) / hp.sr
        ids = tts_text.text_to_ids(result[0].pieces[0])
        t_decode, decoded = timed(dctts.decode, text2mel, [ids], max_T=dctts.frame_limit(len(ids)))
        with torch.no_grad():
            t_ssrn, Z = timed(lambda: ssrn(decoded[0].mel[None])[1][0].numpy())
        t_gl, _ = timed(dctts.magnitude_to_wav, Z)
        stages.append((t_decode, t_ssrn, t_gl))
    total = statistics.median(totals)
    t_decode, t_ssrn, t_gl = (statistics.median(s[i] for s in stages) for i in range(3))
    frames = decoded[0].mel.shape[1] - 1
    print(f'\n[2] one sentence {text!r}: {frames} mel frames ({"stopped at its end" if decoded[0].stopped else "frame limit"}), '
          f'{audio_s:.2f} s of audio; synthesize {total:.3f} s (median of {runs}): real-time factor {total / audio_s:.3f}')
    print(f'    stages alone: Text2Mel {t_decode:.3f} s, SSRN {t_ssrn:.3f} s, Griffin-Lim ({dctts.FAST_N_ITER} fast '
          f'iterations) + de-emphasis + trim {t_gl:.3f} s')
    data = f'{text!r}, {weights}, {frames} mel frames, {audio_s:.2f} s of audio'
    out.add('one_sentence_rtf', total / audio_s, 'compute s per audio s', data=data, kind='time', format='.2f',
            seconds=round(total, 4), audio_seconds=round(audio_s, 3), runs=runs, all_seconds=[round(t, 4) for t in totals])
    threads = torch.get_num_threads()
    if threads > 1:  # thread settings: the same synthesis with one PyTorch thread, in the same run
        torch.set_num_threads(1)
        try:
            one = statistics.median(timed(dctts.synthesize, text2mel, ssrn, text, warn=False)[0] for _ in range(runs))
        finally:
            torch.set_num_threads(threads)
        print(f'    with 1 PyTorch thread instead of {threads}: {one:.3f} s (real-time factor {one / audio_s:.3f})')
        out.add('one_sentence_rtf_one_thread', one / audio_s, 'compute s per audio s', kind='time', format='.2f',
                data=data + ', one PyTorch thread', seconds=round(one, 4), runs=runs)
        out.add('one_thread_over_default', one / total, 'x', kind='ratio', format='.2f',
                data=f'{data}: time with one PyTorch thread / with {threads}')
    for key, value, what in (('text2mel_seconds', t_decode, 'Text2Mel (text encoder + incremental decoding)'),
                             ('ssrn_seconds', t_ssrn, 'SSRN'),
                             ('griffin_lim_seconds', t_gl, f'Griffin-Lim, {dctts.FAST_N_ITER} fast iterations, '
                                                           'de-emphasis and trimming')):
        out.add(key, value, 's', data=f'{what}, alone; {data}', kind='time', format='.3f', runs=runs)


def bench_ten_sentences(text2mel, ssrn, runs, out, weights):
    dctts.synthesize(text2mel, ssrn, SENTENCES[:2], warn=False)  # warm-up
    totals = []
    for _ in range(runs):
        total, result = timed(dctts.synthesize, text2mel, ssrn, SENTENCES, warn=False)
        totals.append(total)
    audio_s = sum(len(r.wav) for r in result) / hp.sr
    frames = sum(r.mel.shape[1] - 1 for r in result)
    stopped = sum(r.complete for r in result)
    total = statistics.median(totals)
    print(f'\n[3] the ten garden-path sentences in one synthesize call: {stopped} of 10 stopped at their end, '
          f'{frames} mel frames, {audio_s:.1f} s of audio; {total:.2f} s (median of {runs}): '
          f'real-time factor {total / audio_s:.3f}')
    out.add('ten_sentences_rtf', total / audio_s, 'compute s per audio s', kind='time', format='.2f',
            data=f'the ten garden-path sentences in one synthesize call, {weights}, {frames} mel frames, '
                 f'{audio_s:.1f} s of audio ({stopped} of 10 stopped at their end)',
            seconds=round(total, 3), audio_seconds=round(audio_s, 2), runs=runs, all_seconds=[round(t, 3) for t in totals])


def convergence_curve(S, momentum, n_iter):
    curve = []
    dctts.griffin_lim(S, n_iter, momentum,
                      on_step=lambda i, X: curve.append(dctts.spectral_convergence(S, dctts.istft(X))))
    return np.array(curve)


def bench_griffin_lim(folder, max_clips, out):
    clips = tts_data.read_metadata(folder)[:max_clips]
    if len(clips) < 4:
        raise SystemExit(f'{folder}: need at least 4 clips for the Griffin-Lim part, found {len(clips)}')
    plain, fast = [], []
    for clip_id, _ in clips:
        _, mag = dctts.wav_to_spectrograms(Path(folder) / 'wavs' / f'{clip_id}.wav')
        S = dctts.amplitude(mag.T)
        plain.append(convergence_curve(S, 0.0, hp.n_iter))
        fast.append(convergence_curve(S, dctts.FAST_MOMENTUM, hp.n_iter))
    half = len(clips) // 2
    plain, fast = np.array(plain), np.array(fast)
    goal = plain[:half, -1].mean()  # plain Griffin-Lim after 50 iterations, on the choice clips
    reached = np.nonzero(fast[:half].mean(axis=0) <= goal)[0]
    chosen = int(reached[0]) + 1 if len(reached) else hp.n_iter
    held_fast, held_plain = fast[half:, chosen - 1], plain[half:, -1]
    print(f'\n[4] Griffin-Lim on {len(clips)} recordings of {folder}: chosen on the first {half}: {chosen} fast '
          f'iterations reach plain 50\'s spectral convergence ({goal:.4f}). On the other {len(clips) - half}: '
          f'fast {chosen}: {held_fast.mean():.4f} +- {held_fast.std(ddof=1):.4f}, plain 50: '
          f'{held_plain.mean():.4f} +- {held_plain.std(ddof=1):.4f}, plain {chosen}: {plain[half:, chosen - 1].mean():.4f}')
    if chosen != dctts.FAST_N_ITER:
        print(f'    NOTE: cookbook/dctts.py uses FAST_N_ITER = {dctts.FAST_N_ITER}; this run chose {chosen}')
    name = Path(folder).resolve().name
    data = (f'LJSpeech-format recordings ({name}), magnitudes as the models are trained on, raised to the power 1.5; '
            f'iterations chosen on clips 1-{half}, reported on clips {half + 1}-{len(clips)}')
    out.add('griffin_lim_iterations', chosen, 'iterations', data=data, kind='choice', momentum=dctts.FAST_MOMENTUM,
            plain_curve=plain.mean(axis=0).round(5), fast_curve=fast.mean(axis=0).round(5))  # means over all clips
    out.add('griffin_lim_spectral_convergence', held_fast.mean(), 'spectral convergence', data=data, kind='quality',
            format='.3f', std=held_fast.std(ddof=1), n=len(held_fast), iterations=chosen)
    out.add('griffin_lim_plain_spectral_convergence', held_plain.mean(), 'spectral convergence', data=data,
            kind='quality', format='.3f', std=held_plain.std(ddof=1), n=len(held_plain), iterations=hp.n_iter)


def bench_training(args):
    print(f'\n[5] Training from scratch on {args.train_data}: {args.train_steps} steps, batch {args.batch_size}')
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        dataset = tts_data.SpeechDataset(args.train_data, work / 'cache', dctts.wav_to_spectrograms)
        torch.manual_seed(args.seed)
        for name, model, loss_fn, lr in (
                ('Text2Mel', dctts.Text2Mel(), dctts_training.text2mel_loss, hp.text2mel_lr),
                ('SSRN', dctts.SSRN(), lambda m, b: dctts_training.ssrn_loss(m, b, max_frames=32), hp.ssrn_lr)):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the per-step log
                losses = dctts_training.train(model, loss_fn, dataset, work / f'{name}.pt', args.train_steps, lr,
                                              max(1, args.train_steps // 10), batch_size=args.batch_size,
                                              save_every=10 ** 9, seed=args.seed)
            k = max(1, min(5, len(losses) // 2))
            print(f'  {name:8s} {(time.perf_counter() - start) / args.train_steps:.2f} s/step; loss, mean of the '
                  f'first {k} steps {sum(losses[:k]) / k:.4f} -> of the last {k} {sum(losses[-k:]) / k:.4f}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--timing', action='store_true', help='parts 1-3 only (the quoted timings)')
    parser.add_argument('--quick', action='store_true', help='a short run of parts 1-3 into outputs/bench-quick/')
    parser.add_argument('--skip-timing', action='store_true', help='skip parts 1-3')
    parser.add_argument('--griffin-lim', action='store_true',
                        help='part 4 (also run without this flag when --ljspeech or LJSPEECH_DIR is set, '
                             'unless --timing): needs real recordings')
    parser.add_argument('--ljspeech', default=os.environ.get('LJSPEECH_DIR'),
                        help='an LJSpeech-format folder of real recordings (default: $LJSPEECH_DIR)')
    parser.add_argument('--max-clips', type=int, default=32)
    parser.add_argument('--steps', type=int, default=None, help='decoder frames in part 1 (default 210; 30 with --quick)')
    parser.add_argument('--text', default=SENTENCES[0])
    parser.add_argument('--text2mel', help='Text2Mel checkpoint in the released format (default: random weights)')
    parser.add_argument('--ssrn', help='SSRN checkpoint in the released format (default: random weights)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch decides)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train-data', help='an LJSpeech-format folder: run part 5 on it')
    parser.add_argument('--train-steps', type=int, default=40)
    parser.add_argument('--batch-size', type=int, default=4)
    args = parser.parse_args(argv)
    steps = args.steps or (30 if args.quick else hp.max_T)
    if args.griffin_lim and not args.ljspeech:
        parser.error('--griffin-lim needs --ljspeech DIR (or LJSPEECH_DIR): real recordings')
    if args.threads:
        torch.set_num_threads(args.threads)
    out = results.Results('tts', quick=args.quick, threads=torch.get_num_threads())
    print(f'machine: {results.cpu_model()} ({platform.machine()}), {os.cpu_count()} cores visible, torch '
          f'{torch.__version__}, {torch.get_num_threads()} threads; load before: {out.run["load_before"]}')

    torch.manual_seed(args.seed)
    text2mel, ssrn = dctts.Text2Mel().eval(), dctts.SSRN().eval()
    weights = f'random weights (seed {args.seed})'
    for model, path in ((text2mel, args.text2mel), (ssrn, args.ssrn)):
        if path:
            checkpoints.load_weights(model, path)
            weights = 'released weights'
    dctts.fold_weight_norm(ssrn)  # as the notebook does before synthesis
    ok = True
    if not args.skip_timing:
        ids = tts_text.text_to_ids(tts_text.normalize_text(args.text).text)
        ok = bench_decoder(text2mel, ids, steps, out)
        bench_one_sentence(text2mel, ssrn, args.text, 2 if args.quick else 5, out, weights)
        bench_ten_sentences(text2mel, ssrn, 1 if args.quick else 3, out, weights)
    if args.griffin_lim or (args.ljspeech and not args.timing):
        bench_griffin_lim(args.ljspeech, 6 if args.quick else args.max_clips, out)
    if args.train_data:
        bench_training(args)
    if out.figures:
        out.save()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
