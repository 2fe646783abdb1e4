"""Notebook 2 (text to speech): the model code it shows and runs (cookbook/dctts.py and
cookbook/dctts_training.py), and that the notebook shows that code rather than a copy of it.

Covers loading checkpoints in the released format (whole pickled modules, legacy and zip, and the
repository's training-checkpoint dicts) key for key and output for output, refusing malicious
pickles, the key/shape mismatch report, incremental and batched decoding against the recipe's
loop, synthesis of long text and Griffin-Lim (training: test_cookbook_dctts_training.py). Text normalisation, checkpoint and dataset plumbing are tested through the package
(tests/test_cookbook_*.py). Everything runs on the CPU with random weights in about a minute.
"""
import ast
import json
import os
import shutil
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
import torch

import cookbook
from cookbook import checkpoints, dctts, dctts_training, tts_data, tts_text

SAMPLE_DIR = cookbook.SAMPLES_DIR / 'ljspeech'
GARDEN_PATH = ['The horse raced past the barn fell.', 'The old man the boat.',
               'Have the students who failed the exam take the supplementary.']


NOTEBOOK = cookbook.REPO_ROOT / 'notebooks' / '02_text_to_speech.ipynb'


@pytest.fixture(scope='module')
def nb():
    """The chapter's code as the notebook uses it: cookbook.dctts and cookbook.dctts_training."""
    return types.SimpleNamespace(**{**vars(dctts), **vars(dctts_training)})


def ids_of(nb, text):
    return tts_text.text_to_ids(tts_text.normalize_text(text).text)


# ----------------------------------------------------------------------------------------------
# Released checkpoint format: a throw-away `models` package pickled as a whole module
# ----------------------------------------------------------------------------------------------

# A small re-creation of the released repository's module tree (class names, attribute names,
# torch.nn.utils.weight_norm hooks), written for this test. Sizes come from `hp` in models/__init__.
RELEASED_PACKAGE = {
    '__init__.py': '''
        class hp:
            e, d, c, n_mels, n_fft = {e}, {d}, {c}, 80, 2048
        ''',
    'layers.py': '''
        import torch.nn as nn
        import torch.nn.functional as F

        class LayerNorm(nn.LayerNorm):
            def forward(self, x):
                return super().forward(x.permute(0, 2, 1)).permute(0, 2, 1)

        class C(nn.Module):
            def __init__(self, i, o, k, dil, causal=False, normalization='weight', nonlinearity='linear'):
                super().__init__()
                self.causal = causal
                self.padding = (k - 1) * dil if causal else (k - 1) * dil // 2
                self.conv = nn.Conv1d(i, o, k, padding=self.padding, dilation=dil)
                if normalization == 'weight':
                    self.conv = nn.utils.weight_norm(self.conv)
                elif normalization == 'layer':
                    self.layer_norm = LayerNorm(o)
                self.nonlinearity = nonlinearity
            def forward(self, x):
                y = self.conv(x)
                if self.causal and self.padding:
                    y = y[:, :, :-self.padding]
                if hasattr(self, 'layer_norm'):
                    y = self.layer_norm(y)
                return F.relu(y) if self.nonlinearity == 'relu' else y

        class D(nn.Module):
            def __init__(self, i, o, k, dil):
                super().__init__()
                self.deconv = nn.utils.weight_norm(nn.ConvTranspose1d(i, o, k, stride=2, dilation=dil))
            def forward(self, x):
                return self.deconv(x)

        class E(nn.Module):
            def __init__(self, n, e):
                super().__init__()
                self.embedding = nn.Embedding(n, e, padding_idx=0)
            def forward(self, x):
                return self.embedding(x)

        class GatedConvBlock(nn.Module):
            def __init__(self, d, k, dil, causal=False):
                super().__init__()
                self.C = C(d, 2 * d, k, dil, causal, normalization='layer')
                self.glu = nn.GLU(dim=1)
            def forward(self, x):
                return self.glu(self.C(x)) + x

        class ResidualBlock(nn.Module):
            def __init__(self, d, k, dil):
                super().__init__()
                self.C1 = C(d, d, k, dil, nonlinearity='relu')
                self.C2 = C(d, d, k, dil, nonlinearity='relu')
            def forward(self, x):
                return self.C2(self.C1(x)) + x
        ''',
    'text2mel.py': '''
        import math
        import torch
        import torch.nn as nn
        from . import hp
        from .layers import C, E, GatedConvBlock

        def conv(i, o, causal, nonlinearity='linear'):
            return C(i, o, 1, 1, causal, normalization='layer', nonlinearity=nonlinearity)

        class TextEnc(nn.Module):
            def __init__(self, n_vocab):
                super().__init__()
                d = hp.d
                self.d = d
                self.embedding = E(n_vocab, hp.e)
                self.layers = nn.Sequential(conv(hp.e, 2 * d, False, 'relu'), conv(2 * d, 2 * d, False),
                    *[GatedConvBlock(2 * d, 3, dil) for dil in (1, 3, 9, 27, 1, 3, 9, 27, 1, 1)],
                    GatedConvBlock(2 * d, 1, 1), GatedConvBlock(2 * d, 1, 1))
            def forward(self, L):
                out = self.layers(self.embedding(L).permute(0, 2, 1))
                return out[:, :self.d], out[:, self.d:]

        class AudioEnc(nn.Module):
            def __init__(self):
                super().__init__()
                d = hp.d
                self.layers = nn.Sequential(conv(hp.n_mels, d, True, 'relu'), conv(d, d, True, 'relu'),
                    conv(d, d, True),
                    *[GatedConvBlock(d, 3, dil, True) for dil in (1, 3, 9, 27, 1, 3, 9, 27, 3, 3)])
            def forward(self, S):
                return self.layers(S)

        class AudioDec(nn.Module):
            def __init__(self):
                super().__init__()
                d = hp.d
                self.layers = nn.Sequential(conv(2 * d, d, True),
                    *[GatedConvBlock(d, 3, dil, True) for dil in (1, 3, 9, 27, 1, 1)],
                    GatedConvBlock(d, 1, 1, True), conv(d, d, True, 'relu'), conv(d, hp.n_mels, True))
            def forward(self, R):
                return self.layers(R)

        class Text2Mel(nn.Module):
            def __init__(self, vocab):
                super().__init__()
                self.text_enc = TextEnc(len(vocab))
                self.audio_enc = AudioEnc()
                self.audio_dec = AudioDec()
            def forward(self, L, S):
                K, V = self.text_enc(L)
                Q = self.audio_enc(S)
                A = torch.softmax(torch.bmm(K.permute(0, 2, 1), Q) / math.sqrt(hp.d), dim=1)
                Y_logit = self.audio_dec(torch.cat((torch.bmm(V, A), Q), 1))
                return Y_logit, torch.sigmoid(Y_logit), A
        ''',
    'ssrn.py': '''
        import torch
        import torch.nn as nn
        from . import hp
        from .layers import C, D, ResidualBlock

        class SSRN(nn.Module):
            def __init__(self):
                super().__init__()
                c, f2 = hp.c, 1 + hp.n_fft // 2
                self.layers = nn.Sequential(C(hp.n_mels, c, 1, 1),
                    ResidualBlock(c, 3, 1), ResidualBlock(c, 3, 3),
                    D(c, c, 2, 1), ResidualBlock(c, 3, 1), ResidualBlock(c, 3, 3),
                    D(c, c, 2, 1), ResidualBlock(c, 3, 1), ResidualBlock(c, 3, 3),
                    C(c, 2 * c, 1, 1), ResidualBlock(2 * c, 3, 1), ResidualBlock(2 * c, 3, 1),
                    C(2 * c, f2, 1, 1), ResidualBlock(f2, 1, 1), C(f2, f2, 1, 1))
            def forward(self, x):
                Z_logit = self.layers(x)
                return Z_logit, torch.sigmoid(Z_logit)
        ''',
}


def _purge_models_package():
    for name in [n for n in sys.modules if n == 'models' or n.startswith('models.')]:
        del sys.modules[name]


def make_released_checkpoints(tmp_path, nb, e, d, c, zip_format=False, as_training_dict=False):
    """Write text2mel.pth and ssrn.pth in the released format; return them with reference outputs.

    By default whole pickled modules in the legacy (2018, non-zip) format; as_training_dict writes
    what the repository's utils.save_checkpoint writes ({'epoch', 'global_step', 'state_dict',
    'optimizer'})."""
    package_root = tmp_path / 'released_repo'
    (package_root / 'models').mkdir(parents=True)
    for name, source in RELEASED_PACKAGE.items():
        (package_root / 'models' / name).write_text(textwrap.dedent(source).format(e=e, d=d, c=c))
    sys.path.insert(0, str(package_root))
    _purge_models_package()
    try:
        import models.ssrn
        import models.text2mel
        torch.manual_seed(1)
        text2mel = models.text2mel.Text2Mel(nb.VOCAB).eval()
        ssrn = models.ssrn.SSRN().eval()
        with torch.no_grad():  # weight norm: make g differ from ||v|| so a wrong formula shows
            for name, p in ssrn.named_parameters():
                if name.endswith('weight_g'):
                    p.mul_(torch.rand_like(p) + 0.5)
        L = ids_of(nb, GARDEN_PATH[0])[None]
        S = torch.rand(1, 80, 7)
        with torch.no_grad():
            reference = {'text2mel': text2mel(L, S)[1], 'ssrn': ssrn(S)[1]}
        states = {'text2mel': text2mel.state_dict(), 'ssrn': ssrn.state_dict()}
        paths = {}
        for name, module in (('text2mel', text2mel), ('ssrn', ssrn)):
            paths[name] = tmp_path / f'{name}.pth'
            saved = module
            if as_training_dict:
                saved = {'epoch': 3, 'global_step': 300000, 'state_dict': module.state_dict(),
                         'optimizer': torch.optim.Adam(module.parameters()).state_dict()}
            torch.save(saved, paths[name], _use_new_zipfile_serialization=zip_format)
        return paths, (L, S), reference, states
    finally:
        sys.path.remove(str(package_root))
        _purge_models_package()
        shutil.rmtree(package_root)  # the original classes are gone when we load


def released_key(key):
    """Our parameter name -> the released file's (parametrizations.weight_norm -> weight_g/_v)."""
    return key.replace('.parametrizations.weight.original0', '.weight_g').replace(
        '.parametrizations.weight.original1', '.weight_v')


@pytest.mark.filterwarnings('ignore:.*weight_norm.*:FutureWarning')
@pytest.mark.parametrize('kind', ['legacy module', 'zip module', 'training dict'])
def test_released_format_loads_key_for_key(nb, tmp_path, kind):
    e, d, c = nb.hp.e, nb.hp.d, 64  # Text2Mel at the released size; a narrow SSRN keeps the test fast
    paths, (L, S), reference, states = make_released_checkpoints(
        tmp_path, nb, e, d, c, zip_format=kind == 'zip module', as_training_dict=kind == 'training dict')
    assert 'models' not in sys.modules
    if kind == 'legacy module':
        with open(paths['ssrn'], 'rb') as f:
            assert f.read(2) != b'PK'  # legacy (non-zip) format, as the released files
    models = {'text2mel': nb.Text2Mel(), 'ssrn': nb.SSRN(c=c)}
    for name, model in models.items():
        loaded = checkpoints.load_weights(model, paths[name])
        ours = {released_key(k): v for k, v in loaded.state_dict().items()}
        assert set(ours) == set(states[name])  # key for key
        for key, value in states[name].items():
            assert torch.equal(ours[key], value), key
    assert 'models' not in sys.modules  # nothing from the file was imported
    with torch.no_grad():
        y = models['text2mel'](L, S)[1]
        z = models['ssrn'](S)[1]
    assert (y - reference['text2mel']).abs().max() < 1e-5
    assert (z - reference['ssrn']).abs().max() < 1e-5  # parametrized weight norm == torch's weight_norm


def test_project_checkpoints_load_too(nb, tmp_path):
    """DCTTS_TEXT2MEL / DCTTS_SSRN may name this project's state dicts and training checkpoints."""
    torch.manual_seed(4)
    trained = nb.SSRN(c=16)
    optimizer = torch.optim.Adam(trained.parameters(), lr=1e-3)
    tts_data.save_training_state(tmp_path / 'ssrn-training.pt', trained, optimizer, 7, [0.5, 0.4], nb.hp)
    torch.save(trained.state_dict(), tmp_path / 'ssrn-state.pt')
    for name in ('ssrn-training.pt', 'ssrn-state.pt'):
        model = checkpoints.load_weights(nb.SSRN(c=16), tmp_path / name)
        for key, value in trained.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), key
    torch.save({'step': 3, 'losses': [0.1]}, tmp_path / 'no-weights.pt')
    with pytest.raises(ValueError, match=r"no-weights\.pt holds no model weights.*'model'"):
        checkpoints.load_weights(nb.SSRN(c=16), tmp_path / 'no-weights.pt')
    with pytest.raises(checkpoints.CheckpointMismatchError, match='ssrn-training.pt'):  # the wrong network
        checkpoints.load_weights(nb.Text2Mel(d=16, e=8), tmp_path / 'ssrn-training.pt')


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('zip_format', [False, True])
def test_malicious_pickle_is_refused(nb, tmp_path, zip_format):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': _Payload(marker)}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(cookbook.UnsafeCheckpointError, match='system'):
        checkpoints.load_weights(nb.SSRN(c=16), path)
    assert not marker.exists()


@pytest.mark.parametrize('zip_format', [False, True])
def test_module_class_outside_models_is_refused(nb, tmp_path, zip_format):
    """A whole-module pickle is only accepted for models.* (and torch.nn) classes."""
    package_root = tmp_path / 'elsewhere'
    (package_root / 'evilpkg').mkdir(parents=True)
    (package_root / 'evilpkg' / '__init__.py').write_text(
        'import torch.nn as nn\nclass Thing(nn.Module):\n    def __init__(self):\n'
        '        super().__init__()\n        self.lin = nn.Linear(2, 2)\n')
    sys.path.insert(0, str(package_root))
    try:
        import evilpkg
        torch.save(evilpkg.Thing(), tmp_path / 'thing.pth', _use_new_zipfile_serialization=zip_format)
    finally:
        sys.path.remove(str(package_root))
        sys.modules.pop('evilpkg', None)
    with pytest.raises(cookbook.UnsafeCheckpointError, match='evilpkg.Thing'):
        checkpoints.load_weights(nb.SSRN(c=16), tmp_path / 'thing.pth')


def test_mismatch_lists_what_differs(nb):
    model = nb.Text2Mel(d=16, e=8)
    state = dict(model.state_dict())
    del state['audio_dec.layers.0.conv.bias']
    state['text_enc.extra.weight'] = torch.zeros(3)
    state['audio_enc.layers.0.conv.weight'] = torch.zeros(16, 80, 3)
    with pytest.raises(checkpoints.CheckpointMismatchError) as info:
        checkpoints.load_weights(model, state, source='my.pth')
    message = str(info.value)
    assert 'my.pth' in message
    assert 'missing from the file (1): audio_dec.layers.0.conv.bias' in message
    assert 'unexpected in the file (1): text_enc.extra.weight' in message
    assert 'audio_enc.layers.0.conv.weight: checkpoint (16, 80, 3), model (16, 80, 1)' in message
    with pytest.raises(checkpoints.CheckpointMismatchError, match='SSRN'):  # the wrong network altogether
        checkpoints.load_weights(nb.SSRN(c=16), model.state_dict(), source='text2mel.pth')


# ----------------------------------------------------------------------------------------------
# Decoding
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def text2mel(nb):
    torch.manual_seed(0)
    return nb.Text2Mel().eval()  # released size, random weights


@pytest.mark.parametrize('width, steps, stop', [
    ('narrow', 80, False),   # past 2 x 27 frames: the dilation-27 caches are fully exercised
    ('released', 30, True),  # the released width, stopping at the end of the sentence
])
def test_incremental_equals_recipe_loop(nb, text2mel, width, steps, stop):
    if width == 'narrow':
        torch.manual_seed(3)
        text2mel = nb.Text2Mel(d=32, e=16).eval()
    ids = ids_of(nb, GARDEN_PATH[2])
    Y_recipe, A_recipe = nb.recipe_decode(text2mel, ids[None], max_T=steps, stop=stop)
    fast = nb.decode(text2mel, [ids], max_T=steps, stop=stop)[0]
    assert fast.mel.shape == Y_recipe[0].shape
    assert (fast.mel - Y_recipe[0]).abs().max().item() <= 1e-4
    assert (fast.alignment - A_recipe[0]).abs().max().item() <= 1e-4
    if not stop:
        assert fast.mel.shape[1] == steps + 1 and not fast.stopped


def test_batch_decoding_equals_single(nb, text2mel):
    texts = [ids_of(nb, s) for s in GARDEN_PATH]
    batch = nb.decode(text2mel, texts, max_T=50)
    assert len({len(t) for t in texts}) == 3  # really different lengths: padding is exercised
    for ids, together in zip(texts, batch):
        alone = nb.decode(text2mel, [ids], max_T=50)[0]
        assert together.mel.shape == alone.mel.shape and together.stopped == alone.stopped
        assert (together.mel - alone.mel).abs().max().item() <= 1e-5
        assert together.alignment.shape == (len(ids), alone.mel.shape[1] - 1)


def test_decoding_stops_at_end_of_sentence(nb):
    """Seeds chosen so that the random model's attention reaches E (seed 1) or never does (seed 2)."""
    ids = ids_of(nb, GARDEN_PATH[1])
    for seed, stops in ((1, True), (2, False)):
        torch.manual_seed(seed)
        model = nb.Text2Mel(d=32, e=16).eval()
        decoded = nb.decode(model, [ids], max_T=80)[0]
        Y, A = nb.recipe_decode(model, ids[None], max_T=80)
        assert decoded.stopped == stops
        assert decoded.mel.shape[1] == Y.shape[2] == (A.shape[2] + 1)
        assert (decoded.mel - Y[0]).abs().max().item() <= 1e-4
        if stops:
            assert Y.shape[2] < 81
            last = decoded.alignment[:, -1].argmax().item()
            assert ids[last] == nb.EOS  # the last step attended to the end-of-sentence symbol
            assert all(ids[i] != nb.EOS for i in decoded.alignment[:, :-1].argmax(0).tolist())
        else:
            assert Y.shape[2] == 81


def test_decoding_keeps_tensors_on_the_model_device(nb):
    """Everything the monotonic attention and the decoders create lives on the input's device.

    On the 'meta' device (shapes only, no data) torch refuses to mix in a CPU tensor exactly as it
    does with a CUDA one, so this finds a forgotten device= without a GPU. Early stopping needs real
    values, so the meta runs decode without it (test_cuda_synthesis covers it on a GPU).
    """
    with pytest.raises(RuntimeError, match='device'):  # the check itself: meta does catch a CPU tensor
        torch.zeros(3, device='meta') - torch.zeros(3)
    torch.manual_seed(0)
    model = nb.Text2Mel(d=16, e=8).eval().to('meta')
    ids = ids_of(nb, GARDEN_PATH[1])
    L = ids[None].to('meta')
    _, Y, A = model(L, torch.zeros(1, 80, 6, device='meta'), monotonic_attention=True)
    assert Y.device.type == A.device.type == 'meta' and A.shape == (1, len(ids), 6)
    logits = torch.zeros(2, 5, 4, device='meta')
    assert nb.apply_monotonic_attention(logits).device.type == 'meta'
    Y, A = nb.recipe_decode(model, L, max_T=4, stop=False)
    assert Y.device.type == 'meta' and Y.shape == (1, 80, 5)
    for texts in ([ids, ids[3:]], [ids.to('meta')]):  # CPU id tensors are moved to the model's device
        decoded = nb.decode(model, texts, max_T=4, stop=False)
        assert all(d.mel.device.type == d.alignment.device.type == 'meta' for d in decoded)
        assert decoded[0].mel.shape == (80, 5)
    assert nb.SSRN(c=16).to('meta')(decoded[0].mel[None])[1].device.type == 'meta'
    n_chars, n_frames = torch.tensor([4, 3], device='meta'), torch.tensor([6, 5], device='meta')
    assert nb.guided_attention_weights(n_chars, n_frames, 4, 6).device.type == 'meta'
    assert nb.guided_attention_loss(torch.zeros(2, 4, 6, device='meta'), n_chars, n_frames).device.type == 'meta'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_synthesis(nb):
    torch.manual_seed(1)
    text2mel, ssrn = nb.Text2Mel(d=32, e=16).eval().cuda(), nb.SSRN(c=16).eval().cuda()
    ids = ids_of(nb, GARDEN_PATH[1]).cuda()
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # the notebook's comparison
        Y, A = nb.recipe_decode(text2mel, ids[None], max_T=40)
        fast = nb.decode(text2mel, [ids], max_T=40)[0]
    assert fast.mel.is_cuda and fast.mel.shape == Y[0].shape
    assert (fast.mel - Y[0]).abs().max().item() <= 1e-4
    result = nb.synthesize(text2mel, ssrn, GARDEN_PATH[:2], n_iter=2)
    assert all(np.isfinite(r.wav).all() and r.wav.size for r in result)


def test_decode_with_a_limit_per_text(nb, text2mel):
    texts = [ids_of(nb, s) for s in GARDEN_PATH[:2]]
    together = nb.decode(text2mel, texts, max_T=[5, 9], stop=False)
    assert [d.mel.shape[1] for d in together] == [6, 10] and [d.alignment.shape[1] for d in together] == [5, 9]
    for ids, limit, d in zip(texts, (5, 9), together):
        alone = nb.decode(text2mel, [ids], max_T=limit, stop=False)[0]
        assert (d.mel - alone.mel).abs().max().item() <= 1e-5
    with pytest.raises(ValueError, match='max_T'):
        nb.decode(text2mel, texts, max_T=[5])
    with pytest.raises(ValueError, match='need texts'):
        nb.decode(text2mel, [], max_T=5)


def test_monotonic_rule(nb):
    logits = torch.tensor([[0., 0., 0., 0., 0., 9.],   # jumps 5 ahead of -1: forced to 0
                           [0., 9., 0., 0., 0., 0.],   # within +3 of 0: kept
                           [9., 0., 0., 0., 0., 0.]])  # 2 back from 2: forced to 3
    previous = torch.tensor([-1, 0, 2])
    new, attended = nb.monotonic_column(logits, previous, torch.tensor([6, 6, 6]))
    assert attended.tolist() == [0, 1, 3]
    assert torch.equal(new[1], logits[1])
    _, attended = nb.monotonic_column(torch.tensor([[9., 0., 0.]]), torch.tensor([2]), torch.tensor([3]))
    assert attended.tolist() == [2]  # forced index is clamped to the last character


@pytest.mark.parametrize('jump, kept', [(-2, False), (-1, True), (0, True), (1, True), (3, True), (4, False)])
def test_monotonic_rule_accepts_jumps_of_minus_one_to_three(nb, jump, kept):
    """What the notebook says of the rule: -1 to +3 pass (0: a stall), anything else goes to previous + 1."""
    previous = 4
    logits = torch.zeros(1, 12)
    logits[0, previous + jump] = 9.0
    _, attended = nb.monotonic_column(logits, torch.tensor([previous]), torch.tensor([12]))
    assert attended.item() == (previous + jump if kept else previous + 1)


# ----------------------------------------------------------------------------------------------
# Synthesis end to end (tiny models) and Griffin-Lim
# ----------------------------------------------------------------------------------------------

def test_synthesize_long_text_joins_pieces(nb):
    torch.manual_seed(0)
    text2mel, ssrn = nb.Text2Mel(d=16, e=8).eval(), nb.SSRN(c=16).eval()
    text = 'First part, ' + 'and so on, ' * 20 + 'the end.'
    with pytest.warns(UserWarning, match='did not reach their end'):  # 12 frames: too few for anything
        result = nb.synthesize(text2mel, ssrn, [text, 'Hi 2 you!'], max_T=12, n_iter=2, frames_per_char=0)
    long, short = result
    assert len(long.pieces) == len(tts_text.prepare_text(text, nb.hp.max_N - 1)[0]) > 1
    assert len(long.alignments) == len(long.pieces)
    assert long.mel.shape[1] == sum(a.shape[1] + 1 for a in long.alignments) + nb.PAUSE_FRAMES * (len(long.pieces) - 1)
    assert short.pieces == ['hi two you.'] and short.dropped == ''
    for r in result:
        assert r.wav.dtype == np.float32 and np.isfinite(r.wav).all() and np.abs(r.wav).max() <= 0.99 + 1e-6
    with pytest.raises(ValueError, match='empty'):
        nb.synthesize(text2mel, ssrn, [''])


def test_synthesis_mel_equals_the_recipe_loop(nb):
    """What the notebook saves as <n>-mel.npy is the recipe loop's Y, frame for frame."""
    torch.manual_seed(1)  # this random model's attention reaches E at step 25
    text2mel, ssrn = nb.Text2Mel(d=32, e=16).eval(), nb.SSRN(c=16).eval()
    ids = ids_of(nb, GARDEN_PATH[1])
    Y, _ = nb.recipe_decode(text2mel, ids[None], max_T=nb.hp.max_T)
    result = nb.synthesize(text2mel, ssrn, GARDEN_PATH[1], n_iter=2)[0]
    assert result.mel.shape == tuple(Y[0].shape)
    assert np.abs(result.mel - Y[0].numpy()).max() <= 1e-4


def test_piece_past_max_t_is_decoded_to_its_end(nb):
    """A piece that has not stopped at max_T is decoded further (Text2Mel has no positional limit)."""
    ids = ids_of(nb, GARDEN_PATH[1])
    torch.manual_seed(1)  # this random model's attention reaches E at step 25
    text2mel, ssrn = nb.Text2Mel(d=32, e=16).eval(), nb.SSRN(c=16).eval()
    reference = nb.decode(text2mel, [ids], max_T=80)[0]
    assert reference.stopped and reference.alignment.shape[1] == 25
    assert nb.frame_limit(len(ids), max_T=20) == 3 * len(ids) > 25
    result = nb.synthesize(text2mel, ssrn, GARDEN_PATH[1], max_T=20, n_iter=2)[0]
    assert result.complete and result.alignments[0].shape[1] == 25  # not cut at max_T=20
    assert np.abs(result.mel - reference.mel.numpy()).max() <= 1e-5


def test_piece_that_never_stops_is_reported(nb):
    ids = ids_of(nb, GARDEN_PATH[1])
    torch.manual_seed(2)  # this random model's attention never reaches E
    text2mel, ssrn = nb.Text2Mel(d=32, e=16).eval(), nb.SSRN(c=16).eval()
    with pytest.warns(UserWarning, match=r"1 of 1 pieces did not reach their end.*'the old man the boat\.' \(66 frames\)"):
        result = nb.synthesize(text2mel, ssrn, GARDEN_PATH[1], max_T=20, n_iter=2)[0]
    assert not result.complete
    assert result.alignments[0].shape[1] == nb.frame_limit(len(ids), max_T=20) == 66  # used its whole budget
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warn=False: the same result, and no warning at all
        quiet = nb.synthesize(text2mel, ssrn, GARDEN_PATH[1], max_T=20, n_iter=2, warn=False)[0]
    assert not quiet.complete and np.array_equal(quiet.mel, result.mel)


def _librosa_griffin_lim(spectrogram, hp, n_iter):
    """The repository's algorithm with librosa, written out for comparison."""
    import librosa
    kwargs = dict(hop_length=hp.hop_length, win_length=hp.win_length, window='hann')
    X = spectrogram.astype(np.complex64)
    for _ in range(n_iter):
        estimate = librosa.stft(librosa.istft(X, **kwargs), n_fft=hp.n_fft, **kwargs)
        X = spectrogram * estimate / np.maximum(1e-8, np.abs(estimate))
    return librosa.istft(X, **kwargs)


def _recording_amplitude(nb, name='LJ900-0005.wav'):
    _, mag = nb.wav_to_spectrograms(SAMPLE_DIR / 'wavs' / name)
    return nb.amplitude(mag.T)


def test_griffin_lim_matches_the_repository_and_librosa(nb):
    amplitude = _recording_amplitude(nb)
    ours = nb.griffin_lim(amplitude, n_iter=5)
    theirs = _librosa_griffin_lim(amplitude, nb.hp, 5)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-3 * np.abs(theirs).max()
    import librosa  # fast Griffin-Lim: librosa's momentum form, from zero phase
    kwargs = dict(n_fft=nb.hp.n_fft, hop_length=nb.hp.hop_length, win_length=nb.hp.win_length, init=None)
    fast = nb.griffin_lim(amplitude, n_iter=5, momentum=0.99)
    reference = librosa.griffinlim(amplitude, n_iter=5, momentum=0.99, **kwargs)
    assert np.abs(fast - reference).max() <= 1e-3 * np.abs(reference).max()


def test_stft_inverts_and_spectral_convergence(nb):
    rng = np.random.default_rng(0)
    y = rng.normal(size=22050).astype(np.float32)
    S = nb.stft(y)
    assert S.shape == (1025, 1 + len(y) // nb.hp.hop_length)
    rebuilt = nb.istft(S)  # hop * (frames - 1) samples, as librosa's istft without a length
    assert len(rebuilt) == nb.hp.hop_length * (S.shape[1] - 1)
    assert np.abs(rebuilt - y[:len(rebuilt)]).max() < 1e-4  # perfect reconstruction
    assert nb.spectral_convergence(np.abs(S), y) < 1e-5
    assert nb.spectral_convergence(np.abs(S), rng.normal(size=22050)) > 0.5


def test_fast_griffin_lim_converges_faster(nb):
    """What the notebook's figure shows: at equal iterations momentum gives lower spectral convergence."""
    amplitude = _recording_amplitude(nb)
    seen = {}
    for momentum in (0.0, 0.99):
        curve = seen.setdefault(momentum, [])
        nb.griffin_lim(amplitude, 12, momentum,
                       on_step=lambda i, X: curve.append(nb.spectral_convergence(amplitude, nb.istft(X))))
    assert len(seen[0.0]) == 12 and seen[0.0][-1] < seen[0.0][0]  # plain Griffin-Lim improves...
    assert seen[0.99][-1] < seen[0.0][-1]                          # ...fast Griffin-Lim more


def test_the_chosen_iterations_are_the_measured_ones(nb):
    """dctts.FAST_N_ITER is the benchmark's choice, where a results file records one."""
    path = cookbook.REPO_ROOT / 'benchmarks' / 'results' / 'tts.json'
    if not path.exists():
        pytest.skip('no benchmarks/results/tts.json')
    figure = json.loads(path.read_text())['figures'].get('griffin_lim_iterations')
    if figure is None:
        pytest.skip('tts.json holds no griffin_lim_iterations')
    assert figure['value'] == nb.FAST_N_ITER and figure['momentum'] == nb.FAST_MOMENTUM


def test_fold_weight_norm_keeps_the_outputs(nb):
    torch.manual_seed(5)
    ssrn = nb.SSRN(c=16).eval()
    with torch.no_grad():  # g away from ||v||, so that a wrong fold shows
        for name, p in ssrn.named_parameters():
            if 'original0' in name:
                p.mul_(torch.rand_like(p) + 0.5)
    S = torch.rand(2, 80, 9)
    with torch.no_grad():
        before = ssrn(S)[1]
        after = nb.fold_weight_norm(ssrn)(S)[1]
    assert not any('original' in name for name, _ in ssrn.named_parameters())
    assert (before - after).abs().max().item() <= 1e-6


def test_spectrograms_and_reduction(nb):
    import librosa
    mel, mag = nb.wav_to_spectrograms(SAMPLE_DIR / 'wavs' / 'LJ900-0001.wav')
    assert mel.shape[1] == 80 and mag.shape[1] == 1025 and len(mag) == 4 * len(mel)
    assert 0 < mel.min() and mel.max() <= 1 and 0 <= mag.min() and mag.max() <= 1
    y, _ = librosa.effects.trim(librosa.load(str(SAMPLE_DIR / 'wavs' / 'LJ900-0001.wav'), sr=nb.hp.sr)[0])
    n_stft_frames = 1 + len(y) // nb.hp.hop_length
    assert len(mag) - n_stft_frames in range(4)  # padded to a multiple of 4, never cut
    assert mag[:n_stft_frames].min() > 0 and np.all(mag[n_stft_frames:] == 0)  # the padding is zeros


# ----------------------------------------------------------------------------------------------
# The notebook shows the code that runs
# ----------------------------------------------------------------------------------------------

def _notebook_cells():
    return json.loads(NOTEBOOK.read_text(encoding='utf-8'))['cells']


def _code(cell):
    return ''.join(cell['source'])


def _shown_names():
    """Names passed to show(...) in the notebook's code cells (dctts.X, dctts_training.X, X)."""
    names = set()
    for cell in _notebook_cells():
        if cell['cell_type'] != 'code':
            continue
        for node in ast.walk(ast.parse(_code(cell))):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'show':
                for arg in node.args:
                    names.add(ast.unparse(arg).split('.')[-1])
    return names


def test_notebook_shows_every_piece_of_the_model_code():
    """Every class and function the chapter's modules define is displayed in the notebook, except
    the STFT helpers Griffin-Lim calls; so nothing runs that the reader cannot read."""
    not_shown = {'stft', 'istft', '_window', '_overlap_add'}
    defined = {name for module in (dctts, dctts_training) for name, obj in vars(module).items()
               if (isinstance(obj, type) or callable(obj)) and getattr(obj, '__module__', None) == module.__name__}
    missing = sorted(defined - not_shown - _shown_names())
    assert not missing, f'defined in cookbook/dctts*.py but never shown in the notebook: {missing}'


def test_notebook_defines_no_second_copy_of_the_model():
    """The notebook defines no class, and no function of the modules' names: one copy of the code."""
    module_names = set(vars(dctts)) | set(vars(dctts_training))
    for index, cell in enumerate(_notebook_cells()):
        if cell['cell_type'] != 'code':
            continue
        for node in ast.parse(_code(cell)).body:
            assert not isinstance(node, ast.ClassDef), f'cell {index} defines class {node.name}'
            if isinstance(node, ast.FunctionDef):
                assert node.name not in module_names, f'cell {index} redefines {node.name}'


def test_sound_comes_first():
    """After the collapsed set-up cells, the first sound plays within 30 visible code lines."""
    lines = 0
    for cell in _notebook_cells():
        if cell['cell_type'] != 'code' or cell['metadata'].get('cellView') == 'form':
            continue
        lines += sum(1 for line in _code(cell).splitlines() if line.strip() and not line.strip().startswith('#'))
        if 'play_audio(' in _code(cell):
            break
    assert 0 < lines <= 30, f'{lines} visible code lines before the first sound'
