"""Notebook 2, WaveGAN: the notebook's load_wavegan reads a TF1 checkpoint of the released form.

The released WaveGAN checkpoints cannot be downloaded here, so the test builds one of the same
form: a TF1 graph with a placeholder z:0 [None, 100], an output G_z:0 [None, 16384, 1] and
G_z_spec:0, weights saved with tf.compat.v1.train.Saver as <x>.ckpt.index/.data-00000-of-00001,
and the inference MetaGraph exported as <x>_infer.meta. The notebook's `load_wavegan` (its
files come from tts_data.wavegan_files) must restore it in a fresh graph and produce exactly what
the saved weights compute. The checks that need no TensorFlow are in tests/test_cookbook_tts_data.py.
"""
import numpy as np
import pytest

import cookbook

tf = pytest.importorskip('tensorflow')


@pytest.fixture(scope='module')
def load_wavegan():
    return cookbook.import_notebook_code('02_text_to_speech.ipynb', module_name='nb_tts_wavegan').load_wavegan


def generate(session, z, G_z, seed, n=2):
    """As the notebook feeds it: latent vectors drawn uniformly from [-1, 1]."""
    latents = np.random.default_rng(seed).uniform(-1, 1, size=(n, z.shape[-1])).astype(np.float32)
    return latents, session.run(G_z, {z: latents})[:, :, 0]

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


def test_loads_released_form_and_generates(checkpoint, load_wavegan):
    folder, weights = checkpoint
    session, z, G_z = load_wavegan(folder / 'model.ckpt', folder / 'model_infer.meta')
    try:
        assert z.name == 'z:0' and G_z.name == 'G_z:0' and z.shape[-1] == LATENT
        latents, waves = generate(session, z, G_z, seed=5)
    finally:
        session.close()
    assert waves.shape == (2, SAMPLES) and waves.dtype == np.float32
    assert SAMPLES / 16000 == pytest.approx(1.024)  # 16,384 samples: 1.02 s at 16 kHz, as the notebook says
    expected = np.tanh(np.maximum(latents @ weights['G/dense'], 0) @ weights['G/upsample'])
    np.testing.assert_allclose(waves, expected, atol=1e-4)  # the restored weights, not fresh ones
    assert np.abs(waves).max() > 0.01


def test_session_grows_gpu_memory_as_needed(checkpoint, load_wavegan):
    """TensorFlow must not grab the whole GPU: PyTorch (DC-TTS) runs in the same process."""
    folder, _ = checkpoint
    session, _, _ = load_wavegan(folder / 'model.ckpt', folder / 'model_infer.meta')
    try:
        assert session._config.gpu_options.allow_growth is True
    finally:
        session.close()


def test_restores_in_its_own_graph(checkpoint, load_wavegan):
    """Loading twice works: each model lives in its own tf.Graph (no default-graph clashes)."""
    folder, _ = checkpoint
    first = load_wavegan(folder / 'model.ckpt', folder / 'model_infer.meta')
    second = load_wavegan(str(folder / 'model.ckpt'), str(folder / 'model_infer.meta'))
    try:
        assert first[0].graph is not second[0].graph
        np.testing.assert_array_equal(generate(*first, seed=1)[1], generate(*second, seed=1)[1])
    finally:
        first[0].close()
        second[0].close()


def test_a_corrupt_checkpoint_is_an_error_naming_it(checkpoint, load_wavegan, tmp_path):
    """The notebook turns any loading error into a notice: the error must say what failed."""
    folder, _ = checkpoint
    (tmp_path / 'model_infer.meta').write_bytes(b'<html>not a graph</html>')
    with pytest.raises(Exception) as info:
        load_wavegan(folder / 'model.ckpt', tmp_path / 'model_infer.meta')
    assert 'model_infer.meta' in str(info.value)
