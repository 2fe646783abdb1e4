"""Unit tests of cookbook.speech_commands: layout, split, tasks, loading, cache, noise, streaming
recordings and decoding a WAV of your own voice."""
import os
import time

import numpy as np
import pytest
import soundfile as sf

import cookbook
from cookbook import kws_stream as ks
from cookbook import speech_commands as sc

SR = 16000


def write_wav(path, samples, sr=SR, subtype='PCM_16'):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, sr, subtype=subtype)
    return path


def tone(seconds=1.0, freq=440.0, sr=SR, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_layout(root, words=('bed', 'bird'), speakers=('aaaa1111', 'bbbb2222', 'cccc3333', 'dddd4444'),
                test_speakers=('aaaa1111',), validation_speakers=('bbbb2222',), noise=True):
    """A tiny Speech Commands layout: one clip per word and speaker, lists split by speaker."""
    testing, validation = [], []
    for w_index, word in enumerate(words):
        for s_index, speaker in enumerate(speakers):
            rel = f'{word}/{speaker}_nohash_0.wav'
            write_wav(root / rel, tone(freq=300 + 100 * w_index + 7 * s_index))
            if speaker in test_speakers:
                testing.append(rel)
            elif speaker in validation_speakers:
                validation.append(rel)
    (root / 'testing_list.txt').write_text('\n'.join(testing) + '\n')
    (root / 'validation_list.txt').write_text('\n'.join(validation) + '\n')
    if noise:
        rng = np.random.default_rng(0)
        write_wav(root / '_background_noise_' / 'white_noise.wav',
                  (0.1 * rng.standard_normal(5 * SR)).astype(np.float32))
    return root


# --- loading: bad files, padding, cache ------------------------------------------------------

def test_bad_files_are_named_and_counted_never_fatal(tmp_path):
    good = write_wav(tmp_path / 'w' / 'good.wav', tone(1.0))
    write_wav(tmp_path / 'w' / 'short.wav', tone(0.5))
    write_wav(tmp_path / 'w' / 'long.wav', tone(1.5))
    write_wav(tmp_path / 'w' / 'rate.wav', tone(1.0, sr=8000), sr=8000)
    write_wav(tmp_path / 'w' / 'stereo.wav', np.stack([tone(), tone()], axis=1))
    write_wav(tmp_path / 'w' / 'float.wav', tone(1.0), subtype='FLOAT')
    (tmp_path / 'w' / 'empty.wav').write_bytes(b'')
    (tmp_path / 'w' / 'garbage.wav').write_bytes(b'RIFX' + os.urandom(500))
    data = good.read_bytes()
    (tmp_path / 'w' / 'truncated.wav').write_bytes(data[:len(data) // 2])
    zero = bytearray(data[:44])  # a valid header whose data chunk is empty
    zero[40:44] = (0).to_bytes(4, 'little')
    (tmp_path / 'w' / 'nosamples.wav').write_bytes(bytes(zero))
    names = ['good', 'short', 'long', 'rate', 'stereo', 'float', 'empty', 'garbage',
             'truncated', 'nosamples', 'missing']
    rel = [f'w/{n}.wav' for n in names]
    clips, ok, report = sc.load_clips(tmp_path, rel, workers=2, chunk_size=3)
    assert clips.shape == (len(names), SR) and clips.dtype == np.int16
    assert dict(zip(names, ok.tolist())) == {
        'good': True, 'short': True, 'long': True, 'rate': False, 'stereo': False, 'float': True,
        'empty': False, 'garbage': False, 'truncated': False, 'nosamples': False, 'missing': False}
    kinds = {r.split('/')[1][:-4]: kind for r, kind, _ in report.problems}
    assert kinds == {'rate': 'wrong_rate', 'stereo': 'wrong_channels', 'empty': 'empty',
                     'garbage': 'corrupt', 'truncated': 'truncated', 'nosamples': 'empty',
                     'missing': 'corrupt'}
    assert report.counts() == {'corrupt': 2, 'empty': 2, 'truncated': 1, 'wrong_rate': 1,
                               'wrong_channels': 1}
    assert report.total == len(names) and report.padded == 1 and report.cropped == 1
    summary = report.summary()
    assert '4 of 11 clips usable' in summary and 'w/truncated.wav' in summary
    # short clip: its samples first, then zero padding; float WAV decoded to the same values
    assert np.all(clips[1, 8000:] == 0) and np.any(clips[1, :8000] != 0)
    np.testing.assert_allclose(clips[5], clips[0], atol=2)


def test_truncated_file_message_names_the_shortfall(tmp_path):
    data = write_wav(tmp_path / 'a.wav', tone(1.0)).read_bytes()
    (tmp_path / 'a.wav').write_bytes(data[:1000])
    with pytest.raises(sc.ClipProblem) as err:
        sc.read_clip(tmp_path / 'a.wav')
    assert err.value.kind == 'truncated' and '32000' in str(err.value)


def test_native_rate_values_are_exact(tmp_path):
    samples = (np.arange(SR) % 2000 - 1000).astype(np.int16)
    write_wav(tmp_path / 'x.wav', samples)
    clips, ok, _ = sc.load_clips(tmp_path, ['x.wav'])
    assert ok.all() and np.array_equal(clips[0], samples)


def test_plain_pcm16_fast_path_agrees_with_soundfile_and_hands_other_files_on(tmp_path):
    samples = (np.arange(SR) % 2000 - 1000).astype(np.int16)
    plain = write_wav(tmp_path / 'plain.wav', samples)
    rate, channels, audio = sc._read_plain_pcm16(plain)
    assert (rate, channels) == (SR, 1) and np.array_equal(audio[:, 0], sf.read(plain, dtype='int16')[0])
    # 24-bit, float and WAVE_FORMAT_EXTENSIBLE (in Python 3.11) are not the fast path's: soundfile reads them
    for name, subtype, fmt in (('pcm24', 'PCM_24', 'WAV'), ('float', 'FLOAT', 'WAV'), ('wavex', 'PCM_16', 'WAVEX')):
        path = tmp_path / f'{name}.wav'
        sf.write(path, samples / 32768, SR, subtype=subtype, format=fmt)
        if name != 'wavex':
            assert sc._read_plain_pcm16(path) is None
        np.testing.assert_allclose(sc.read_clip(path), samples, atol=1)
    data = plain.read_bytes()
    (tmp_path / 'cut.wav').write_bytes(data[:len(data) - 100])  # header promises more than it holds
    assert sc._read_plain_pcm16(tmp_path / 'cut.wav') is None


def test_cache_is_reused_and_invalidated_by_files_and_parameters(tmp_path):
    data = make_layout(tmp_path / 'data', noise=False)
    cache = tmp_path / 'cache'
    rel = sc.list_clips(data, ['bed', 'bird'])
    first, _, r1 = sc.load_clips(data, rel, cache_dir=cache)
    assert not r1.from_cache and len(list(cache.glob('*.npz'))) == 1
    again, _, r2 = sc.load_clips(data, rel, cache_dir=cache)
    assert r2.from_cache and np.array_equal(first, again)

    # a file changes (new content, size and mtime): rebuilt, and the new content is returned
    changed = data / rel[0]
    write_wav(changed, tone(0.7, freq=1000))
    later = time.time() + 5
    os.utime(changed, (later, later))
    third, _, r3 = sc.load_clips(data, rel, cache_dir=cache)
    assert not r3.from_cache and not np.array_equal(third[0], first[0])
    assert r3.padded == 1

    _, _, r4 = sc.load_clips(data, rel, cache_dir=cache, clip_samples=8000)  # a parameter changes
    assert not r4.from_cache
    _, _, r5 = sc.load_clips(data, rel[1:], cache_dir=cache)  # the file list changes
    assert not r5.from_cache
    _, _, r6 = sc.load_clips(data, rel, cache_dir=cache)  # nothing changed since the third call
    assert r6.from_cache and r6.padded == 1
    assert not list(cache.glob('.*tmp*'))  # no half-written cache files left


def test_cached_report_keeps_the_problems_and_a_broken_cache_is_rebuilt(tmp_path):
    write_wav(tmp_path / 'a.wav', tone())
    (tmp_path / 'b.wav').write_bytes(b'')
    _, _, cold = sc.load_clips(tmp_path, ['a.wav', 'b.wav'], cache_dir=tmp_path / 'c')
    clips, ok, warm = sc.load_clips(tmp_path, ['a.wav', 'b.wav'], cache_dir=tmp_path / 'c')
    assert warm.from_cache and ok.tolist() == [True, False]
    assert [tuple(p) for p in warm.problems] == [tuple(p) for p in cold.problems]
    assert warm.counts()['empty'] == 1
    [cache_file] = (tmp_path / 'c').glob('*.npz')
    cache_file.write_bytes(b'broken')
    with pytest.warns(UserWarning, match='rebuilding'):
        again, _, report = sc.load_clips(tmp_path, ['a.wav', 'b.wav'], cache_dir=tmp_path / 'c')
    assert not report.from_cache and np.array_equal(again, clips)


def test_as_float():
    x = sc.as_float(np.array([-32768, 0, 16384], np.int16))
    np.testing.assert_allclose(x, [-1.0, 0.0, 0.5])
    y = np.ones(3, np.float64)
    assert sc.as_float(y).dtype == np.float32 and sc.as_float(y) is not y


# --- layout, split and tasks ---------------------------------------------------------------------

def test_split_follows_the_lists(tmp_path):
    data = make_layout(tmp_path)
    task = sc.build_task(data, 'words', ['bed', 'bird'])
    testing = (data / 'testing_list.txt').read_text().split()
    validation = (data / 'validation_list.txt').read_text().split()
    assert sorted(task.files['test']) == sorted(testing)
    assert sorted(task.files['validation']) == sorted(validation)
    assert set(task.files['train']).isdisjoint(testing + validation)
    assert {sc.speaker_of(f) for f in task.files['test']} == {'aaaa1111'}
    assert [task.classes[i] for i in task.labels['test']] == [f.split('/')[0] for f in task.files['test']]


def test_missing_list_gives_a_clear_error(tmp_path):
    data = make_layout(tmp_path)
    (data / 'testing_list.txt').unlink()
    with pytest.raises(FileNotFoundError, match='testing_list.txt'):
        sc.build_task(data, 'words', ['bed', 'bird'])


def test_shipped_sample_is_speaker_disjoint():
    task = sc.build_task(sc.SAMPLE_DIR, 'all')
    speakers = {s: {sc.speaker_of(f) for f in task.files[s]} for s in task.files}
    assert speakers['train'].isdisjoint(speakers['test'])
    assert speakers['train'].isdisjoint(speakers['validation'])
    assert speakers['validation'].isdisjoint(speakers['test'])
    assert {'bed', 'bird', 'tree', *sc.KEYWORDS} <= set(task.classes)


def test_missing_word_folder_gives_a_clear_error(tmp_path):
    data = make_layout(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        sc.build_task(data, 'words', ['bed', 'tree'])
    message = str(err.value)
    assert 'tree' in message and 'bed, bird' in message and 'SPEECH_COMMANDS_WORDS' in message
    with pytest.raises(FileNotFoundError, match='does not exist'):
        sc.build_task(tmp_path / 'nowhere', 'words', ['bed'])
    with pytest.raises(ValueError, match='unknown task'):
        sc.build_task(data, '7class')
    with pytest.raises(ValueError, match='repeats'):
        sc.build_task(data, 'words', ['bed', 'bed'])
    # the 12-class task on a folder without the ten command words: skip the task, not the words
    with pytest.raises(FileNotFoundError) as err:
        sc.build_task(data, '12class')
    assert 'SPEECH_COMMANDS_TASK=none' in str(err.value) and 'SPEECH_COMMANDS_WORDS' not in str(err.value)


def test_word_lists_tolerate_spaces(tmp_path):
    assert sc.parse_words('bed, bird ,tree,') == ['bed', 'bird', 'tree']
    assert sc.parse_words([' bed', 'bird ']) == ['bed', 'bird']
    data = make_layout(tmp_path)
    assert sc.build_task(data, 'words', 'bed, bird').classes == ['bed', 'bird']


def test_twelve_class_task(tmp_path):
    words = tuple(sc.KEYWORDS) + ('bed', 'bird', 'tree', 'cat')
    data = make_layout(tmp_path, words=words)
    task = sc.build_task(data, '12class')
    assert task.classes == ['_silence_', '_unknown_'] + sc.KEYWORDS
    for split in sc.SPLITS:
        labels = task.labels[split]
        per_keyword = np.sum(labels > 1) / 10
        assert np.sum(labels == 1) == int(np.ceil(per_keyword))  # unknown subsampled to one share
        assert task.silence[split] == int(np.ceil(per_keyword))
    assert task.counts()['test']['_silence_'] == task.silence['test']
    data_arrays, report, noise_problems, parts = sc.load_task(data, task)
    x, y, names = data_arrays['test']
    assert np.sum(y == 0) == task.silence['test'] and len(x) == len(y) == len(names)
    assert not noise_problems and report.total == sum(len(f) for f in task.files.values())


def test_noise_parts_never_overlap_and_silence_comes_from_them():
    noise = {'n.wav': np.arange(10 * SR, dtype=np.float32)}
    parts = sc.split_noise(noise)
    assert [len(parts[s][0]) for s in sc.SPLITS] == [int(4.5 * SR), 2 * SR, int(3.5 * SR)]
    assert parts['validation'][0][0] == int(4.5 * SR) and parts['test'][0][0] == int(6.5 * SR)
    assert sc.NOISE_FRACTIONS == ks.NOISE_FRACTIONS  # the stream evaluation cuts at the same places
    silence = sc.make_silence(parts['test'], 3, np.random.default_rng(0))
    assert silence.shape == (3, SR)
    assert np.all(silence <= 10 * SR) and np.all(silence >= 0)
    assert not sc.make_silence([], 2, np.random.default_rng(0)).any()


# --- getting a copy ----------------------------------------------------------------------------

def test_find_dataset_uses_a_given_folder_or_the_sample(tmp_path, capsys):
    data = make_layout(tmp_path / 'copy')
    assert sc.find_dataset(data) == (data, False)
    with pytest.raises(FileNotFoundError, match='SPEECH_COMMANDS_DIR'):
        sc.find_dataset(tmp_path / 'nowhere')
    assert sc.find_dataset(None, fast=True) == (sc.SAMPLE_DIR, True)
    assert 'NOT comparable' in capsys.readouterr().out
    with pytest.raises(ValueError, match='v0.03'):
        sc.find_dataset(None, version='v0.03')


def test_find_dataset_falls_back_to_the_sample_offline(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    monkeypatch.setattr(cookbook.env, 'DATA_DIR', tmp_path)
    for version in sc.VERSIONS:
        assert sc.find_dataset(None, version=version) == (sc.SAMPLE_DIR, True)
        assert f'Could not get Speech Commands {version}' in capsys.readouterr().out
    assert cookbook.ASSETS['speech_commands_v0.02'].url.endswith('speech_commands_v0.02.tar.gz')


def test_find_dataset_falls_back_when_the_archive_cannot_be_extracted(monkeypatch, tmp_path, capsys):
    # An archive that passed the download checks but cannot be read (a copy put there by hand, say):
    # the notebook goes on with the sample, names the file, and leaves no half-extracted folder.
    bad = tmp_path / 'speech_commands_v0.01.tar.gz'
    bad.write_bytes(b'\x1f\x8b\x08\x00' + b'not really gzip' * 10)
    monkeypatch.setattr(cookbook.env, 'DATA_DIR', tmp_path)
    monkeypatch.setattr(sc, 'fetch_asset', lambda name: bad)
    assert sc.find_dataset(None, version='v0.01') == (sc.SAMPLE_DIR, True)
    out = capsys.readouterr().out
    assert 'Could not extract Speech Commands v0.01' in out and str(bad) in out and 'Delete that file' in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name]


# --- streaming ---------------------------------------------------------------------------------

def test_build_stream_places_the_clips_where_the_events_say():
    clips = np.stack([tone(freq=f) for f in (300, 600, 900)])
    noise = [np.random.default_rng(1).standard_normal(3 * SR).astype(np.float32)]
    audio, events = sc.build_stream(clips, [0, 1, 2], noise, n_commands=5, noise_level=0.01, seed=3)
    assert len(events) == 5 and audio.dtype == np.float32
    starts = [s for s, _ in events]
    assert all(b - a >= 1.0 + 1.0 - 1e-9 for a, b in zip(starts, starts[1:]))  # clip + gap
    for start, label in events:
        piece = audio[int(start * SR):int(start * SR) + SR]
        spectrum = np.abs(np.fft.rfft(piece))
        assert abs(spectrum.argmax() - (300, 600, 900)[label]) <= 2  # 1 Hz per bin
    assert 0.005 < np.std(audio[:int(starts[0] * SR)]) < 0.02  # the noise between commands
    with pytest.raises(ValueError):
        sc.build_stream(np.zeros((0, SR)), [], noise)


def test_score_detections():
    events = [(1.0, 2), (4.0, 3), (7.0, 2)]
    detections = [(1.5, 2), (1.7, 2), (4.6, 5), (7.2, 2), (10.0, 4)]
    assert sc.score_detections(detections, events) == (2, 1, 3)
    assert sc.score_detections([], events) == (0, 3, 0)


# --- your own voice ----------------------------------------------------------------------------

def test_decode_wav_any_rate_and_channels(tmp_path):
    stereo44 = np.stack([tone(2.5, 1000, 44100), tone(2.5, 1000, 44100)], axis=1)
    stereo44[: int(1.5 * 44100)] *= 0.01  # the loud part is the last second
    path = write_wav(tmp_path / 'mine.wav', stereo44, sr=44100)
    clip = sc.decode_wav(path)
    assert clip.shape == (SR,) and clip.dtype == np.float32
    assert np.mean(np.abs(clip[SR // 2:])) > 0.2  # it found the loud second
    same = sc.decode_wav(path.read_bytes())
    np.testing.assert_allclose(same, clip)
    short = sc.decode_wav(write_wav(tmp_path / 's.wav', tone(0.3)))
    assert short.shape == (SR,) and not short[int(0.3 * SR) + 1:].any()


def test_decode_wav_errors_name_the_source(tmp_path):
    (tmp_path / 'bad.wav').write_bytes(b'not a wav file')
    with pytest.raises(ValueError, match='bad.wav'):
        sc.decode_wav(tmp_path / 'bad.wav')
    with pytest.raises(ValueError, match='recorded bytes'):
        sc.decode_wav(b'\x00\x01')


def test_merge_splits_concatenates_clips_and_labels_and_names_bad_splits():
    data = {'train': (np.zeros((3, 4), np.int16), np.array([0, 1, 2]), ['a', 'b', 'c']),
            'validation': (np.ones((2, 4), np.int16), np.array([2, 0]), ['d', 'e'])}
    clips, labels = sc.merge_splits(data, 'train', 'validation')
    assert clips.shape == (5, 4) and clips[3:].all() and not clips[:3].any()
    assert labels.tolist() == [0, 1, 2, 2, 0]
    with pytest.raises(ValueError, match="'tests'.*train, validation"):
        sc.merge_splits(data, 'train', 'tests')


def test_build_stream_without_commands_is_background_only():
    noise = [np.full(3 * SR, 0.5, np.float32), np.linspace(-1, 1, 2 * SR, dtype=np.float32)]
    audio, events = sc.build_stream(np.zeros((1, SR), np.int16), np.array([0]), noise, n_commands=0,
                                    gap_seconds=(7.0, 7.0), noise_level=0.05)
    assert events == [] and len(audio) == 7 * SR and audio.std() > 0.01


def test_int8_quantisation_round_trips_within_half_a_step_and_clips():
    scale, zero = 0.05, -10
    values = np.array([-5.9, -1.0, 0.0, 0.52, 5.85])
    q = sc.to_int8(values, (scale, zero))
    assert q.dtype == np.int8 and q.tolist() == [-128, -30, -10, 0, 107]
    inside = np.abs(values) < 5.8
    assert np.all(np.abs(sc.from_int8(q, (scale, zero))[inside] - values[inside]) <= scale / 2 + 1e-6)
    assert sc.to_int8([100.0], (scale, zero)).tolist() == [127]  # beyond the range: clipped
    with pytest.raises(ValueError, match='scale 0'):
        sc.to_int8(values, (0.0, 0))


def test_time_budget_stops_training_before_an_epoch_that_would_overrun():
    import keras
    now = [0.0]

    class OneSecondEpochs(keras.callbacks.Callback):  # a clock that advances 1 s per epoch
        def on_epoch_end(self, epoch, logs=None):
            now[0] += 1.0

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer='sgd', loss='mse')
    x, y = np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)
    budget = sc.time_budget(2.5, clock=lambda: now[0])  # room for two epochs, not a third
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[OneSecondEpochs(), budget])
    assert len(history.history['loss']) == budget.epochs_run == 2 and budget.seconds_used == 2.0
    tight = sc.time_budget(0.1, clock=lambda: now[0])  # one epoch always runs
    assert len(model.fit(x, y, epochs=5, verbose=0, callbacks=[OneSecondEpochs(), tight]).history['loss']) == 1
    unlimited = sc.time_budget(1e9)
    assert len(model.fit(x, y, epochs=3, verbose=0, callbacks=[unlimited]).history['loss']) == 3


def test_subsample_keeps_order_and_pairs_and_all_when_n_is_none():
    clips, labels = np.arange(10)[:, None] * np.ones((1, 4), np.int16), np.arange(10)
    x, y = sc.subsample(clips, labels, 4, seed=1)
    assert len(y) == 4 and list(y) == sorted(y) and np.all(x[:, 0] == y)
    assert sc.subsample(clips, labels, None)[1] is labels and sc.subsample(clips, labels, 99)[1] is labels
    with pytest.raises(ValueError, match='at least one'):
        sc.subsample(clips, labels, 0)


def test_build_stream_keeps_the_recordings_level_when_noise_level_is_none():
    noise = [np.full(2 * SR, 0.003, np.float32)]
    audio, _ = sc.build_stream(np.zeros((1, SR), np.int16), np.array([0]), noise, n_commands=0,
                               gap_seconds=(3.0, 3.0), noise_level=None)
    np.testing.assert_allclose(audio, 0.003)
    louder, _ = sc.build_stream(np.zeros((1, SR), np.int16), np.array([0]),
                                [np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32) * 0.003],
                                n_commands=0, gap_seconds=(3.0, 3.0), noise_level=0.05)
    assert abs(float(np.std(louder)) - 0.05) < 0.005
