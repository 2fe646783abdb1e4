"""Unit tests of the `library` cells of notebooks/01_voice_commands.ipynb.

They import exactly the cells the notebook runs (cookbook.import_notebook_code) and check the
recipe port, the loading pipeline (cache, bad files, padding), the split and the task building.
"""
import os
import time

import numpy as np
import pytest
import soundfile as sf

import cookbook

SR = 16000


@pytest.fixture(scope='module')
def nb():
    return cookbook.import_notebook_code('01_voice_commands.ipynb', tag='library')


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


# --- the recipe's model -------------------------------------------------------------------

def test_recipe_model_has_the_books_parameter_count(nb):
    model = nb.create_model(['bed', 'bird', 'tree'])
    assert model.count_params() == 76103  # the book's summary: 76,103 (75,903 trainable)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 75903
    assert model.output_shape == (None, 3)
    # 219 steps after pooling is computed, not hard-coded: another input length still builds.
    short = nb.create_model(['a', 'b'], input_length=16000)
    assert short.get_layer(index=-2).output.shape[1] == ((16000 - 100 + 1) // 100) * 100


def test_recipe_model_with_two_layers_has_a_single_softmax(nb):
    import keras
    model = nb.create_model(['a', 'b', 'c', 'd'], nlayers=2)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 1 and model.output_shape == (None, 4)
    out = model.predict(np.zeros((2, 22050), np.float32), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_recipe_preprocess_clips(nb):
    import keras
    x = np.array([-100.0, -0.8, 6.2, 100.0], np.float32)
    y = keras.ops.convert_to_numpy(nb.preprocess(x))
    np.testing.assert_allclose(y, [-5.0, 0.0, 1.0, 5.0], rtol=1e-6)


def test_vectorize_directory_keeps_only_one_second_clips(nb, tmp_path):
    write_wav(tmp_path / 'bed' / 'a_nohash_0.wav', tone(1.0))
    write_wav(tmp_path / 'bed' / 'b_nohash_0.wav', tone(0.6))
    (tmp_path / 'bed' / 'c_nohash_0.wav').write_bytes(b'not audio at all')
    skipped = []
    features, labels, kept = nb.vectorize_directory(tmp_path / 'bed', 2, skipped=skipped)
    assert kept == ['a_nohash_0.wav'] and labels == [2]
    assert len(features) == 1 and len(features[0]) == 22050
    assert [name for name, _ in skipped] == ['c_nohash_0.wav']


# --- loading: bad files, padding, cache ------------------------------------------------------

def test_bad_files_are_named_and_counted_never_fatal(nb, tmp_path):
    good = write_wav(tmp_path / 'w' / 'good.wav', tone(1.0))
    short = write_wav(tmp_path / 'w' / 'short.wav', tone(0.5))
    long = write_wav(tmp_path / 'w' / 'long.wav', tone(1.5))
    write_wav(tmp_path / 'w' / 'rate.wav', tone(1.0, sr=8000), sr=8000)
    write_wav(tmp_path / 'w' / 'stereo.wav', np.stack([tone(), tone()], axis=1))
    write_wav(tmp_path / 'w' / 'float.wav', tone(1.0), subtype='FLOAT')  # decoded by soundfile
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
    clips, ok, report = nb.load_clips(tmp_path, rel, workers=2, chunk_size=3)
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


def test_native_rate_values_are_exact(nb, tmp_path):
    samples = (np.arange(SR) % 2000 - 1000).astype(np.int16)
    write_wav(tmp_path / 'x.wav', samples)
    clips, ok, _ = nb.load_clips(tmp_path, ['x.wav'])
    assert ok.all() and np.array_equal(clips[0], samples)


def test_cache_is_reused_and_invalidated_by_files_and_parameters(nb, tmp_path):
    data = make_layout(tmp_path / 'data', noise=False)
    cache = tmp_path / 'cache'
    rel = nb.list_clips(data, ['bed', 'bird'])
    first, _, r1 = nb.load_clips(data, rel, cache_dir=cache)
    assert not r1.from_cache and len(list(cache.glob('*.npz'))) == 1
    again, _, r2 = nb.load_clips(data, rel, cache_dir=cache)
    assert r2.from_cache and np.array_equal(first, again)

    # a file changes (new content, size and mtime): rebuilt, and the new content is returned
    changed = data / rel[0]
    write_wav(changed, tone(0.7, freq=1000))
    later = time.time() + 5
    os.utime(changed, (later, later))
    third, _, r3 = nb.load_clips(data, rel, cache_dir=cache)
    assert not r3.from_cache and not np.array_equal(third[0], first[0])
    assert r3.padded == 1

    # a parameter changes: rebuilt
    _, _, r4 = nb.load_clips(data, rel, cache_dir=cache, clip_samples=8000)
    assert not r4.from_cache
    # the file list changes: rebuilt
    _, _, r5 = nb.load_clips(data, rel[1:], cache_dir=cache)
    assert not r5.from_cache
    # nothing changed since the third call: reused, problems included
    _, _, r6 = nb.load_clips(data, rel, cache_dir=cache)
    assert r6.from_cache and r6.padded == 1
    assert not list(cache.glob('.*tmp'))  # no half-written cache files left


def test_cached_report_keeps_the_problems(nb, tmp_path):
    write_wav(tmp_path / 'a.wav', tone())
    (tmp_path / 'b.wav').write_bytes(b'')
    _, _, cold = nb.load_clips(tmp_path, ['a.wav', 'b.wav'], cache_dir=tmp_path / 'c')
    clips, ok, warm = nb.load_clips(tmp_path, ['a.wav', 'b.wav'], cache_dir=tmp_path / 'c')
    assert warm.from_cache and ok.tolist() == [True, False]
    assert [tuple(p) for p in warm.problems] == [tuple(p) for p in cold.problems]
    assert warm.counts()['empty'] == 1


# --- layout, split and tasks ---------------------------------------------------------------------

def test_split_follows_the_lists(nb, tmp_path):
    data = make_layout(tmp_path)
    task = nb.build_task(data, 'words', ['bed', 'bird'])
    testing = (data / 'testing_list.txt').read_text().split()
    validation = (data / 'validation_list.txt').read_text().split()
    assert sorted(task.files['test']) == sorted(testing)
    assert sorted(task.files['validation']) == sorted(validation)
    assert set(task.files['train']).isdisjoint(testing + validation)
    assert {nb.speaker_of(f) for f in task.files['test']} == {'aaaa1111'}
    assert [task.classes[i] for i in task.labels['test']] == [f.split('/')[0] for f in task.files['test']]


def test_shipped_sample_is_speaker_disjoint(nb):
    sample = cookbook.SAMPLES_DIR / 'speech_commands'
    task = nb.build_task(sample, 'all')
    speakers = {s: {nb.speaker_of(f) for f in task.files[s]} for s in task.files}
    assert speakers['train'].isdisjoint(speakers['test'])
    assert speakers['train'].isdisjoint(speakers['validation'])
    assert speakers['validation'].isdisjoint(speakers['test'])
    assert {'bed', 'bird', 'tree', *nb.KEYWORDS} <= set(task.classes)


def test_missing_word_folder_gives_a_clear_error(nb, tmp_path):
    data = make_layout(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        nb.build_task(data, 'words', ['bed', 'tree'])
    message = str(err.value)
    assert 'tree' in message and 'bed, bird' in message and 'SPEECH_COMMANDS_WORDS' in message
    with pytest.raises(FileNotFoundError, match='does not exist'):
        nb.build_task(tmp_path / 'nowhere', 'words', ['bed'])
    with pytest.raises(ValueError, match='unknown task'):
        nb.build_task(data, '7class')


def test_twelve_class_task(nb, tmp_path):
    words = tuple(nb.KEYWORDS) + ('bed', 'bird', 'tree', 'cat')
    data = make_layout(tmp_path, words=words)
    task = nb.build_task(data, '12class')
    assert task.classes == ['_silence_', '_unknown_'] + nb.KEYWORDS
    for split in ('train', 'validation', 'test'):
        labels = task.labels[split]
        per_keyword = np.sum(labels > 1) / 10
        assert np.sum(labels == 1) == int(np.ceil(per_keyword))  # unknown subsampled to one share
        assert task.silence[split] == int(np.ceil(per_keyword))
    data_arrays, report, noise_problems, parts = nb.load_task(data, task)
    x, y, names = data_arrays['test']
    assert np.sum(y == 0) == task.silence['test'] and len(x) == len(y) == len(names)
    assert not noise_problems and report.total == sum(len(f) for f in task.files.values())


# --- the improved model ----------------------------------------------------------------------

def test_log_mel_layer_puts_a_tone_in_the_right_band(nb):
    import keras
    layer = nb.LogMelSpectrogram()
    freq = 1000.0
    feats = keras.ops.convert_to_numpy(layer(tone(freq=freq)[None, :]))
    assert feats.shape == (1, 98, 40) and layer.compute_output_shape((None, 16000)) == (None, 98, 40)
    mel_edges = np.linspace(*[2595 * np.log10(1 + f / 700) for f in (20.0, 7600.0)], 42)
    expected_band = np.searchsorted(mel_edges, 2595 * np.log10(1 + freq / 700)) - 1
    assert abs(int(np.median(feats[0].argmax(axis=1))) - expected_band) <= 1


def test_dscnn_is_small_and_trains(nb):
    model = nb.create_dscnn(12)
    assert model.output_shape == (None, 12)
    assert 15000 < model.count_params() < 40000
    rng = np.random.default_rng(0)
    x = np.stack([tone(freq=f) for f in (300, 2000) * 8]) + 0.01 * rng.standard_normal((16, SR)).astype(np.float32)
    y = np.array([0, 1] * 8)
    model, history = nb.train_dscnn((x * 32767).astype(np.int16), y, x[:4], y[:4], 2, epochs=10,
                                    batch_size=8)
    acc, predicted = nb.accuracy(model, x, y)
    assert acc >= 0.8 and len(history.history["accuracy"]) == 10


def test_augmented_batches(nb):
    clips = (np.ones((10, SR)) * 1000).astype(np.int16)
    noise = [np.full(3 * SR, 0.5, np.float32)]
    data = nb.AugmentedClips(clips, np.arange(10), batch_size=4, noise_parts=noise, noise_prob=1.0,
                             max_noise=0.3, max_shift=1600, seed=1)
    assert len(data) == 3
    x, y = data[0]
    assert x.shape == (4, SR) and x.dtype == np.float32 and np.all(np.abs(x) <= 1.0)
    assert not np.allclose(x, 1000 / 32768)  # shifted and/or noisy
    seen = np.concatenate([data[i][1] for i in range(len(data))])
    assert sorted(seen.tolist()) == list(range(10))


def test_tflite_export_matches_keras(nb, tmp_path):
    model = nb.create_dscnn(3, width=8, blocks=1)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((3, SR))).astype(np.float32)
    path = nb.export_tflite(model, tmp_path / 'm.tflite')
    interpreter, runtime = nb.tflite_interpreter(path)
    probs, latency = nb.tflite_predict(interpreter, x)
    np.testing.assert_allclose(probs, model.predict(x, verbose=0), atol=1e-4)
    assert latency > 0 and runtime in ('ai_edge_litert', 'tf.lite.Interpreter')
    assert not list(tmp_path.glob('*.partial'))
