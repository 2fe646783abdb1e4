"""Unit tests of cookbook.kws_stream: noise split and tracks, stream-like training examples,
streams, the detector and the scoring that counts every false alarm."""
import numpy as np
import pytest

from cookbook import kws_stream as ks

SR = ks.SAMPLE_RATE


def noises(seconds=(10.0, 6.0), seed=0):
    rng = np.random.default_rng(seed)
    return {f'n{i}.wav': (0.01 * (i + 1) * rng.standard_normal(int(s * SR))).astype(np.float32)
            for i, s in enumerate(seconds)}


# --- noise ----------------------------------------------------------------------------------------

def test_split_noise_by_time_is_disjoint_and_unit_rms():
    parts = ks.split_noise_by_time(noises())
    assert [len(parts[s]) for s in ks.SPLITS] == [2, 2, 2]
    # 10 s recording: 4.5 s, 2 s, 3.5 s
    assert [len(a) for _, a in parts['train']][0] == int(10 * SR * 0.45)
    assert ks.seconds_of(parts['test']) == pytest.approx(3.5 + 6 * 0.35, abs=1e-3)
    for split in ks.SPLITS:
        for _, a in parts[split]:
            assert ks.rms(a) == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match='sum to 1'):
        ks.split_noise_by_time(noises(), fractions=(0.5, 0.5, 0.5))


def test_noise_track_uses_each_sample_once_and_refuses_to_loop():
    rng = np.random.default_rng(0)
    stretches = [('a', np.arange(1, 1001, dtype=np.float32)), ('b', -np.arange(1, 501, dtype=np.float32))]
    track, passes = ks.noise_track(stretches, 1500, rng)
    assert passes == 1
    assert sorted(track.tolist()) == sorted(np.concatenate([s for _, s in stretches]).tolist())
    with pytest.raises(ValueError, match='available'):
        ks.noise_track(stretches, 1501, rng)
    track, passes = ks.noise_track(stretches, 4000, rng, allow_reuse=True)
    assert passes == 3 and np.all(track != 0)


def test_noise_gain_sets_the_snr():
    speech = 0.1
    for snr in (20, 10, 5):
        assert 20 * np.log10(speech / ks.noise_gain(speech, snr)) == pytest.approx(snr)
    assert ks.noise_gain(speech, 'clean') == 0.0


# --- training examples ---------------------------------------------------------------------------

def word_clips(n=6, seed=0):
    """Clips with a 300 ms burst of tone in the middle (a 'word'), labels 2.. of a 12-class task."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, SR), np.float32)
    t = np.arange(int(0.3 * SR)) / SR
    for i in range(n):
        x[i, 5000:5000 + len(t)] = 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t)
    return (x * 32767).astype(np.int16), np.arange(n) % 10 + 2


def test_stream_examples_fill_with_noise_not_zeros_and_make_negatives():
    clips, labels = word_clips()
    parts = ks.split_noise_by_time(noises())
    maker = ks.StreamExamples(clips, labels, parts['train'], silence=0, unknown=1, p_clean=0.0)
    rng = np.random.default_rng(1)
    seen = {'command': 0, 'silence': 0, 'unknown': 0}
    for _ in range(300):
        i = int(rng.integers(len(labels)))
        x, y = maker.example(i, rng)
        assert x.shape == (SR,) and x.dtype == np.float32
        # never a stretch of digital zeros where the shift moved the word
        assert np.mean(x[:1600] == 0) < 0.01 and np.mean(x[-1600:] == 0) < 0.01
        seen['silence' if y == 0 else 'unknown' if y == 1 else 'command'] += 1
        if y > 1:
            assert y == labels[i]
    assert seen['silence'] > 10 and seen['unknown'] > 10 and seen['command'] > 200


@pytest.mark.parametrize('max_shift', [None, 0.3])
def test_stream_examples_shift_up_to_max_shift(max_shift):
    """Shifts fill the range up to max_shift (default 150 ms) on both sides, never beyond it."""
    clips, labels = word_clips(1)
    parts = ks.split_noise_by_time(noises())
    options = {} if max_shift is None else dict(max_shift=max_shift)
    maker = ks.StreamExamples(clips, labels, parts['train'], silence=0, unknown=1, p_silence=0, p_partial=0,
                              p_clean=1.0, gain_db=0, **options)
    bound = 0.15 if max_shift is None else max_shift
    rng = np.random.default_rng(0)
    onsets = []
    for _ in range(200):
        x, _ = maker.example(0, rng)
        onsets.append(ks.active_span(x)[0])
    shift = (np.array(onsets) - 5000) / SR
    assert shift.min() < -0.66 * bound and shift.max() > 0.66 * bound and np.abs(shift).max() <= bound + 0.02


def test_clean_examples_keep_a_room_floor_and_batches_are_one_hot():
    clips, labels = word_clips()
    parts = ks.split_noise_by_time(noises())
    maker = ks.StreamExamples(clips, labels, parts['train'], silence=0, unknown=1)
    x, y = maker.batches(12, batch_size=4, seed=0)[0]
    assert x.shape == (4, SR) and y.shape == (4, 12) and np.allclose(y.sum(1), 1)
    with pytest.raises(ValueError, match='noise'):
        ks.StreamExamples(clips, labels, [], silence=0, unknown=1)


def test_active_span_finds_the_word():
    x = np.zeros(SR, np.float32)
    x[4000:8000] = 0.5
    start, end = ks.active_span(x)
    assert abs(start - 4000) <= 320 and abs(end - 8000) <= 320


# --- streams ---------------------------------------------------------------------------------------

def test_command_stream_uses_every_clip_once_at_its_event():
    clips, labels = word_clips(8)
    audio, events, level = ks.command_stream(clips, labels, np.random.default_rng(0))
    assert len(events) == 8 and sorted(c for _, c in events) == sorted(labels.tolist())
    starts = [s for s, _ in events]
    gaps = np.diff(starts) - 1.0
    assert np.all(gaps >= 0.5 - 1e-3) and np.all(gaps <= 1.5 + 1e-3)
    for start, c in events:
        i = int(round(start * SR))
        j = list(labels).index(c)
        np.testing.assert_allclose(audio[i:i + SR], clips[j] / 32768.0, atol=1e-6)
    assert level > 0


def test_with_noise_sets_level_and_reports_passes():
    clips, labels = word_clips(4)
    audio, events, level = ks.command_stream(clips, labels, np.random.default_rng(0))
    parts = ks.split_noise_by_time(noises((40.0,)))
    noisy, seconds, passes = ks.with_noise(audio, parts['test'], level, 10, np.random.default_rng(0))
    assert passes == 1 and seconds == pytest.approx(len(audio) / SR)
    assert ks.rms(noisy - audio) == pytest.approx(level / np.sqrt(10), rel=0.05)
    same, seconds, passes = ks.with_noise(audio, parts['test'], level, 'clean', np.random.default_rng(0))
    assert passes == 0 and np.array_equal(same, audio)


def test_evaluation_streams_hold_every_snr_and_noise_alone_once():
    clips, labels = word_clips(8)
    labels[0] = 0  # a silence clip: left out
    parts = ks.split_noise_by_time(noises((30.0, 20.0)))
    streams = ks.evaluation_streams(clips, labels, parts['validation'], seed=0, skip=[0])
    assert [(s.kind, s.snr) for s in streams] == [('commands', snr) for snr in ks.SNRS] + [('noise', 10)]
    assert all(len(s.events) == 7 for s in streams[:4]) and streams[0].noise_passes == 0
    assert streams[-1].noise_passes == 1 and streams[-1].seconds == pytest.approx(ks.seconds_of(parts['validation']))
    assert len(ks.evaluation_streams(clips, labels, parts['test'], max_commands=3)[0].events) == 3


def test_load_speech_resamples_and_names_an_empty_folder(tmp_path):
    import soundfile as sf
    (tmp_path / 'wavs').mkdir()
    sf.write(tmp_path / 'wavs' / 'a.wav', np.zeros(22050, np.float32), 22050)
    out = ks.load_speech(tmp_path)
    assert out[0][0] == 'a.wav' and len(out[0][1]) == SR
    with pytest.raises(FileNotFoundError, match='LJSPEECH_DIR'):
        ks.load_speech(tmp_path / 'wavs' / 'nothing')


def test_posteriors_cover_the_stream_at_the_hop():
    audio = np.zeros(3 * SR, np.float32)
    times, probs = ks.posteriors(lambda w: np.ones((len(w), 3)) / 3, audio, hop_seconds=0.05, chunk=7)
    assert len(times) == 41 and probs.shape == (41, 3)
    assert times[0] == pytest.approx(1.0) and times[-1] == pytest.approx(3.0)


# --- detector ------------------------------------------------------------------------------------

def bump(n, at, width, height, classes=4, k=2, base=None):
    """Probabilities (n, classes): class 0 everywhere, class k at `height` for `width` windows."""
    p = np.zeros((n, classes))
    p[:, 0] = 1.0
    for a in np.atleast_1d(at):
        p[a:a + width, k] = height
        p[a:a + width, 0] = 1 - height
    return p


def test_hysteresis_fires_once_per_rise_and_rearms_after_a_fall():
    times = np.arange(100) * 0.05
    p = bump(100, [10, 60], 20, 0.9)
    p[20, 2], p[20, 0] = 0.55, 0.45  # a dip that stays above the re-arm level: no second detection
    d = ks.detect(times, p, [2, 3], ks.Detector(0.6, rearm=0.3))
    assert d == [(pytest.approx(0.5), 2), (pytest.approx(3.0), 2)]


def test_legacy_rule_repeats_a_long_word_and_blocks_the_next_one():
    times = np.arange(100) * 0.05
    p = bump(100, 10, 40, 0.9)
    legacy = ks.detect(times, p, [2, 3], ks.Detector(0.6, rearm=None))
    assert len(legacy) == 2  # 2 s above threshold, 1 s refractory: a duplicate
    assert len(ks.detect(times, p, [2, 3], ks.Detector(0.6, rearm=0.3))) == 1


def test_margin_and_minimum_windows():
    times = np.arange(50) * 0.05
    p = np.zeros((50, 4))
    p[:, 0] = 1.0
    p[10:20, 2], p[10:20, 3], p[10:20, 0] = 0.5, 0.45, 0.05  # close runner-up
    assert ks.detect(times, p, [2, 3], ks.Detector(0.4, rearm=0.2)) != []
    assert ks.detect(times, p, [2, 3], ks.Detector(0.4, rearm=0.2, margin=0.2)) == []
    q = bump(50, 10, 2, 0.9)  # two windows only
    assert ks.detect(times, q, [2], ks.Detector(0.5, rearm=0.2, min_windows=2)) != []
    assert ks.detect(times, q, [2], ks.Detector(0.5, rearm=0.2, min_windows=3)) == []


def test_smooth_is_causal():
    p = np.zeros((10, 2))
    p[5, 1] = 1.0
    s = ks.smooth(p, 3)
    assert np.all(s[:5, 1] == 0) and s[5, 1] == pytest.approx(1 / 3) and s[8, 1] == 0


# --- scoring -------------------------------------------------------------------------------------

def test_score_counts_every_kind_of_false_alarm():
    events = [(1.0, 2), (4.0, 3), (8.0, 1)]  # class 1: an unknown word in the stream
    detections = [(1.6, 2), (2.0, 2),        # hit, duplicate
                  (4.5, 2), (5.2, 3),        # wrong word inside the second command, then its hit
                  (8.5, 2),                  # a keyword on the unknown word
                  (6.9, 3)]                  # in a gap
    c = ks.score(detections, events, keyword_ids=[2, 3])
    assert (c['hits'], c['misses'], c['commands']) == (2, 0, 2)
    assert (c['duplicate'], c['wrong_word'], c['gap'], c['false_alarms']) == (1, 2, 1, 4)
    c = ks.score([], events, keyword_ids=[2, 3])
    assert (c['hits'], c['misses'], c['false_alarms']) == (0, 2, 0)


def test_wilson_and_poisson_bounds():
    low, high = ks.wilson(90, 100)
    assert 0.82 < low < 0.83 and 0.94 < high < 0.95
    assert ks.wilson(0, 10)[0] == 0.0
    rate, upper = ks.per_hour(0, 0.5)
    assert rate == 0 and upper == pytest.approx(3.0 / 0.5, rel=0.01)
    assert ks.poisson_upper95(5) == pytest.approx(10.51, abs=0.05)  # exact: 10.513


def test_summary_line_format():
    c = dict(commands=495, hits=470, misses=25, false_alarms=12)
    assert ks.summary_line(900.4, 10, c) == 'stream at 10 dB SNR: 900 s, 495 commands, 470 hits, 25 missed, 12 false alarms'
    assert ks.summary_line(900.4, 'clean', c).startswith('stream at clean: 900 s,')


def test_choose_keeps_the_budget():
    a, b, c = ks.Detector(0.5), ks.Detector(0.7), ks.Detector(0.9)
    points = [(a, dict(miss_rate=0.05, fa_per_hour=120)), (b, dict(miss_rate=0.1, fa_per_hour=50)),
              (c, dict(miss_rate=0.3, fa_per_hour=5))]
    assert ks.choose(points, 60)[0] is b
    assert ks.choose(points, 1)[0] is c  # none within: the fewest false alarms


def test_curve_pools_streams():
    times = np.arange(200) * 0.05
    p = bump(200, [25, 105], 10, 0.9)
    stream = ks.Stream(np.zeros(11 * SR, np.float32), [(0.5, 2), (4.5, 2)])
    noise = ks.Stream(np.zeros(3600 * SR // 100, np.float32), [], kind='noise')
    q = bump(200, [50], 10, 0.9)
    pts = ks.curve([(stream, times, p), (noise, times, q)], [2], [ks.Detector(0.5), ks.Detector(0.95)])
    first = pts[0][1]
    assert first['hits'] == 2 and first['false_alarms'] == 1
    assert first['hours'] == pytest.approx((11 + 36) / 3600)
    assert pts[1][1]['hits'] == 0
