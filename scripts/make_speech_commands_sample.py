#!/usr/bin/env python3
"""Generate the small Speech Commands-style sample set that the repository ships.

The real Speech Commands v0.01 archive is 1.5 GB and needs the internet; the voice-commands
notebook falls back to this sample in fast mode or offline. Every clip is synthesised here with
espeak-ng (no third-party recordings): each *speaker* is one espeak-ng voice + variant with its own
speed and pitch, every clip is mixed with generated noise at a random SNR, and the folder follows
the dataset's layout exactly:

    <out>/<word>/<speakerid>_nohash_<n>.wav     16 kHz, mono, 16-bit PCM, 1 s (some shorter)
    <out>/_background_noise_/*.wav              generated white / pink / brown / hum noise
    <out>/validation_list.txt, testing_list.txt speaker-disjoint split (one speaker = one voice)
    <out>/README.md

The output is deterministic for a given --seed and espeak-ng build. Usage:

    python scripts/make_speech_commands_sample.py            # writes data/samples/speech_commands
    python scripts/make_speech_commands_sample.py --out /tmp/sc_sample --seed 1
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / 'data' / 'samples' / 'speech_commands'

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # one second
ESPEAK_RATE = 22050  # what espeak-ng writes

# The recipe's three words get the most speakers; the ten keywords of the standard 12-class task
# get enough for every split to hold each of them at least once. bed/bird/tree are the "unknown"
# words of the 12-class task.
DEFAULT_WORDS = ['bed', 'bird', 'tree']
KEYWORDS = ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go']

# (espeak-ng voice, variant): one synthetic "speaker" each. Only voices that ship with Debian's
# espeak-ng-data (the mbrola voices need extra packages).
SPEAKER_VOICES = [
    ('en-us', 'm3'), ('en-gb', 'f2'), ('en-gb-scotland', 'm1'), ('en-gb-x-rp', 'f4'),
    ('en-029', 'm7'), ('en-us-nyc', 'f3'), ('en-gb-x-gbclan', 'm2'), ('en-gb-x-gbcwmd', 'f1'),
    ('en-us', 'Annie'), ('en-gb', 'Andy'), ('en-gb-x-rp', 'john'), ('en-us', 'belinda'),
    ('en-gb-scotland', 'f5'), ('en-029', 'robert'), ('en-us-nyc', 'm5'), ('en-gb', 'linda'),
]
# Speaker index -> split. Test and validation speakers never appear in training.
TEST_SPEAKERS = {0, 1, 2}
VALIDATION_SPEAKERS = {3, 4, 5}
# Speakers that also say the ten keywords: one test, one validation, five training speakers.
KEYWORD_SPEAKERS = [0, 3, 6, 7, 8, 9, 10]

NOISE_SECONDS = 5
SHORT_CLIP_PROBABILITY = 0.15  # the real dataset has clips shorter than one second too
SIZE_LIMIT_BYTES = 5 * 1024 * 1024


def speaker_id(voice: str, variant: str) -> str:
    """An 8-hex-digit id like the real dataset's (a hash, so it says nothing about the speaker)."""
    return hashlib.sha1(f'{voice}+{variant}'.encode()).hexdigest()[:8]


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown), peak-normalised."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    spectrum /= freqs ** (exponent / 2)
    noise = np.fft.irfft(spectrum, n)
    noise -= noise.mean()
    return noise / np.max(np.abs(noise))


def hum_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum with harmonics plus a little hiss, like a fridge or a fan next to the device."""
    t = np.arange(n) / SAMPLE_RATE
    base = rng.choice([50.0, 60.0])
    hum = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
    hum = hum + 0.3 * coloured_noise(rng, n, 1.0)
    return hum / np.max(np.abs(hum))


def make_noises(rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = NOISE_SECONDS * SAMPLE_RATE
    return {
        'white_noise': coloured_noise(rng, n, 0.0),
        'pink_noise': coloured_noise(rng, n, 1.0),
        'brown_noise': coloured_noise(rng, n, 2.0),
        'hum_noise': hum_noise(rng, n),
    }


def espeak(word: str, voice: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    """Speak one word with espeak-ng and return it at 16 kHz, float in [-1, 1], silence trimmed."""
    cmd = ['espeak-ng', '-v', f'{voice}+{variant}', '-s', str(speed), '-p', str(pitch), '--stdout', word]
    try:
        result = subprocess.run(cmd, capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        sys.exit('espeak-ng is not installed: run `sudo apt-get install espeak-ng` and try again.')
    except subprocess.CalledProcessError as err:
        sys.exit(f'espeak-ng failed for {cmd}: {err.stderr.decode(errors="replace")}')
    with tempfile.NamedTemporaryFile(suffix='.wav') as tmp:
        tmp.write(result.stdout)
        tmp.flush()
        audio, rate = sf.read(tmp.name, dtype='float32')
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    audio = soxr.resample(audio, rate, SAMPLE_RATE)
    # Trim leading/trailing silence (espeak-ng pads its output).
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.max(np.abs(audio)))
    if loud.size == 0:
        sys.exit(f'espeak-ng produced silence for {word!r} with voice {voice}+{variant}')
    return audio[loud[0]:loud[-1] + 1]


def render_clip(rng: np.random.Generator, speech: np.ndarray, noises: list[np.ndarray]) -> np.ndarray:
    """Place the word at a random offset in one second, mix noise at a random SNR, set the level."""
    speech = speech[:CLIP_SAMPLES - 800]  # a long word is cut, leaving room for the offset
    speech = speech / np.max(np.abs(speech))
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float64)
    offset = int(rng.integers(400, CLIP_SAMPLES - len(speech) + 1)) if len(speech) < CLIP_SAMPLES - 400 else 0
    clip[offset:offset + len(speech)] = speech
    noise = noises[int(rng.integers(len(noises)))]
    start = int(rng.integers(0, len(noise) - CLIP_SAMPLES))
    noise = noise[start:start + CLIP_SAMPLES]
    snr_db = rng.uniform(5.0, 30.0)
    speech_power = np.mean(speech ** 2)
    noise_power = np.mean(noise ** 2)
    clip += noise * np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    clip *= rng.uniform(0.2, 0.9) / np.max(np.abs(clip))
    if rng.random() < SHORT_CLIP_PROBABILITY:
        # Shorter than one second, as some real recordings are: the end is cut off after the word.
        end_of_word = offset + len(speech)
        length = int(rng.integers(min(end_of_word + 800, CLIP_SAMPLES - 1600), CLIP_SAMPLES - 800))
        clip = clip[:length]
    return clip


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)


def write_readme(out: Path, counts: dict[str, int], n_short: int, n_speakers: int, seed: int) -> None:
    lines = [
        '# Speech Commands sample (synthetic)',
        '',
        'A tiny, **synthetic** stand-in for Google\'s Speech Commands dataset, in exactly the same',
        'layout, so that `notebooks/01_voice_commands.ipynb` runs offline, in fast mode and in CI.',
        f'Generated by `scripts/make_speech_commands_sample.py --seed {seed}`; re-run it to rebuild.',
        '',
        '**Accuracy on this sample is NOT comparable to the real dataset.** Every clip is espeak-ng',
        'speech synthesis (robotic voices, a handful of "speakers") plus generated noise; there are',
        'only a few clips per word. Use it to check that the code runs, not to judge a model.',
        '',
        '## What is inside',
        '',
        '- One folder per word; file names are `<speakerid>_nohash_<n>.wav` like the real data.',
        f'  A speaker is one espeak-ng voice + variant with its own speed and pitch ({n_speakers}'
        ' speakers);',
        '  the id is a hash of the voice name.',
        f'- 16 kHz, mono, 16-bit PCM WAV. Clips are one second long, except {n_short} of the',
        f'  {sum(counts.values())} that are shorter on purpose (the real dataset has short clips too:',
        '  the recipe drops them, the improved loader pads them). Each word is placed at a',
        '  random offset and mixed with generated noise at a random SNR between 5 and 30 dB.',
        '- `_background_noise_/`: generated white, pink and brown noise and mains hum',
        f'  ({NOISE_SECONDS} s each). The real dataset\'s background files are recordings (CC BY);',
        '  none of them is used here.',
        '- `validation_list.txt` and `testing_list.txt`: a speaker-disjoint split, as in the real',
        '  dataset (3 test speakers, 3 validation speakers, the rest train).',
        '',
        '| word | clips |',
        '|------|------:|',
    ]
    lines += [f'| {word} | {n} |' for word, n in sorted(counts.items())]
    lines += [
        '',
        'Licence: generated by this repository\'s script (espeak-ng output is not a recording of',
        'anyone), distributed under the repository\'s licence. The real dataset: Warden (2018),',
        '"Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition", CC BY 4.0.',
        '',
    ]
    (out / 'README.md').write_text('\n'.join(lines))


def generate(out: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build everything in a temporary folder next to the target, then swap it into place: an
    # interrupted run never leaves a half-written sample set behind.
    tmp = Path(tempfile.mkdtemp(prefix='.sc_sample_', dir=out.parent))
    try:
        noises = make_noises(rng)
        (tmp / '_background_noise_').mkdir()
        for name, noise in noises.items():
            sf.write(tmp / '_background_noise_' / f'{name}.wav', to_pcm16(0.5 * noise), SAMPLE_RATE,
                     subtype='PCM_16')
        # Noise mixed into the words: fresh noise, not the shipped background files.
        mix_noises = list(make_noises(rng).values())

        validation, testing = [], []
        counts: dict[str, int] = {}
        n_short = 0
        for index, (voice, variant) in enumerate(SPEAKER_VOICES):
            sid = speaker_id(voice, variant)
            speed = int(rng.integers(120, 200))
            pitch = int(rng.integers(20, 80))
            words = DEFAULT_WORDS + (KEYWORDS if index in KEYWORD_SPEAKERS else [])
            for word in words:
                # A little variation from clip to clip, as a person never says a word twice alike.
                speech = espeak(word, voice, variant, speed + int(rng.integers(-15, 16)),
                                int(np.clip(pitch + rng.integers(-8, 9), 0, 99)))
                clip = render_clip(rng, speech, mix_noises)
                n_short += len(clip) < CLIP_SAMPLES
                rel = f'{word}/{sid}_nohash_0.wav'
                (tmp / word).mkdir(exist_ok=True)
                sf.write(tmp / rel, to_pcm16(clip), SAMPLE_RATE, subtype='PCM_16')
                counts[word] = counts.get(word, 0) + 1
                if index in TEST_SPEAKERS:
                    testing.append(rel)
                elif index in VALIDATION_SPEAKERS:
                    validation.append(rel)
        (tmp / 'validation_list.txt').write_text(''.join(f'{r}\n' for r in sorted(validation)))
        (tmp / 'testing_list.txt').write_text(''.join(f'{r}\n' for r in sorted(testing)))
        write_readme(tmp, counts, n_short, len(SPEAKER_VOICES), seed)

        total = sum(p.stat().st_size for p in tmp.rglob('*') if p.is_file())
        if total > SIZE_LIMIT_BYTES:
            raise RuntimeError(f'sample set is {total} bytes, over the {SIZE_LIMIT_BYTES}-byte limit')
        if out.exists():
            old = out.with_name(out.name + '.old')
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
        out.chmod(0o755)  # mkdtemp made it private
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    n_clips = sum(counts.values())
    print(f'wrote {n_clips} clips of {len(counts)} words from {len(SPEAKER_VOICES)} speakers, '
          f'{len(noises)} background noises, {total / 1e6:.2f} MB -> {out}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help=f'output folder (default {DEFAULT_OUT})')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    args = parser.parse_args(argv)
    generate(args.out, args.seed)


if __name__ == '__main__':
    main()
