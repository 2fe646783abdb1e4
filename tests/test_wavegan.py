"""Notebook 2, WaveGAN: cookbook.tts_data.WaveGAN reads a TF1 checkpoint of the released form.

The released WaveGAN checkpoints cannot be downloaded here, so the test builds one of the same
form: a TF1 graph with a placeholder z:0 [None, 100], an output G_z:0 [None, 16384, 1] and
G_z_spec:0, weights saved with tf.compat.v1.train.Saver as <x>.ckpt.index/.data-00000-of-00001,
and the inference MetaGraph exported as <x>_infer.meta. tts_data.WaveGAN (which the notebook uses
through tts_data.load_wavegan) must restore it in a fresh graph and produce exactly what the saved
weights compute. The checks that need no TensorFlow are in tests/test_cookbook_tts_data.py.
"""
import numpy as np
import pytest

from cookbook import tts_data

tf = pytest.importorskip('tensorflow')

LATENT, SAMPLES, HIDDEN = 100, 16384, 64


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp('wavegan')
    rng = np.random.default_rng(0)
    weights = {'G/dense': rng.normal(size=(LATENT, HIDDEN)).astype(np.float32),
               'G/upsample': rng.normal(size=(HIDDEN, SAMPLES)).astype(np.float32) * 0.05}
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, LATENT], name='z')
        with tf.compat.v1.variable_scope('G'):
            # Zero initialisers: only a real restore gives the saved (random) weights back.
            dense = tf.compat.v1.get_variable('dense', [LATENT, HIDDEN], initializer=tf.zeros_initializer())
            upsample = tf.compat.v1.get_variable('upsample', [HIDDEN, SAMPLES], initializer=tf.zeros_initializer())
        hidden = tf.nn.relu(tf.matmul(z, dense))
        G_z = tf.identity(tf.tanh(tf.matmul(hidden, upsample))[:, :, None], name='G_z')
        frames = tf.signal.stft(G_z[:, :, 0], frame_length=256, frame_step=128)
        tf.identity(tf.math.log(tf.abs(frames) + 1e-6), name='G_z_spec')
        saver = tf.compat.v1.train.Saver([dense, upsample])
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run([dense.assign(weights['G/dense']), upsample.assign(weights['G/upsample'])])
            saver.save(session, str(folder / 'model.ckpt'), write_meta_graph=False)
        tf.compat.v1.train.export_meta_graph(str(folder / 'model_infer.meta'), graph=graph)
    assert (folder / 'model.ckpt.index').is_file() and (folder / 'model.ckpt.data-00000-of-00001').is_file()
    return folder, weights


def test_loads_released_form_and_generates(checkpoint):
    folder, weights = checkpoint
    wavegan = tts_data.WaveGAN(folder / 'model.ckpt', folder / 'model_infer.meta')
    try:
        assert wavegan.latent_dim == LATENT
        waves = wavegan.generate(2, seed=5)
    finally:
        wavegan.close()
    assert waves.shape == (2, SAMPLES) and waves.dtype == np.float32
    assert SAMPLES / 16000 == pytest.approx(1.024)  # 16,384 samples: 1.02 s at 16 kHz, as the notebook says
    z = np.random.default_rng(5).uniform(-1, 1, size=(2, LATENT)).astype(np.float32)
    expected = np.tanh(np.maximum(z @ weights['G/dense'], 0) @ weights['G/upsample'])
    np.testing.assert_allclose(waves, expected, atol=1e-4)  # the restored weights, not fresh ones
    assert np.abs(waves).max() > 0.01


def test_session_grows_gpu_memory_as_needed(checkpoint):
    """TensorFlow must not grab the whole GPU: PyTorch (DC-TTS) runs in the same process."""
    folder, _ = checkpoint
    wavegan = tts_data.WaveGAN(folder / 'model.ckpt', folder / 'model_infer.meta')
    try:
        assert wavegan.session._config.gpu_options.allow_growth is True
    finally:
        wavegan.close()


def test_restores_in_its_own_graph(checkpoint):
    """Loading twice works: each model lives in its own tf.Graph (no default-graph clashes)."""
    folder, _ = checkpoint
    first = tts_data.WaveGAN(folder / 'model.ckpt', folder / 'model_infer.meta')
    second = tts_data.WaveGAN(folder / 'model.ckpt', folder / 'model_infer.meta')
    try:
        a = first.generate(1, seed=1)
        b = second.generate(1, seed=1)
        np.testing.assert_array_equal(a, b)
    finally:
        first.close()
        second.close()
