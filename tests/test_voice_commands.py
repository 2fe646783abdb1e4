"""Unit tests of the `library` cells of notebooks/01_voice_commands.ipynb.

They import exactly the cells the notebook runs (cookbook.import_notebook_code) and check the
recipe port, the log-mel front end, SpecAugment and the other augmentation, the log-mel CNN (and
its depthwise-separable variant and the waveform variant) and its training, the 12-class
false-accept rate, TFLite export with quantisation (int8 input and output), the model trained for
a stream and its detector, and classifying a WAV of your own voice. The plumbing (loading, cache, split, tasks) is tested
through the package in test_cookbook_speech_commands.py.
"""
import numpy as np
import pytest
import soundfile as sf

import cookbook
from cookbook import speech_commands as sc

SR = 16000


@pytest.fixture(scope='module')
def nb():
    return cookbook.import_notebook_code('01_voice_commands.ipynb', tag='library')


def tone(seconds=1.0, freq=440.0, sr=SR, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tones(freqs, repeats, noise=0.01, seed=0):
    """Clips of pure tones (one class per frequency) with a little noise, and their labels."""
    rng = np.random.default_rng(seed)
    x = np.stack([tone(freq=f, amplitude=rng.uniform(0.2, 0.6)) for f in freqs] * repeats)
    x += noise * rng.standard_normal(x.shape).astype(np.float32)
    return x, np.array(list(range(len(freqs))) * repeats)


@pytest.fixture(scope='module')
def tone_model(nb):
    """A log-mel CNN trained (briefly) to tell a 300 Hz tone from a 2 kHz tone."""
    x, y = tones((300, 2000), 8)
    model, history = nb.train_cnn(((x * 32767).astype(np.int16), y), 2, epochs=10, batch_size=8,
                                  augment=False)
    return model, history


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
    (tmp_path / 'bed').mkdir()
    sf.write(tmp_path / 'bed' / 'a_nohash_0.wav', tone(1.0), SR, subtype='PCM_16')
    sf.write(tmp_path / 'bed' / 'b_nohash_0.wav', tone(0.6), SR, subtype='PCM_16')
    (tmp_path / 'bed' / 'c_nohash_0.wav').write_bytes(b'not audio at all')
    skipped = []
    features, labels, kept = nb.vectorize_directory(tmp_path / 'bed', 2, skipped=skipped)
    assert kept == ['a_nohash_0.wav'] and labels == [2]
    assert len(features) == 1 and len(features[0]) == 22050
    assert [name for name, _ in skipped] == ['c_nohash_0.wav']


# --- features ------------------------------------------------------------------------------

def test_log_mel_front_end_puts_a_tone_in_the_right_band_and_normalises(nb):
    import keras
    x, _ = tones((500, 1000, 3000), 4)
    mel, norm = nb.log_mel_front_end(x)
    features = keras.ops.convert_to_numpy(mel(x))
    assert features.shape == (12, 40, 101)  # (batch, bands, frames): centred 10 ms frames
    mel_edges = np.linspace(*[2595 * np.log10(1 + f / 700) for f in (20.0, 7600.0)], 42)
    for clip, freq in zip(features[:3], (500, 1000, 3000)):
        expected_band = np.searchsorted(mel_edges, 2595 * np.log10(1 + freq / 700)) - 1
        assert abs(int(np.median(clip.argmax(axis=0))) - expected_band) <= 1
    normalised = keras.ops.convert_to_numpy(norm(features))
    np.testing.assert_allclose(normalised.mean(axis=(0, 2)), 0, atol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=(0, 2)), 1, atol=1e-2)


def test_log_mel_features_of_a_clip_do_not_depend_on_its_batch(nb):
    import keras
    mel, _ = nb.log_mel_front_end(tones((500,), 2)[0])
    quiet, loud = 0.001 * tone(freq=700), tone(freq=3000, amplitude=0.9)
    alone = keras.ops.convert_to_numpy(mel(quiet[None]))
    together = keras.ops.convert_to_numpy(mel(np.stack([quiet, loud])))
    np.testing.assert_allclose(alone[0], together[0], atol=1e-3)


def test_keras_mel_spectrogram_matches_librosa(nb):
    """The Keras layer computes the same log-mel power as librosa with the HTK mel scale."""
    import keras
    import librosa
    mel, _ = nb.log_mel_front_end(tones((500,), 2)[0])
    x = tones((300, 1200, 4000), 1, noise=0.05)[0].sum(axis=0)
    ours = keras.ops.convert_to_numpy(mel(x[None]))[0]
    reference = librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=512, win_length=480, hop_length=160, window='hann', center=True,
        pad_mode='reflect', power=2.0, n_mels=40, fmin=20.0, fmax=7600.0, htk=True, norm=None)
    reference = 10 * np.log10(np.maximum(reference, 1e-6))
    assert ours.shape == reference.shape
    loud = reference > reference.max() - 40  # compare where there is energy
    assert np.median(np.abs(ours[loud] - reference[loud])) < 0.5  # dB


# --- augmentation ------------------------------------------------------------------------------

def test_spec_augment_masks_stripes_in_training_only(nb):
    import keras
    layer = nb.SpecAugment(time_masks=2, time_width=10, freq_masks=2, freq_width=5, seed=1)
    x = np.ones((16, 101, 40, 1), np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))[..., 0]
    assert y.shape == (16, 101, 40) and set(np.unique(y)) <= {0.0, 1.0}
    masked_frames = (y == 0).all(axis=2).sum(axis=1)   # whole frames blanked per example
    masked_bands = (y == 0).all(axis=1).sum(axis=1)    # whole bands blanked per example
    assert masked_frames.max() <= 20 and masked_bands.max() <= 10
    assert masked_frames.sum() > 0 and masked_bands.sum() > 0
    assert (y == 0).mean() < 0.5
    clone = nb.SpecAugment.from_config(layer.get_config())
    assert clone.time_width == 10 and clone.freq_masks == 2


def test_augment_shifts_with_silence_and_adds_noise(nb):
    rng = np.random.default_rng(0)
    clip = np.ones(SR, np.float32)
    nb.augment_clip(clip, rng, noise_parts=(), max_shift=1600)
    zeros = int((clip == 0).sum())
    assert 0 < zeros <= 1600 and (clip[:zeros] == 0).all() or (clip[-zeros:] == 0).all()
    noisy = nb.augment_clip(np.zeros(SR, np.float32), np.random.default_rng(1),
                       noise_parts=[np.ones(3 * SR, np.float32)], max_shift=0, noise_prob=1.0)
    assert 0 < noisy.max() <= 0.1 and np.allclose(noisy, noisy[0])


def test_training_batches_are_shuffled_augmented_and_one_hot(nb):
    clips = (np.ones((10, SR)) * 1000).astype(np.int16)
    batches = sc.training_batches(clips, np.arange(10) % 3, 3, batch_size=4, seed=1,
                                  augment=lambda clip, rng: nb.augment_clip(clip, rng, [np.full(3 * SR, 0.5, np.float32)],
                                                                       noise_prob=1.0))
    assert len(batches) == 3
    x, y = batches[0]
    assert x.shape == (4, SR) and x.dtype == np.float32 and np.all(np.abs(x) <= 1.0)
    assert not np.allclose(x, 1000 / 32768) and y.shape == (4, 3) and np.all(y.sum(axis=1) == 1)
    seen = np.concatenate([batches[i][1].argmax(axis=1) for i in range(len(batches))])
    assert sorted(seen.tolist()) == sorted((np.arange(10) % 3).tolist())
    first = batches.order.copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches.order)


# --- the log-mel CNN ------------------------------------------------------------------------------

def test_cnn_layers_and_its_separable_variant(nb):
    import keras
    front = nb.log_mel_front_end(tones((500,), 2)[0])
    model = nb.create_cnn(12, front)
    assert model.output_shape == (None, 12) and model.input_shape == (None, 16000)
    network = model.get_layer('network')
    kinds = [type(layer).__name__ for layer in network.layers]
    assert kinds.count('Conv2D') == 6 and kinds.count('MaxPooling2D') == 3 and 'SpecAugment' in kinds
    assert network.layers[-1].output.shape[-1] == 12
    assert 250_000 < network.count_params() < 320_000
    small = nb.create_cnn(12, front, separable=True, spec_augment=False)
    small_kinds = [type(layer).__name__ for layer in small.get_layer('network').layers]
    assert small_kinds.count('SeparableConv2D') == 4 and small_kinds.count('Conv2D') == 2
    assert 'SpecAugment' not in small_kinds
    assert small.get_layer('network').count_params() < network.count_params() / 4
    assert isinstance(model.get_layer('log_mel'), keras.layers.MelSpectrogram)


def test_cnn_trains_with_a_fixed_schedule_and_smoothed_targets(nb, tone_model):
    model, history = tone_model
    x, y = tones((300, 2000), 4, seed=5)
    assert float(np.mean(nb.predict_classes(model, x) == y)) >= 0.8
    assert len(history.history['accuracy']) == 10 and 'val_accuracy' not in history.history
    assert model.loss.label_smoothing == pytest.approx(0.1)
    assert type(model.optimizer).__name__ == 'Adam'
    # the cosine schedule has decayed to (almost) nothing by the last step
    assert float(model.optimizer.learning_rate) < 1e-4


def test_cnn_with_augmentation_trains(nb):
    x, y = tones((300, 2000), 6)
    noise = [0.05 * np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32)]
    model, _ = nb.train_cnn(((x * 32767).astype(np.int16), y), 2, epochs=10, noise_parts=noise,
                            batch_size=8, widths=(8, 8, 16, 16, 16, 16))
    assert float(np.mean(nb.predict_classes(model, x) == y)) >= 0.75


def test_waveform_variant_reads_raw_audio_through_learned_filters_and_reports_validation(nb):
    x, y = tones((300, 2000), 6)
    val_x, val_y = tones((300, 2000), 2, seed=9)
    model, history = nb.train_cnn(((x * 32767).astype(np.int16), y), 2, epochs=3, batch_size=8,
                                  validation=(val_x, val_y), features='waveform', augment=False,
                                  widths=(8, 8, 16, 16, 16, 16), verbose=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert 'MelSpectrogram' not in kinds and model.get_layer('learned_filters').kernel.shape == (480, 1, 40)
    assert model.get_layer('network').input_shape == (None, 40, 100)  # (bands, frames), as log-mel
    assert len(history.history['val_accuracy']) == 3 and model.output_shape == (None, 2)


def test_false_accept_rate(nb):
    classes = ['_silence_', '_unknown_', 'yes', 'no']
    y_true = np.array([0, 0, 1, 1, 2, 3])
    y_pred = np.array([0, 2, 1, 3, 3, 3])  # two of four negatives taken for keywords
    assert nb.false_accept_rate(y_true, y_pred, classes) == 0.5
    assert np.isnan(nb.false_accept_rate(np.array([2]), np.array([2]), classes))


# --- export, quantisation ---------------------------------------------------------------------

def test_tflite_float_and_quantised_models_match_keras(nb, tone_model, tmp_path):
    """The whole model converts in float (STFT inside); the network alone quantises, int8 with
    int8 input and output, and the quantised network on the float front end's features agrees
    with Keras."""
    import keras
    model, _ = tone_model
    x, y = tones((300, 2000), 4, seed=3)
    keras_probs = model.predict(x, verbose=0)
    front = keras.Model(model.input, model.get_layer('band_norm').output)
    features = front.predict(x, verbose=0)
    sizes = {}
    for quantize in (None, 'dynamic', 'int8'):
        part, inputs = (model, x) if quantize is None else (model.get_layer('network'), features)
        path = nb.to_tflite(part, tmp_path / f'{quantize}.tflite', quantize, representative=features)
        interpreter, runtime = sc.tflite_interpreter(path)
        io_types = (interpreter.get_input_details()[0]['dtype'], interpreter.get_output_details()[0]['dtype'])
        assert io_types == ((np.int8, np.int8) if quantize == 'int8' else (np.float32, np.float32))
        probs, latency = sc.tflite_predict(interpreter, inputs)
        sizes[quantize] = path.stat().st_size
        assert latency > 0 and runtime in ('ai_edge_litert', 'tf.lite.Interpreter')
        if quantize is None:
            np.testing.assert_allclose(probs, keras_probs, atol=1e-4)
            assert 'RFFT2D' in sc.tflite_ops(interpreter)  # the STFT is inside the model
        else:
            assert 'RFFT2D' not in sc.tflite_ops(interpreter)
            np.testing.assert_allclose(probs, keras_probs, atol=0.05)
    assert sizes['dynamic'] < sizes[None] and sizes['int8'] < sizes[None]
    assert not [p for p in tmp_path.iterdir() if p.suffix != '.tflite']  # nothing half-written


# --- streaming and your own voice ---------------------------------------------------------------

def test_stream_model_trains_on_stream_windows_without_label_smoothing(nb):
    """train_stream_model: 12 classes, silence and partial-word examples, scores that reach 1."""
    from cookbook import kws_stream as ks
    x, y = tones((300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900), 3, noise=0.0)
    x[:, :4000] = 0
    x[:, 12000:] = 0  # a 'word' in the middle of each clip
    classes = ['_silence_', '_unknown_'] + [f'w{i}' for i in range(10)]
    noise = ks.split_noise_by_time({'n.wav': 0.01 * np.random.default_rng(0).standard_normal(20 * SR)})
    model, history = nb.train_stream_model(((x * 32767).astype(np.int16), y + 2), classes, noise['train'], 2,
                                           batch_size=8, validation=((x * 32767).astype(np.int16)[:6], y[:6] + 2),
                                           verbose=0)
    assert model.output_shape == (None, 12) and len(history.history['loss']) == 2
    assert 'val_accuracy' in history.history
    assert model.loss.label_smoothing == 0.0


def test_detector_finds_tone_commands_in_a_stream(nb, tone_model):
    from cookbook import kws_stream as ks
    model, _ = tone_model
    x, y = tones((300, 2000), 3, noise=0.0, seed=7)
    audio, events, level = ks.command_stream(x, y, np.random.default_rng(0), gap_seconds=(1.0, 1.0))
    audio += 0.01 * np.random.default_rng(3).standard_normal(len(audio)).astype(np.float32)  # as in training
    predict = lambda w: model.predict(w, verbose=0)
    times, probs = ks.posteriors(predict, audio, hop_seconds=0.05)
    assert np.allclose(np.diff(times), 0.05)
    # the window that holds each command says its class
    for start, label in events:
        end = np.argmin(np.abs(times - (start + 1.0)))
        assert probs[end].argmax() == label
    # The tone model has no silence class; gate it by how much of the window holds a tone, so that
    # the scores fall between commands as a 12-class model's do, and the detector re-arms.
    def gated(windows):
        frames = windows.reshape(len(windows), -1, 320)
        covered = np.mean(np.sqrt(np.mean(frames ** 2, axis=2)) > 0.05, axis=1)[:, None]
        p = model.predict(windows, verbose=0) * covered
        return np.hstack([1 - covered, p])  # class 0: silence, classes 1-2: the tones
    times, probs = ks.posteriors(gated, audio, hop_seconds=0.05)
    shifted = [(start, label + 1) for start, label in events]
    detections = ks.detect(times, probs, [1, 2], ks.Detector(0.6, rearm=0.3, min_windows=2))
    counts = ks.score(detections, shifted, [1, 2])
    assert counts['hits'] == len(events) and counts['false_alarms'] == 0


def test_your_own_voice_wav_is_decoded_and_classified(nb, tone_model, tmp_path):
    model, _ = tone_model
    recording = np.concatenate([np.zeros(22050), tone(1.0, 2000, 44100), np.zeros(11025)])
    path = tmp_path / 'me.wav'
    sf.write(path, np.stack([recording, recording], axis=1), 44100)  # stereo, 44.1 kHz
    clip = sc.decode_wav(path)
    assert clip.shape == (SR,)
    assert model.predict(clip[None], verbose=0)[0].argmax() == 1  # the 2 kHz class


# --- the settings cell ----------------------------------------------------------------------------

def run_settings(monkeypatch, gpu, env=None):
    """Run the notebook's settings cell as it stands, with or without a GPU and with env settings."""
    import json
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / 'notebooks' / '01_voice_commands.ipynb'
    cells = json.loads(path.read_text())['cells']
    source = ''.join(next(c for c in cells if c.get('id') == 'settings')['source'])
    for name in ('COOKBOOK_FAST', 'SPEECH_COMMANDS_EPOCHS', 'SPEECH_COMMANDS_RECIPE_EPOCHS',
                 'SPEECH_COMMANDS_MAX_TRAIN', 'SPEECH_COMMANDS_WORDS', 'SPEECH_COMMANDS_TASK'):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cookbook, 'gpu_available', lambda: gpu)
    namespace = {'cookbook': cookbook}
    exec(source, namespace)
    return namespace


def test_settings_on_a_cpu_state_what_runs_and_keep_what_the_reader_set(monkeypatch, capsys):
    s = run_settings(monkeypatch, gpu=False)
    assert (s['EPOCHS'], s['RECIPE_EPOCHS'], s['MAX_TRAIN']) == (8, 1, 3000)
    out = capsys.readouterr().out
    assert '8 CNN epochs, 1 epoch(s) of the book' in out and 'at most 3,000' in out
    s = run_settings(monkeypatch, gpu=False, env={'SPEECH_COMMANDS_EPOCHS': '20', 'SPEECH_COMMANDS_RECIPE_EPOCHS': '8',
                                                  'SPEECH_COMMANDS_MAX_TRAIN': '0'})
    assert (s['EPOCHS'], s['RECIPE_EPOCHS'], s['MAX_TRAIN']) == (20, 8, None)  # never lowered
    out = capsys.readouterr().out
    assert '20 CNN epochs, 8 epoch(s) of the book' in out and 'all training clips' in out
    s = run_settings(monkeypatch, gpu=True)
    assert (s['EPOCHS'], s['RECIPE_EPOCHS'], s['MAX_TRAIN']) == (40, 30, None)
    assert 'No GPU' not in capsys.readouterr().out


def test_settings_words_tolerate_spaces(monkeypatch):
    assert run_settings(monkeypatch, gpu=True)['WORDS'] == ['bed', 'bird', 'tree']
    s = run_settings(monkeypatch, gpu=True, env={'SPEECH_COMMANDS_WORDS': 'yes, no ,up'})
    assert s['WORDS'] == ['yes', 'no', 'up']
