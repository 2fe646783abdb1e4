"""Keyword spotting in a stream: training examples that look like stream windows, test streams
built without repeating their negatives, a detector that works as deployed ones do, and scoring
that counts every false alarm.

* noise: the noise recordings are split by disjoint time ranges (train / validation / test),
  each stretch normalised to unit RMS, and mixed at a stated signal-to-noise ratio (SNR) against
  the commands' level;
* training examples (`StreamExamples`): commands shifted by up to 150 ms inside a window filled
  with noise (not zeros), noise at an SNR drawn from a range, silence windows at
  realistic levels, and partial words labelled as not-a-command;
* streams: commands of held-out speakers one after another with gaps, and negatives that hold
  no command (other speech, noise), each noise stretch used once from a random start;
* the detector (`detect`): a per-keyword trigger that fires when the smoothed score crosses a
  threshold with a margin over the runner-up for a minimum count of windows, and re-arms only
  when the score falls below a lower threshold (hysteresis); `detect_legacy` is the first
  notebook version's rule, kept as the baseline;
* scoring: hits, misses, and false alarms split by kind (wrong word, duplicate, in a gap), per
  hour, with a Wilson interval for the hit rate and the 95 % upper bound when none is seen.

numpy only; the model is passed in as a function from windows to class probabilities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
SNRS = ('clean', 20, 10, 5)
NOISE_FRACTIONS = (0.45, 0.20, 0.35)   # train, validation, test: disjoint time ranges of each recording
SPLITS = ('train', 'validation', 'test')


# --- levels and noise ------------------------------------------------------------------------------

def rms(x):
    x = np.asarray(x, np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def snr_label(snr):
    """'clean' or '10 dB' for a condition of SNRS."""
    return 'clean' if snr in (None, 'clean') else f'{snr:g} dB'


def split_noise_by_time(noises, fractions=NOISE_FRACTIONS, min_samples=CLIP_SAMPLES):
    """{split: [(name, unit-RMS float32 stretch)]}: each recording cut into disjoint time ranges
    (the first fractions[0] for training, then validation, then test); each stretch is
    normalised to RMS 1 so that a gain sets its level. Stretches shorter than min_samples or
    without signal are left out."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) <= 0:
        raise ValueError(f'fractions {fractions}: three positive shares that sum to 1')
    out = {s: [] for s in SPLITS}
    for name, audio in sorted(dict(noises).items()):
        audio = np.asarray(audio, np.float32)
        a = int(len(audio) * fractions[0])
        b = int(len(audio) * (fractions[0] + fractions[1]))
        for split, piece in zip(SPLITS, (audio[:a], audio[a:b], audio[b:])):
            level = rms(piece)
            if len(piece) >= min_samples and level > 0:
                out[split].append((name, (piece / level).astype(np.float32)))
    return out


def seconds_of(stretches, sample_rate=SAMPLE_RATE):
    return sum(len(a) for _, a in stretches) / sample_rate


def noise_track(stretches, n_samples, rng, allow_reuse=False):
    """(unit-RMS noise of n_samples, passes): the stretches end to end in random order, each from
    a random start (the part before the start follows at its end, so each sample is used once per
    pass). More than one pass (the noise heard again, elsewhere in the stream) only with
    allow_reuse=True; passes says how many were needed."""
    if not stretches:
        raise ValueError('no noise stretches to build a noise track from')
    out, pos, passes = np.zeros(n_samples, np.float32), 0, 0
    while pos < n_samples:
        if passes and not allow_reuse:
            total = sum(len(a) for _, a in stretches)
            raise ValueError(f'{n_samples / SAMPLE_RATE:.1f} s of noise asked for, {total / SAMPLE_RATE:.1f} s '
                             'available: pass allow_reuse=True or use less')
        passes += 1
        for index in rng.permutation(len(stretches)):
            audio = stretches[index][1]
            start = int(rng.integers(len(audio)))
            piece = np.concatenate([audio[start:], audio[:start]])
            take = min(len(piece), n_samples - pos)
            out[pos:pos + take] = piece[:take]
            pos += take
            if pos >= n_samples:
                break
    return out, passes


def noise_gain(speech_level, snr):
    """The gain of a unit-RMS noise that puts it snr dB below speech_level (0 for 'clean')."""
    return 0.0 if snr in (None, 'clean') else float(speech_level) / 10 ** (float(snr) / 20)


# --- training examples for the stream ------------------------------------------------------------

@dataclass
class StreamExamples:
    """Makes one-second training windows that look like what a stream detector sees.

    clips: int16 or float (N, 16000) command clips, labels their class indices; noise: unit-RMS
    training stretches (split_noise_by_time(...)['train']); silence, unknown: the class indices
    of '_silence_' and '_unknown_'. Each example is, with these probabilities:
      * a command (the rest): shifted by up to max_shift seconds (the part shifted out is lost,
        the part shifted in is noise, never digital zeros), gain of +-gain_db, noise at an SNR
        drawn uniformly from snr_range dB (clean with probability p_clean);
      * silence (p_silence): noise alone, at the level it would have at an SNR from snr_range
        against a typical command (and, one time in ten, ten times quieter);
      * a partial word (p_partial), labelled unknown: only the first or last 20-45 % of a
        command's active part, placed at a random position in noise.
    """
    clips: np.ndarray
    labels: np.ndarray
    noise: list
    silence: int
    unknown: int
    max_shift: float = 0.15  # chosen over 0.3 on validation streams (benchmarks/voice_commands.md)
    snr_range: tuple = (0.0, 30.0)
    p_clean: float = 0.15
    p_silence: float = 0.1
    p_partial: float = 0.1
    gain_db: float = 6.0
    levels: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.labels = np.asarray(self.labels)
        if len(self.clips) != len(self.labels) or len(self.clips) == 0:
            raise ValueError('StreamExamples needs as many labels as clips, at least one')
        if not self.noise:
            raise ValueError('StreamExamples needs training noise stretches (split_noise_by_time)')
        x = self._float(self.clips)
        self.levels = np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1)) + 1e-6
        self.typical_level = float(np.median(self.levels))

    @staticmethod
    def _float(x):
        x = np.asarray(x)
        return x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.astype(np.float32)

    def _noise(self, rng, n=CLIP_SAMPLES):
        audio = self.noise[int(rng.integers(len(self.noise)))][1]
        start = int(rng.integers(0, max(1, len(audio) - n)))
        piece = audio[start:start + n]
        return np.pad(piece, (0, n - len(piece)), mode='wrap') if len(piece) < n else piece.copy()

    def _snr(self, rng):
        return float(rng.uniform(*self.snr_range))

    def example(self, index, rng):
        """(float32 window of 16000 samples, class index) for clip `index`, or a negative."""
        kind = rng.random()
        if kind < self.p_silence:
            level = noise_gain(self.typical_level, self._snr(rng))
            if rng.random() < 0.1:
                level *= 0.1
            return self._noise(rng) * level, self.silence
        clip = self._float(self.clips[index:index + 1])[0]
        level = self.levels[index]
        window = np.zeros(CLIP_SAMPLES, np.float32)
        mask = np.zeros(CLIP_SAMPLES, bool)  # where the command's own samples lie
        if kind < self.p_silence + self.p_partial:
            start, end = active_span(clip)
            length = end - start
            part = int(length * rng.uniform(0.2, 0.45))
            piece = clip[start:start + part] if rng.random() < 0.5 else clip[end - part:end]
            at = int(rng.integers(0, CLIP_SAMPLES - len(piece) + 1))
            window[at:at + len(piece)] = piece
            mask[at:at + len(piece)] = True
            label = self.unknown
        else:
            shift = int(rng.integers(-int(self.max_shift * SAMPLE_RATE), int(self.max_shift * SAMPLE_RATE) + 1))
            if shift >= 0:
                window[shift:] = clip[:CLIP_SAMPLES - shift]
                mask[shift:] = True
            else:
                window[:shift] = clip[-shift:]
                mask[:shift] = True
            label = int(self.labels[index])
        window *= 10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
        if rng.random() < self.p_clean:
            # Clean, but the shifted-in part holds the recordings' own quiet room sound, not zeros.
            floor = self._noise(rng) * level * 10 ** (-40 / 20)
            window[~mask] = floor[~mask]
            return window, label
        return window + self._noise(rng) * noise_gain(level, self._snr(rng)), label

    def batches(self, num_classes, batch_size=32, seed=0):
        """A keras.utils.PyDataset of (audio, one-hot) batches, one example per clip per epoch."""
        import keras
        maker = self

        class Batches(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.rng = np.random.default_rng(seed)
                self.order = self.rng.permutation(len(maker.labels))

            def __len__(self):
                return int(np.ceil(len(maker.labels) / batch_size))

            def __getitem__(self, i):
                idx = self.order[i * batch_size:(i + 1) * batch_size]
                pairs = [maker.example(int(j), self.rng) for j in idx]
                x = np.clip(np.stack([p[0] for p in pairs]), -1.0, 1.0)
                y = np.eye(num_classes, dtype=np.float32)[[p[1] for p in pairs]]
                return x, y

            def on_epoch_end(self):
                self.order = self.rng.permutation(len(maker.labels))

        return Batches()


def active_span(clip, frame=320, below_db=25.0):
    """(start, end) samples of the part of a clip within below_db of its loudest 20 ms frame."""
    clip = np.asarray(clip, np.float32)
    n = len(clip) // frame
    if n == 0:
        return 0, len(clip)
    energy = np.mean(clip[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > -below_db)
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


# --- streams ----------------------------------------------------------------------------------------

@dataclass
class Stream:
    """A recording for the detector: audio, the commands in it [(start s, class)], what it is."""
    audio: np.ndarray
    events: list
    snr: object = 'clean'
    kind: str = 'commands'          # 'commands', 'speech' or 'noise'
    noise_seconds: float = 0.0      # distinct noise under it
    noise_passes: int = 0           # how many times that noise was heard (1: never repeated)

    @property
    def seconds(self):
        return len(self.audio) / SAMPLE_RATE

    @property
    def hours(self):
        return self.seconds / 3600


def command_stream(clips, labels, rng, gap_seconds=(0.5, 1.5), lead=1.0):
    """(clean audio, events, speech level): every clip once, in random order, with random gaps of
    silence between them; the level is the median RMS of the clips (what an SNR is set against).
    Labels of non-commands (unknown words) go into the stream as events too: a detection on them
    is a wrong word."""
    clips = np.asarray(clips)
    if len(clips) == 0:
        raise ValueError('command_stream needs at least one clip')
    x = clips.astype(np.float32) / 32768.0 if clips.dtype == np.int16 else clips.astype(np.float32)
    order = rng.permutation(len(x))
    gaps = rng.uniform(*gap_seconds, size=len(x))
    total = int(round((lead + gaps.sum()) * SAMPLE_RATE)) + len(x) * x.shape[1]
    audio = np.zeros(total, np.float32)
    events, pos = [], int(lead * SAMPLE_RATE)
    for gap, i in zip(gaps, order):
        audio[pos:pos + x.shape[1]] += x[i]
        events.append((pos / SAMPLE_RATE, int(labels[i])))
        pos += x.shape[1] + int(round(gap * SAMPLE_RATE))
    level = float(np.median(np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1))))
    return audio, events, level


def with_noise(audio, stretches, level, snr, rng, allow_reuse=False):
    """(audio + noise at snr dB below level, seconds of distinct noise, passes); clean: unchanged."""
    if snr in (None, 'clean'):
        return audio.copy(), 0.0, 0
    noise, passes = noise_track(stretches, len(audio), rng, allow_reuse=allow_reuse)
    distinct = min(len(audio), sum(len(a) for _, a in stretches)) / SAMPLE_RATE
    return np.clip(audio + noise * noise_gain(level, snr), -1, 1).astype(np.float32), distinct, passes


def evaluation_streams(clips, labels, noise, seed=0, max_commands=None, skip=(), noise_snr=10):
    """The streams a split is judged on: its clips once each (at most max_commands of them, chosen at
    random; classes in `skip`, such as silence, left out) with gaps, clean and with noise at 20, 10
    and 5 dB SNR (the split's noise; reused where the stream is longer, which Stream.noise_passes
    says), and the split's noise alone at the level it has at noise_snr dB, each stretch once."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    pick = np.flatnonzero(~np.isin(labels, list(skip)))
    pick = np.sort(rng.permutation(pick)[:max_commands])
    clean, events, level = command_stream(np.asarray(clips)[pick], labels[pick], rng)
    out = []
    for snr in SNRS:
        audio, seconds, passes = with_noise(clean, noise, level, snr, rng, allow_reuse=True)
        out.append(Stream(audio, events, snr, 'commands', seconds, passes))
    total = sum(len(a) for _, a in noise)
    if total:
        track, passes = noise_track(noise, total, rng)
        out.append(Stream(track * noise_gain(level, noise_snr), [], noise_snr, 'noise', total / SAMPLE_RATE, passes))
    return out


def load_speech(folder, sample_rate=SAMPLE_RATE, limit=None):
    """[(name, float32 audio at sample_rate)] of the WAV files of an LJSpeech-style folder (wavs/
    or the folder itself), sorted by name; raises naming the folder when it holds none."""
    import soundfile as sf
    folder = Path(folder)
    files = sorted((folder / 'wavs').glob('*.wav')) or sorted(folder.glob('*.wav'))
    if not files:
        raise FileNotFoundError(f'{folder} holds no WAV files (nor does {folder / "wavs"}): set '
                                'LJSPEECH_DIR to a folder of speech recordings such as LJSpeech-1.1')
    out = []
    for path in files[:limit]:
        audio, rate = sf.read(path, dtype='float32', always_2d=True)
        audio = audio.mean(axis=1)
        if rate != sample_rate:
            import soxr
            audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
        out.append((path.name, audio))
    return out


def speech_stream(recordings, level, rng, gap_seconds=0.5):
    """Other speech (no command in it) end to end, each recording scaled to the commands' level
    (RMS `level`), with short pauses: a negative that holds near-misses."""
    pieces = []
    for _, audio in recordings:
        pieces.append(audio / max(rms(audio), 1e-6) * level)
        pieces.append(np.zeros(int(gap_seconds * SAMPLE_RATE), np.float32))
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


# --- the model over a stream -----------------------------------------------------------------------

def stream_windows(n_samples, hop_seconds=0.05):
    """Start samples of every one-second window hop_seconds apart."""
    hop = int(round(hop_seconds * SAMPLE_RATE))
    return np.arange(0, max(n_samples - CLIP_SAMPLES, -1) + 1, hop)


def posteriors(predict, audio, hop_seconds=0.05, chunk=512):
    """(the second at which each window ends, class probabilities (T, C)): predict(windows) is
    called on chunks of windows so that a long stream never sits in memory as windows."""
    starts = stream_windows(len(audio), hop_seconds)
    out = []
    for i in range(0, len(starts), chunk):
        windows = np.stack([audio[s:s + CLIP_SAMPLES] for s in starts[i:i + chunk]])
        out.append(np.asarray(predict(windows)))
    probs = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
    return (starts + CLIP_SAMPLES) / SAMPLE_RATE, probs


def smooth(probs, windows):
    """Causal moving average: each row the mean of itself and the windows-1 rows before it."""
    probs = np.asarray(probs, np.float64)
    if windows <= 1:
        return probs
    c = np.cumsum(np.vstack([np.zeros((1, probs.shape[1])), probs]), axis=0)
    idx = np.arange(1, len(probs) + 1)
    lo = np.maximum(idx - windows, 0)
    return (c[idx] - c[lo]) / (idx - lo)[:, None]


# --- detectors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Detector:
    """threshold: fire above it; rearm: re-arm a keyword only after its score fell below this
    (None: no hysteresis, a global refractory period instead, the legacy rule); margin: over the
    runner-up class; min_windows: consecutive windows above threshold; smooth: causal average
    over this many windows; refractory: seconds during which no keyword fires after a detection."""
    threshold: float = 0.5
    rearm: float | None = 0.3
    margin: float = 0.0
    min_windows: int = 1
    smooth: int = 1
    refractory: float = 0.0

    def describe(self):
        parts = [f'threshold {self.threshold:g}']
        parts.append('legacy: top class, 1 s shared refractory' if self.rearm is None
                     else f're-arm below {self.rearm:g} per keyword')
        if self.margin:
            parts.append(f'margin {self.margin:.2f}')
        if self.min_windows > 1:
            parts.append(f'{self.min_windows} windows')
        if self.smooth > 1:
            parts.append(f'average of {self.smooth}')
        if self.refractory and self.rearm is not None:
            parts.append(f'{self.refractory:g} s refractory')
        return ', '.join(parts)


def detect(times, probs, keyword_ids, detector: Detector):
    """[(time s, class)] detections of a stream's probabilities under a Detector."""
    p = smooth(probs, detector.smooth)
    if len(p) == 0:
        return []
    keyword_ids = list(keyword_ids)
    if detector.rearm is None:
        return detect_legacy(times, p, keyword_ids, detector.threshold, refractory=detector.refractory or 1.0)
    top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.hstack([np.zeros((len(p), 1)), p])
    out = []
    for k in keyword_ids:
        score = p[:, k]
        runner_up = np.where(np.isclose(top2[:, 1], score), top2[:, 0], top2[:, 1])
        above = (score >= detector.threshold) & (score - runner_up >= detector.margin)
        armed, run = True, 0
        for i in range(len(score)):
            if not armed:
                if score[i] < detector.rearm:
                    armed, run = True, 0
                continue
            run = run + 1 if above[i] else 0
            if run >= detector.min_windows:
                out.append((float(times[i]), k))
                armed, run = False, 0
    out.sort()
    if detector.refractory > 0:  # one detection per refractory period, of any keyword
        kept, last = [], -np.inf
        for t, k in out:
            if t - last >= detector.refractory:
                kept.append((t, k))
                last = t
        out = kept
    return out


def detect_legacy(times, smoothed, keyword_ids, threshold, refractory=1.0):
    """The first notebook version's rule: the top class, when a keyword above threshold, fires;
    one refractory period shared by all keywords; nothing else."""
    detections, last = [], -np.inf
    ids = set(keyword_ids)
    for t, p in zip(times, smoothed):
        best = int(np.argmax(p))
        if best in ids and p[best] >= threshold and t - last >= refractory:
            detections.append((float(t), best))
            last = t
    return detections


# --- scoring ------------------------------------------------------------------------------------

def score(detections, events, keyword_ids, before=0.0, after=0.75, clip_seconds=1.0):
    """Hits, misses and false alarms by kind. An event (start, class) of a keyword is found by a
    detection of its class between start + before and start + clip_seconds + after (the window
    ends there). A detection is a false alarm when it is a second one of a found command
    ('duplicate'), names another word inside a command's span or an unknown word ('wrong_word'),
    or falls between commands ('gap')."""
    keyword_ids = set(keyword_ids)
    spans = [(s + before, s + clip_seconds + after, c) for s, c in events]
    matched = [False] * len(events)
    counts = dict(hits=0, misses=0, wrong_word=0, duplicate=0, gap=0)
    for t, k in sorted(detections):
        inside = [i for i, (a, b, _) in enumerate(spans) if a <= t <= b]
        same = [i for i in inside if events[i][1] == k]
        free = [i for i in same if not matched[i]]
        if free:
            matched[free[0]] = True
        elif same:
            counts['duplicate'] += 1
        elif inside:
            counts['wrong_word'] += 1
        else:
            counts['gap'] += 1
    commands = [i for i, (_, c) in enumerate(events) if c in keyword_ids]
    counts['hits'] = sum(matched[i] for i in commands)
    counts['misses'] = len(commands) - counts['hits']
    counts['commands'] = len(commands)
    counts['false_alarms'] = counts['wrong_word'] + counts['duplicate'] + counts['gap']
    return counts


def wilson(k, n, z=1.96):
    """Wilson score interval (low, high) for k successes in n trials (95 % by default)."""
    if n <= 0:
        return float('nan'), float('nan')
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def per_hour(count, hours):
    """(rate per hour, 95 % upper bound): the bound is Poisson's exact one (3.0/hours at zero)."""
    if hours <= 0:
        return float('nan'), float('nan')
    return count / hours, poisson_upper95(count) / hours


def poisson_upper95(k):
    """One-sided 95 % upper confidence bound of a Poisson mean after k events (3.0 at k = 0)."""
    if k == 0:
        return -math.log(0.05)
    # chi-square quantile via the Wilson-Hilferty approximation: 0.5 * chi2(0.95, 2k + 2)
    dof = 2 * k + 2
    z = 1.6448536269514722
    return 0.5 * dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def summary_line(stream_seconds, snr, counts):
    """The line any Speech Commands folder can be scored from:
    'stream at 10 dB SNR: 900 s, 495 commands, 470 hits, 25 missed, 12 false alarms'."""
    where = 'clean' if snr in (None, 'clean') else f'{snr:g} dB SNR'
    return (f'stream at {where}: {stream_seconds:.0f} s, {counts["commands"]} commands, {counts["hits"]} hits, '
            f'{counts["misses"]} missed, {counts["false_alarms"]} false alarms')


@dataclass
class Scored:
    """One stream scored under one detector."""
    stream: Stream
    counts: dict

    @property
    def fa_per_hour(self):
        return self.counts['false_alarms'] / self.stream.hours


def evaluate(streams_probs, keyword_ids, detector):
    """[Scored] for [(Stream, times, probs)] under one detector."""
    out = []
    for stream, times, probs in streams_probs:
        detections = detect(times, probs, keyword_ids, detector)
        out.append(Scored(stream, score(detections, stream.events, keyword_ids)))
    return out


def pooled(scored):
    """Hits, commands, false alarms and hours summed over several scored streams."""
    hits = sum(s.counts['hits'] for s in scored)
    commands = sum(s.counts['commands'] for s in scored)
    alarms = sum(s.counts['false_alarms'] for s in scored)
    hours = sum(s.stream.hours for s in scored)
    return dict(hits=hits, commands=commands, false_alarms=alarms, hours=hours,
                hit_rate=hits / commands if commands else float('nan'),
                miss_rate=1 - hits / commands if commands else float('nan'),
                fa_per_hour=alarms / hours if hours else float('nan'))


def curve(streams_probs, keyword_ids, detectors):
    """[(detector, pooled figures)] of every detector over the streams: the miss rate against
    false alarms per hour (commands' streams and negatives pooled)."""
    return [(d, pooled(evaluate(streams_probs, keyword_ids, d))) for d in detectors]


def choose(points, budget_per_hour):
    """The point with the fewest misses within the false-alarm budget (ties: fewer false alarms);
    when none is within it, the one with the fewest false alarms."""
    within = [p for p in points if p[1]['fa_per_hour'] <= budget_per_hour]
    if within:
        return min(within, key=lambda p: (p[1]['miss_rate'], p[1]['fa_per_hour']))
    return min(points, key=lambda p: (p[1]['fa_per_hour'], p[1]['miss_rate']))
