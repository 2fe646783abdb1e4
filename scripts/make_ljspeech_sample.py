#!/usr/bin/env python
"""Generate the small LJSpeech-format sample shipped in data/samples/ljspeech/.

The sample lets notebook 2 ("Synthesizing speech from text") exercise its whole training
pipeline offline: reading metadata.csv, preprocessing wavs to mel and magnitude spectrograms,
and a few training steps. The speech is synthesised with espeak-ng, one voice, so the sample is
small (a few MB) and reproducible. A model trained on it for a few steps does NOT speak.

Layout (the LJSpeech 1.1 layout):
    metadata.csv            id|text|normalized text   (UTF-8, one line per clip, no header)
    wavs/<id>.wav           22,050 Hz, mono, 16-bit PCM

Usage:
    python scripts/make_ljspeech_sample.py [--out data/samples/ljspeech] [--voice en-us]

Requires the espeak-ng program (Debian/Ubuntu: apt-get install espeak-ng).
"""
import argparse
import array
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

SAMPLE_RATE = 22050
DEFAULT_OUT = Path(__file__).resolve().parents[1] / 'data' / 'samples' / 'ljspeech'
MAX_TOTAL_BYTES = 10 * 1024 * 1024

# (text, normalized text). The first group imitates the register of LJSpeech (nineteenth-century
# non-fiction on printing and on the Warren Commission report, numbers written as digits in the
# text and spelled out in the normalized column); the rest are short everyday sentences.
# All sentences are written for this sample; none is taken from LJSpeech.
SENTENCES = [
    ("The printers of the period worked by hand, in small shops near the river.",
     "The printers of the period worked by hand, in small shops near the river."),
    ("In 1843 the press was moved to a larger building on the main street.",
     "In eighteen forty-three the press was moved to a larger building on the main street."),
    ("The type was cast in lead and set, letter by letter, into a wooden frame.",
     "The type was cast in lead and set, letter by letter, into a wooden frame."),
    ("Each sheet was printed on one side, dried, and then printed on the other.",
     "Each sheet was printed on one side, dried, and then printed on the other."),
    ("The commission examined the records with great care.",
     "The commission examined the records with great care."),
    ("He was seen at the window of the sixth floor at about 12:30.",
     "He was seen at the window of the sixth floor at about twelve thirty."),
    ("The witness testified that he heard 3 shots.",
     "The witness testified that he heard three shots."),
    ("The report was delivered to the President in September 1964.",
     "The report was delivered to the President in September nineteen sixty-four."),
    ("The agents had not been told of the route in advance.",
     "The agents had not been told of the route in advance."),
    ("Prisoners were kept in crowded rooms, without light or air.",
     "Prisoners were kept in crowded rooms, without light or air."),
    ("The jail held more than 200 men at the end of the year.",
     "The jail held more than two hundred men at the end of the year."),
    ("Mr. Smith wrote to the sheriff on the following day.",
     "Mister Smith wrote to the sheriff on the following day."),
    ("The old man walked slowly down the road.",
     "The old man walked slowly down the road."),
    ("A cold wind blew across the open field.",
     "A cold wind blew across the open field."),
    ("She opened the door and looked outside.",
     "She opened the door and looked outside."),
    ("The children played in the garden until dark.",
     "The children played in the garden until dark."),
    ("Bring me the book from the top shelf, please.",
     "Bring me the book from the top shelf, please."),
    ("The train leaves the station at 7 in the morning.",
     "The train leaves the station at seven in the morning."),
    ("It rained all night and the streets were wet.",
     "It rained all night and the streets were wet."),
    ("Is this the way to the harbour?",
     "Is this the way to the harbour?"),
    ("The bread is fresh and the coffee is hot.",
     "The bread is fresh and the coffee is hot."),
    ("A small boat floated on the quiet lake.",
     "A small boat floated on the quiet lake."),
    ("He counted the coins twice before he paid.",
     "He counted the coins twice before he paid."),
    ("The meeting was put off until next week.",
     "The meeting was put off until next week."),
    ("Who left the lamp burning in the hall?",
     "Who left the lamp burning in the hall?"),
    ("The clock on the tower struck 9.",
     "The clock on the tower struck nine."),
    ("We walked along the beach and picked up shells.",
     "We walked along the beach and picked up shells."),
    ("The letter arrived three days late.",
     "The letter arrived three days late."),
    ("Her voice was calm and clear.",
     "Her voice was calm and clear."),
    ("They painted the fence a bright shade of green.",
     "They painted the fence a bright shade of green."),
    ("The farmer sold his horse at the market.",
     "The farmer sold his horse at the market."),
    ("Good morning, how are you today?",
     "Good morning, how are you today?"),
]


def clip_id(index):
    return 'LJ900-%04d' % (index + 1)  # chapter 900: not an LJSpeech chapter, cannot be confused


def speak(text, voice, speed, dest):
    """Speak `text` with espeak-ng into `dest` as 22,050 Hz mono 16-bit PCM."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / 'espeak.wav'
        subprocess.run(['espeak-ng', '-v', voice, '-s', str(speed), '-w', str(raw), text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with wave.open(str(raw), 'rb') as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                raise RuntimeError('espeak-ng produced %d Hz, %d channel(s), %d-byte samples; expected '
                                   '22050 Hz mono 16-bit (voice %r)' % (w.getframerate(), w.getnchannels(),
                                                                        w.getsampwidth(), voice))
            frames = w.readframes(w.getnframes())
    samples = array.array('h', frames)
    # Trim the digital silence espeak-ng leaves at both ends, keeping 50 ms.
    keep = int(0.05 * SAMPLE_RATE)
    voiced = [i for i, s in enumerate(samples) if abs(s) > 64]
    if not voiced:
        raise RuntimeError('espeak-ng produced silence for %r' % text)
    start, end = max(0, voiced[0] - keep), min(len(samples), voiced[-1] + keep)
    # Rewrite with our own header (espeak-ng's streamed header may carry a placeholder size).
    tmp_dest = dest.with_name(dest.name + '.tmp')
    with wave.open(str(tmp_dest), 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples[start:end].tobytes())
    os.replace(tmp_dest, dest)
    return (end - start) / SAMPLE_RATE


def build(out_dir, voice='en-us', speed=150):
    if shutil.which('espeak-ng') is None:
        sys.exit('espeak-ng not found: install it (apt-get install espeak-ng) and run again.')
    out_dir = Path(out_dir)
    # Build into a sibling temp folder, then swap it in: a failed run leaves the old sample intact.
    staging = Path(tempfile.mkdtemp(prefix='.ljspeech-', dir=out_dir.parent if out_dir.parent.exists() else None))
    try:
        (staging / 'wavs').mkdir()
        lines, seconds = [], 0.0
        for i, (text, normalized) in enumerate(SENTENCES):
            if '|' in text or '|' in normalized:
                raise ValueError('sentence %d contains the field separator |' % i)
            seconds += speak(normalized, voice, speed, staging / 'wavs' / (clip_id(i) + '.wav'))
            lines.append('%s|%s|%s\n' % (clip_id(i), text, normalized))
        (staging / 'metadata.csv').write_text(''.join(lines), encoding='utf-8')
        readme = out_dir / 'README.md'
        if readme.exists():
            shutil.copy2(readme, staging / 'README.md')
        total = sum(p.stat().st_size for p in staging.rglob('*') if p.is_file())
        if total > MAX_TOTAL_BYTES:
            raise RuntimeError('sample is %.1f MB, over the 10 MB limit' % (total / 2**20))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    digest = hashlib.sha256((out_dir / 'metadata.csv').read_bytes())
    for wav in sorted((out_dir / 'wavs').glob('*.wav')):
        digest.update(wav.read_bytes())
    print('wrote %d clips (%.1f s of audio, %.2f MB) to %s' % (len(SENTENCES), seconds, total / 2**20, out_dir))
    print('content SHA-256 (metadata + wavs):', digest.hexdigest())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=str(DEFAULT_OUT), help='output folder (default: %(default)s)')
    parser.add_argument('--voice', default='en-us', help='espeak-ng voice (default: %(default)s)')
    parser.add_argument('--speed', type=int, default=150, help='words per minute (default: %(default)s)')
    args = parser.parse_args(argv)
    build(args.out, args.voice, args.speed)


if __name__ == '__main__':
    main()
