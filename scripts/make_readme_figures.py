"""Draw the README's three pictures with the notebooks' own code, on real data.

    .venv/bin/python scripts/make_readme_figures.py \\
        --speech-commands DIR   # a folder in the Speech Commands layout: <word>/<speaker>_nohash_<n>.wav
        --ljspeech DIR          # a folder in the LJSpeech layout: metadata.csv and wavs/<id>.wav
        [--word yes] [--clip LJ001-0001] [--out docs/images] [--only voice_commands,...]

It writes, into --out (default docs/images/):

* voice_commands.png: one real recording of --word as notebook 1 first shows it (waveform and
  spectrogram, loaded as the recipe does) and the log-mel picture its CNN reads, computed by
  the notebook's own `log_mel_front_end`;
* text_to_speech.png: one real LJSpeech clip turned into the 80-band mel spectrogram DC-TTS
  learns to predict, and the sound Griffin-Lim recovers from its magnitude spectrogram, both by
  notebook 2's own functions (`wav_to_spectrograms`, `magnitude_to_wav`). No DC-TTS model is
  involved: the released weights cannot be downloaded here, and random weights make noise;
* melody.png: Twinkle Twinkle continued by 128 steps (seed 0, temperature 1) by the folk-tune
  MelodyRNN this project ships, through notebook 3's own `load_melody_rnn` and `continue_melody`,
  drawn by `cookbook.midi.plot_piano_roll`: what notebook 3 shows offline.

Each picture is drawn in its own Python process, because notebook 1 runs Keras 3 and notebook 3
Keras 2 (tf-keras), and TensorFlow settles on one of them per process. Each PNG records where it
came from in its metadata (the clip's name inside its folder, never the folder's own path).
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES = {  # name -> what it shows (also the PNG's "Title" metadata)
    'voice_commands': 'Notebook 1: a real Speech Commands recording, as the recipe and the CNN see it',
    'text_to_speech': 'Notebook 2: the mel spectrogram DC-TTS predicts, and Griffin-Lim, on a real LJSpeech clip',
    'melody': 'Notebook 3: Twinkle Twinkle continued by the shipped folk-tune MelodyRNN',
}


def _setup():
    os.environ.setdefault('MPLBACKEND', 'Agg')
    sys.path.insert(0, str(REPO_ROOT / 'notebooks'))
    import cookbook
    return cookbook


def _save(fig, out: Path, name: str, source: str) -> Path:
    import cookbook
    metadata = {'Title': FIGURES[name], 'Source': source,
                'Software': f'scripts/make_readme_figures.py, {datetime.date.today().isoformat()}'}
    path = cookbook.save_figure(fig, out / f'{name}.png', dpi=100, metadata=metadata)
    print(f'{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}: {source}')
    return path


def _notebook_code(cookbook, notebook: str, names: list[str]):
    """The notebook's `library` cells as a module, with a clear error if a name has moved."""
    module = cookbook.import_notebook_code(notebook)
    missing = [name for name in names if not hasattr(module, name)]
    if missing:
        raise SystemExit(f'{notebook} no longer defines {", ".join(missing)} in its library cells: '
                         f'update scripts/make_readme_figures.py to the names it uses now')
    return module


def voice_commands(args) -> Path:
    cookbook = _setup()
    import librosa
    import matplotlib.pyplot as plt
    from cookbook import speech_commands as sc
    data_dir = Path(args.speech_commands)
    clips = sorted((data_dir / args.word).glob('*.wav'))
    if not clips:
        raise SystemExit(f'no {args.word}/*.wav in {data_dir}: pass --speech-commands a folder in the '
                         f'Speech Commands layout and a --word it holds ({", ".join(sc.available_words(data_dir))})')
    clip = clips[0]
    cookbook.quiet_tensorflow()  # as notebook 1's set-up cell, before its code imports TensorFlow
    nb = _notebook_code(cookbook, '01_voice_commands.ipynb', ['log_mel_front_end'])

    x, sr = librosa.load(clip)  # as the recipe (and notebook 1's first look): 22,050 Hz
    samples = sc.read_clip(clip)[None]  # as the CNN: native 16 kHz
    mel, _ = nb.log_mel_front_end(samples)
    log_mel = nb.keras.ops.convert_to_numpy(mel(sc.as_float(samples)))[0]  # (bands, frames), dB

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.4), layout='constrained')
    cookbook.plot_waveform(x, sr, ax=axes[0], title=f'waveform of "{args.word}"')
    cookbook.plot_spectrogram(x, sr, ax=axes[1], title='spectrogram (log frequency)')
    image = axes[2].imshow(log_mel, origin='lower', aspect='auto')
    fig.colorbar(image, ax=axes[2], format='%+2.0f dB')
    axes[2].set(xlabel='frame (10 ms)', ylabel='mel band',
                title='log-mel input of the CNN (40 bands, 30 ms windows)')
    return _save(fig, args.out, 'voice_commands', f'{args.word}/{clip.name}')


def text_to_speech(args) -> Path:
    cookbook = _setup()
    import librosa
    import matplotlib.pyplot as plt
    import torch
    from cookbook import tts_data
    root = Path(args.ljspeech)
    rows = dict(tts_data.read_metadata(root))  # clip id -> normalised text
    clip_id = args.clip or next(iter(rows))
    if clip_id not in rows:
        raise SystemExit(f'{clip_id} is not in {root / "metadata.csv"}')
    wav_path = root / 'wavs' / f'{clip_id}.wav'
    nb = _notebook_code(cookbook, '02_text_to_speech.ipynb', ['hp', 'wav_to_spectrograms', 'magnitude_to_wav'])
    hp = nb.hp

    mel, mag = nb.wav_to_spectrograms(wav_path)  # (T/4, 80) and (T, 1025), normalised to [0, 1]
    heard = nb.magnitude_to_wav(torch.from_numpy(mag.T.copy()), n_iter=50, momentum=0.0)  # plain Griffin-Lim, 50 iterations
    original, _ = librosa.effects.trim(librosa.load(str(wav_path), sr=hp.sr)[0])

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.4), layout='constrained')
    cookbook.plot_melspectrogram(mel=mel.T, sr=hp.sr, hop_length=hp.hop_length * hp.reduction_rate, ax=axes[0],
                                 title="Text2Mel's target: 80 mel bands, 50 ms frames")
    cookbook.plot_spectrogram(original, hp.sr, ax=axes[1], title='the recording')
    cookbook.plot_spectrogram(heard, hp.sr, ax=axes[2], title='Griffin-Lim from its magnitude spectrogram')
    text = rows[clip_id] if len(rows[clip_id]) <= 90 else rows[clip_id][:87] + '...'
    fig.suptitle(f'{clip_id}: "{text}"')
    return _save(fig, args.out, 'text_to_speech', f'{clip_id} ({len(original) / hp.sr:.1f} s)')


def melody(args) -> Path:
    cookbook = _setup()
    import matplotlib.pyplot as plt
    from cookbook import midi
    nb = _notebook_code(cookbook, '03_melody_generation.ipynb', ['load_melody_rnn', 'continue_melody'])
    bundle = midi.shipped_bundle()
    twinkle = midi.twinkle_twinkle()
    generator = nb.load_melody_rnn(bundle)
    cookbook.seed_everything(0)  # as notebook 3: Magenta samples with NumPy's global generator
    continued = nb.continue_melody(generator, twinkle, 128, temperature=1.0)
    fig, ax = plt.subplots(figsize=(13, 3.0), layout='constrained')
    midi.plot_piano_roll(continued, ax=ax, split_time=twinkle.total_time,
                         title=f'Twinkle Twinkle (blue) continued by {bundle.name} (orange)')
    return _save(fig, args.out, 'melody', f'{bundle.name}, 128 steps, temperature 1.0, seed 0, '
                                          f'{len(continued.notes)} notes')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--speech-commands', help='a folder in the Speech Commands layout (real recordings)')
    parser.add_argument('--ljspeech', help='a folder in the LJSpeech layout (real recordings)')
    parser.add_argument('--word', default='yes', help='the word to show from --speech-commands (default: yes)')
    parser.add_argument('--clip', help='the LJSpeech clip id to show (default: the first in metadata.csv)')
    parser.add_argument('--out', type=Path, default=REPO_ROOT / 'docs' / 'images', help='where the PNGs go')
    parser.add_argument('--only', help=f'comma-separated, from: {", ".join(FIGURES)} (default: all)')
    args = parser.parse_args(argv)
    names = args.only.split(',') if args.only else list(FIGURES)
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        parser.error(f'unknown figure {", ".join(unknown)}; choose from {", ".join(FIGURES)}')
    needs = {'voice_commands': ('speech_commands', '--speech-commands'), 'text_to_speech': ('ljspeech', '--ljspeech')}
    for name in names:
        attribute, option = needs.get(name, (None, None))
        if attribute and not (getattr(args, attribute) and Path(getattr(args, attribute)).is_dir()):
            parser.error(f'{name} needs {option} DIR, an existing folder of real recordings')
    args.out = args.out.resolve()

    if len(names) == 1:
        globals()[names[0]](args)
        return 0
    failed = []
    for name in names:  # one process per picture (Keras 3 and Keras 2 do not mix)
        child = [sys.executable, __file__, '--only', name, '--out', str(args.out), '--word', args.word]
        child += ['--speech-commands', args.speech_commands] if args.speech_commands else []
        child += ['--ljspeech', args.ljspeech] if args.ljspeech else []
        child += ['--clip', args.clip] if args.clip else []
        if subprocess.run(child).returncode != 0:
            failed.append(name)
    if failed:
        print(f'failed: {", ".join(failed)}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
