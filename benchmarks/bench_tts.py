#!/usr/bin/env python
"""Benchmark for notebook 2 (text to speech), CPU by default.

1. Text2Mel decoding, same weights, same sentence, a fixed number of decoder steps (no early stop):
   the recipe's loop (recomputes the whole network for every frame) against the notebook's
   incremental decoder (constant work per frame). Prints both times, the speed-up (target >= 10x
   at 210 steps) and the largest difference between the two mel spectrograms.
2. Real-time factor of the whole synthesis of one sentence (Text2Mel + SSRN + Griffin-Lim, 50
   iterations): seconds of computing per second of audio (below 1: faster than real time).

Weights are random (seeded) unless --text2mel/--ssrn name checkpoints in the released format;
with random weights the decoder rarely stops early, so the RTF sentence runs the full max_T.

    python benchmarks/bench_tts.py               # 210 steps: the recipe loop takes minutes on a CPU
    python benchmarks/bench_tts.py --steps 60    # quick run
"""
import argparse
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=210, help='decoder steps to time (default: %(default)s)')
    parser.add_argument('--text', default='The horse raced past the barn fell.')
    parser.add_argument('--text2mel', help='Text2Mel checkpoint in the released format (default: random weights)')
    parser.add_argument('--ssrn', help='SSRN checkpoint in the released format (default: random weights)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (default: %(default)s)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch decides)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--full-length', action='store_true',
                        help='RTF part: decode all max_T frames instead of stopping at the end of the text')
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error('--steps must be at least 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    nb = cookbook.import_notebook_code('02_text_to_speech.ipynb')
    torch.manual_seed(args.seed)
    text2mel, ssrn = nb.Text2Mel().eval(), nb.SSRN().eval()
    weights = 'random (seed %d)' % args.seed
    with tempfile.TemporaryDirectory() as plain_dir:
        for model, path in ((text2mel, args.text2mel), (ssrn, args.ssrn)):
            if path:
                nb.load_released_weights(model, path, plain_dir)
                weights = 'released checkpoints'
    text2mel, ssrn = text2mel.to(device), ssrn.to(device)

    print('machine: %s, %d CPU cores visible, torch %s, %d threads, device %s'
          % (platform.machine(), os.cpu_count(), torch.__version__, torch.get_num_threads(), device))
    print('weights: %s; sentence: %r' % (weights, args.text))

    ids = nb.text_to_ids(nb.normalize_text(args.text).text).to(device)
    nb.decode(text2mel, [ids], max_T=3, stop=False)  # warm-up (allocator, first-call overheads)
    nb.recipe_decode(text2mel, ids[None], max_T=3, stop=False)
    with torch.no_grad():
        warm = nb.decode(text2mel, [ids], max_T=3, stop=False)[0]
        nb.magnitude_to_wav(ssrn(warm.mel[None])[1][0])

    # True float32 on GPUs (no TF32), so that "identical" means within 1e-4 there too.
    with nb.full_float32_precision():
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

    print('\n[2] Whole synthesis of one sentence (Text2Mel + SSRN + Griffin-Lim %d iterations), median of 3' % nb.hp.n_iter)
    runs = []
    with torch.no_grad():
        for _ in range(3):  # report the median of three runs: a shared machine is noisy
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
    return 0 if max(mel_diff, attention_diff) <= 1e-4 else 1


if __name__ == '__main__':
    sys.exit(main())
