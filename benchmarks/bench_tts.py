#!/usr/bin/env python
"""Benchmark for notebook 2 (text to speech), CPU by default.

1. Text2Mel decoding, same weights, same sentence, a fixed number of decoder steps (no early stop):
   the recipe's loop (recomputes the whole network for every frame) against the notebook's
   incremental decoder (constant work per frame). Prints both times, the speed-up (target >= 10x
   at 210 steps) and the largest difference between the two mel spectrograms.
2. Real-time factor of the whole synthesis of one sentence (Text2Mel + SSRN + Griffin-Lim, 50
   iterations): seconds of computing per second of audio (below 1: faster than real time).
3. The notebook's ten garden-path sentences through `synthesize` (one batch), as the notebook runs
   them. Random weights stop only where the forcing rule walks the attention to the end of
   the text (a frame or two per character), otherwise at the frame
   limit (at least 210 frames, 10.5 s); the script prints how many stopped and the frames decoded.
4. With --train-data DIR (an LJSpeech-format folder, e.g. a few real LJSpeech clips with metadata.csv): a short
   Text2Mel + SSRN training run from scratch at the released sizes, printing seconds per step and
   the losses, and the attention of a training clip before/after (its guided-attention penalty).

Weights are random (seeded) unless --text2mel/--ssrn name checkpoints in the released format.
The machine's load average is printed before and after every part: on a shared machine the
times are only as good as the load they were taken at.

    python benchmarks/bench_tts.py                    # 210 steps: the recipe loop takes a while on a CPU
    python benchmarks/bench_tts.py --quick            # parts 1 and 2 only, 100 decoder steps (a few minutes)
    python benchmarks/bench_tts.py --skip-decoding --train-data DIR --train-steps 40
"""
import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / 'notebooks'))

import torch  # noqa: E402

import cookbook  # noqa: E402
from cookbook import checkpoints, tts_data, tts_text  # noqa: E402

SENTENCES = tts_text.GARDEN_PATH_SENTENCES  # the notebook's ten


def load_average():
    """'load average 1.23, 1.10, 0.90 on N cores' (1, 5 and 15 minutes), or '' where unknown."""
    try:
        return 'load average %.2f, %.2f, %.2f on %d cores' % (os.getloadavg() + (os.cpu_count(),))
    except (AttributeError, OSError):
        return ''


def bench_decoding(nb, text2mel, ssrn, ids, device, args):
    nb.decode(text2mel, [ids], max_T=3, stop=False)  # warm-up (allocator, first-call overheads)
    nb.recipe_decode(text2mel, ids[None], max_T=3, stop=False)
    # True float32 on GPUs (no TF32 in cuDNN), so that "identical" means within 1e-4 there too.
    with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, allow_tf32=False):
        start = time.perf_counter()
        fast = nb.decode(text2mel, [ids], max_T=args.steps, stop=False)[0]
        incremental_s = time.perf_counter() - start
        start = time.perf_counter()
        Y, A = nb.recipe_decode(text2mel, ids[None], max_T=args.steps, stop=False)
        recipe_s = time.perf_counter() - start
    mel_diff = (Y[0] - fast.mel).abs().max().item()
    attention_diff = (A[0] - fast.alignment).abs().max().item()
    print('\n[1] Text2Mel decoding, %d steps (%.1f s of audio frames), no early stop' % (
        args.steps, args.steps * nb.hp.reduction_rate * nb.hp.hop_length / nb.hp.sr))
    print('  recipe loop (full recompute): %8.2f s  (%.1f ms/step)' % (recipe_s, 1000 * recipe_s / args.steps))
    print('  incremental (cached state):   %8.2f s  (%.1f ms/step)' % (incremental_s, 1000 * incremental_s / args.steps))
    print('  speed-up: %.1fx (target >= 10x at 210 steps)' % (recipe_s / incremental_s))
    print('  max |mel difference| = %.2e, max |attention difference| = %.2e (%s)' % (
        mel_diff, attention_diff, 'identical within 1e-4' if max(mel_diff, attention_diff) <= 1e-4 else 'DIFFERENT'))
    print('  (%s)' % load_average())

    print('\n[2] Whole synthesis of one sentence (Text2Mel + SSRN + Griffin-Lim %d iterations), median of 3'
          % nb.hp.n_iter)
    runs = []
    with torch.no_grad():
        for _ in range(3):  # the median of three runs: a shared machine is noisy
            times = []
            start = time.perf_counter()
            decoded = nb.decode(text2mel, [ids], stop=not args.full_length)[0]
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            _, Z = ssrn(decoded.mel[None])
            if device.type == 'cuda':
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            wav = nb.magnitude_to_wav(Z[0])
            times.append(time.perf_counter() - start)
            runs.append(times)
    runs.sort(key=sum)
    t_text2mel, t_ssrn, t_gl = runs[1]
    total = t_text2mel + t_ssrn + t_gl
    # Real-time factor against the length of the decoded frames (trimming silence would flatter it).
    audio_s = (decoded.mel.shape[1] * nb.hp.reduction_rate - 1) * nb.hp.hop_length / nb.hp.sr
    print('  %d mel frames (%s), %.2f s of audio (%.2f s after trimming silence)' % (
        decoded.mel.shape[1], 'stopped at end of text' if decoded.stopped else 'ran to max_T (%d steps)' % nb.hp.max_T,
        audio_s, len(wav) / nb.hp.sr))
    print('  Text2Mel %.2f s + SSRN %.2f s + Griffin-Lim %.2f s = %.2f s' % (t_text2mel, t_ssrn, t_gl, total))
    print('  real-time factor: %.3f (compute seconds per audio second)' % (total / audio_s))
    return max(mel_diff, attention_diff) <= 1e-4


def bench_ten_sentences(nb, text2mel, ssrn, device):
    print('\n[3] The notebook\'s ten sentences through synthesize() (one batch, Griffin-Lim %d iterations)'
          % nb.hp.n_iter)
    start = time.perf_counter()
    results = nb.synthesize(text2mel, ssrn, SENTENCES, warn=False)  # random weights never stop early
    if device.type == 'cuda':
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    frames = sum(r.mel.shape[1] - 1 for r in results)
    stopped = sum(r.complete for r in results)
    audio_s = frames * nb.hp.reduction_rate * nb.hp.hop_length / nb.hp.sr
    print('  %d of 10 stopped at their end; %d decoded frames = %.1f s of audio' % (stopped, frames, audio_s))
    print('  %.1f s in all: real-time factor %.3f' % (elapsed, elapsed / audio_s))


def bench_training(nb, device, args):
    print('\n[4] Training from scratch on %s: %d steps, batch %d, released sizes' % (
        args.train_data, args.train_steps, args.batch_size))
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        start = time.perf_counter()
        dataset = tts_data.SpeechDataset(args.train_data, work / 'cache', nb.wav_to_spectrograms)
        print('  %d clips, spectrograms in %.1f s' % (len(dataset), time.perf_counter() - start))
        torch.manual_seed(args.seed)
        text2mel, ssrn = nb.Text2Mel().to(device), nb.SSRN().to(device)
        clip = [x.to(device) for x in tts_data.collate([dataset[0]])]

        def attention_penalty():
            with torch.no_grad():
                A = text2mel.eval()(clip[0], clip[1])[2]
                return nb.guided_attention_loss(A, clip[3], clip[4]).item()

        before = attention_penalty()
        warmup = max(1, args.train_steps // 10)
        results = {}
        for name, model, loss_fn, lr in (
                ('Text2Mel', text2mel, nb.text2mel_loss, nb.hp.text2mel_lr),
                ('SSRN', ssrn, lambda m, b: nb.ssrn_loss(m, b, max_frames=32), nb.hp.ssrn_lr)):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the per-step log
                losses = nb.train(model, loss_fn, dataset, work / f'{name}.pt', args.train_steps, lr, warmup,
                                  batch_size=args.batch_size, save_every=10 ** 9, seed=args.seed)
            seconds = time.perf_counter() - start
            results[name] = losses
            k = max(1, min(5, len(losses) // 2))  # never the same steps at both ends of a short run
            first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
            print('  %-8s %.2f s/step; loss, mean of the first %d steps %.4f -> of the last %d %.4f' % (
                name, seconds / args.train_steps, k, first, k, last))
        print('  guided-attention penalty of training clip 1: %.4f before, %.4f after' % (before, attention_penalty()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=None,
                        help='decoder steps to time (default: 210; 100 with --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='parts 1 and 2 only, 100 decoder steps unless --steps says otherwise')
    parser.add_argument('--text', default='The horse raced past the barn fell.')
    parser.add_argument('--text2mel', help='Text2Mel checkpoint in the released format (default: random weights)')
    parser.add_argument('--ssrn', help='SSRN checkpoint in the released format (default: random weights)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (default: %(default)s)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch decides)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--full-length', action='store_true',
                        help='part 2: decode all max_T frames instead of stopping at the end of the text')
    parser.add_argument('--skip-decoding', action='store_true', help='skip parts 1 and 2')
    parser.add_argument('--skip-sentences', action='store_true', help='skip part 3')
    parser.add_argument('--train-data', help='an LJSpeech-format folder: run part 4 on it')
    parser.add_argument('--train-steps', type=int, default=40)
    parser.add_argument('--batch-size', type=int, default=4)
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = 100 if args.quick else 210
    if args.quick:
        args.skip_sentences = True
    if args.steps < 1 or args.train_steps < 1:
        parser.error('--steps and --train-steps must be at least 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    nb = cookbook.import_notebook_code('02_text_to_speech.ipynb')
    torch.manual_seed(args.seed)
    text2mel, ssrn = nb.Text2Mel().eval(), nb.SSRN().eval()
    weights = 'random (seed %d)' % args.seed
    for model, path in ((text2mel, args.text2mel), (ssrn, args.ssrn)):
        if path:
            checkpoints.load_weights(model, path)
            weights = 'released checkpoints'
    text2mel, ssrn = text2mel.to(device), ssrn.to(device)

    print('machine: %s, %d CPU cores visible, torch %s, %d threads, device %s'
          % (platform.machine(), os.cpu_count(), torch.__version__, torch.get_num_threads(), device))
    print('weights: %s; sentence: %r' % (weights, args.text))
    print('start: %s, %s' % (time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()), load_average()))
    ok = True
    if not args.skip_decoding:
        ids = tts_text.text_to_ids(tts_text.normalize_text(args.text).text).to(device)
        ok = bench_decoding(nb, text2mel, ssrn, ids, device, args)
        print('  (%s)' % load_average())
    if not args.skip_sentences:
        bench_ten_sentences(nb, text2mel, ssrn, device)
        print('  (%s)' % load_average())
    if args.train_data:
        bench_training(nb, device, args)
        print('  (%s)' % load_average())
    print('end: %s' % time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
