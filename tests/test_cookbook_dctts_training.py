"""cookbook.dctts_training: notebook 2's losses (guided attention, masked L1), SSRN windows, the
learning-rate schedule and resumable training, on a few of the shipped LJSpeech clips."""
import shutil
import types

import numpy as np
import pytest
import torch

import cookbook
from cookbook import checkpoints, dctts, dctts_training, tts_data, tts_text

SAMPLE_DIR = cookbook.SAMPLES_DIR / 'ljspeech'
GARDEN_PATH = ['The horse raced past the barn fell.', 'The old man the boat.']


def ids_of(nb, text):
    return tts_text.text_to_ids(tts_text.normalize_text(text).text)


@pytest.fixture(scope='module')
def nb():
    """The chapter's code as the notebook uses it: cookbook.dctts and cookbook.dctts_training."""
    return types.SimpleNamespace(**{**vars(dctts), **vars(dctts_training)})

# ----------------------------------------------------------------------------------------------
# Training pieces
# ----------------------------------------------------------------------------------------------

def test_guided_attention_weights_follow_each_clip(nb):
    n_chars, n_frames = torch.tensor([4, 2]), torch.tensor([8, 3])
    W = nb.guided_attention_weights(n_chars, n_frames, 4, 8, g=0.2).numpy()
    n, t = np.meshgrid(np.arange(4) / 4, np.arange(8) / 8, indexing='ij')
    assert np.allclose(W[0], 1 - np.exp(-((n - t) ** 2) / (2 * 0.2 ** 2)), atol=1e-6)
    assert W[0, 0, 0] == 0 and W[0, 2, 4] == 0
    assert W[1, 1, 1] == pytest.approx(1 - np.exp(-(1 / 2 - 1 / 3) ** 2 / 0.08), rel=1e-5)  # its own N, T
    assert np.all(W[1, 2:] == 1)  # padded characters are always penalised


def test_guided_attention_loss_per_clip(nb):
    loss = nb.guided_attention_loss
    N, T = 10, 20
    diagonal = torch.zeros(1, N, T)
    diagonal[0, (torch.arange(T) * N) // T, torch.arange(T)] = 1
    uniform = torch.full((1, N, T), 1 / N)
    one = (torch.tensor([N]), torch.tensor([T]))
    assert loss(diagonal, *one).item() < 0.01 < loss(uniform, *one).item() < loss(diagonal.flip(2), *one).item()
    assert loss(uniform, *one).item() == pytest.approx(
        nb.guided_attention_weights(*one, N, T).mean().item() / N, rel=1e-5)
    # Padding a clip into a longer batch changes nothing: its penalty follows its own diagonal.
    padded = torch.zeros(1, N + 5, T + 7)
    padded[:, :N, :T] = diagonal
    assert loss(padded, *one).item() == pytest.approx(loss(diagonal, *one).item(), abs=1e-7)
    batch = torch.zeros(2, N + 5, T + 7)
    batch[0, :N, :T] = diagonal[0]
    batch[1, (torch.arange(T + 7) * (N + 5)) // (T + 7), torch.arange(T + 7)] = 1
    assert loss(batch, torch.tensor([N, N + 5]), torch.tensor([T, T + 7])).item() < 0.01
    # A penalty built from the padded batch shape (as before) calls a short clip's diagonal wrong.
    long_text = torch.zeros(1, N + 15, T + 2)
    long_text[:, :N, :T] = diagonal
    per_cell = (N + 15) * (T + 2) / (N * T)  # same normalisation for both
    shape_only = loss(long_text, torch.tensor([N + 15]), torch.tensor([T + 2])).item() * per_cell
    assert shape_only > 20 * loss(long_text, *one).item()
    # Attention on padded characters is penalised in full.
    on_padding = torch.zeros(1, N + 5, T)
    on_padding[0, N + 2] = 1
    assert loss(on_padding, *one).item() == pytest.approx(T / (N * T))


def test_l1_counts_only_each_clips_own_frames(nb):
    """Padding a clip's mel frames (as a longer clip in its batch would) changes neither loss."""
    torch.manual_seed(0)
    text2mel = nb.Text2Mel(d=16, e=8).eval()  # eval: no dropout, so the two runs are comparable
    L, n_chars = ids_of(nb, GARDEN_PATH[1])[None], torch.tensor([len(ids_of(nb, GARDEN_PATH[1]))])
    S, M = torch.rand(1, 80, 9), torch.rand(1, 1025, 36)
    alone = (L, S, M, n_chars, torch.tensor([9]))
    padded = (L, torch.cat((S, torch.zeros(1, 80, 6)), 2), torch.cat((M, torch.zeros(1, 1025, 24)), 2), n_chars,
              torch.tensor([9]))
    assert nb.text2mel_loss(text2mel, padded).item() == pytest.approx(nb.text2mel_loss(text2mel, alone).item(),
                                                                      rel=1e-6)

    def half(S):  # an SSRN stand-in that predicts 0.5 everywhere: the loss is mean |0.5 - M| over real frames
        return None, torch.full((S.shape[0], 1025, 4 * S.shape[2]), 0.5)

    expected = (M - 0.5).abs().mean().item()
    assert nb.ssrn_loss(half, alone).item() == pytest.approx(expected, rel=1e-6)
    assert nb.ssrn_loss(half, padded).item() == pytest.approx(expected, rel=1e-6)  # unmasked: much larger
    assert nb.masked_l1(torch.ones(2, 3, 4), torch.zeros(2, 3, 4), torch.tensor([4, 1])).item() == 1.0


def test_ssrn_windows_never_hold_padding_only(nb):
    """A 5-frame clip batched with a 60-frame one: its 32-frame window must start inside it."""
    seen = []

    def spy(S):
        seen.append(S[1, 0, :5].clone())
        return None, torch.zeros(S.shape[0], 1025, 4 * S.shape[2])

    S = torch.zeros(2, 80, 60)
    S[0], S[1, :, :5] = 1.0, 1.0  # real frames are 1, padding 0
    M = torch.zeros(2, 1025, 240)
    M[0], M[1, :, :20] = 1.0, 1.0
    for seed in range(20):
        torch.manual_seed(seed)
        assert nb.ssrn_loss(spy, (None, S, M, None, torch.tensor([60, 5])), max_frames=32).item() == 1.0
    assert all((window == 1).all() for window in seen)  # the short clip's 5 real frames, every time


def test_learning_rate_schedule(nb):
    lr = nb.learning_rate
    assert lr(0, 0.005, 4000) == pytest.approx(0.005 / 4000)
    assert lr(3999, 0.005, 4000) == pytest.approx(0.005)          # peak at the end of warm-up
    assert lr(15999, 0.005, 4000) == pytest.approx(0.0025)        # then 1/sqrt(step)
    assert lr(100, 0.005, 4000) < lr(200, 0.005, 4000)
    assert lr(99, 0.005, 100) == pytest.approx(0.005)             # a warm-up scaled to a short run


@pytest.fixture(scope='module')
def small_dataset(nb, tmp_path_factory):
    root = tmp_path_factory.mktemp('ljspeech')
    (root / 'wavs').mkdir()
    lines = (SAMPLE_DIR / 'metadata.csv').read_text(encoding='utf-8').splitlines()[:5]
    (root / 'metadata.csv').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    for line in lines:
        shutil.copy(SAMPLE_DIR / 'wavs' / (line.split('|')[0] + '.wav'), root / 'wavs')
    return tts_data.SpeechDataset(root, root / 'cache', nb.wav_to_spectrograms)


def test_training_resumes_exactly(nb, small_dataset, tmp_path):
    def run(steps, checkpoint):
        torch.manual_seed(123)  # same initial weights every time
        model = nb.Text2Mel(d=16, e=8)
        losses = nb.train(model, nb.text2mel_loss, small_dataset, checkpoint, steps=steps, base_lr=0.005,
                          warmup_steps=10, batch_size=2, save_every=2, seed=7)
        return model, losses

    straight, straight_losses = run(4, tmp_path / 'straight.pt')
    _, first_half = run(2, tmp_path / 'resumed.pt')
    assert torch.load(tmp_path / 'resumed.pt', weights_only=True)['step'] == 2
    resumed, resumed_losses = run(4, tmp_path / 'resumed.pt')  # fresh model: weights come from the file
    assert resumed_losses[:2] == first_half and resumed_losses == pytest.approx(straight_losses, abs=0)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith('.')], 'temporary files left behind'
    assert all(np.isfinite(straight_losses))


def test_ssrn_training_step(nb, small_dataset, tmp_path):
    torch.manual_seed(0)
    ssrn = nb.SSRN(c=16)
    losses = nb.train(ssrn, lambda m, b: nb.ssrn_loss(m, b, max_frames=8), small_dataset, tmp_path / 's.pt',
                      steps=2, base_lr=0.0005, warmup_steps=10, batch_size=2, save_every=1, seed=0)
    assert len(losses) == 2 and all(0 < x < 1 for x in losses)


def test_resuming_a_checkpoint_that_does_not_fit_is_a_clear_error(nb, small_dataset, tmp_path):
    path = tmp_path / 't2m.pt'

    def train(model):
        return nb.train(model, nb.text2mel_loss, small_dataset, path, steps=1, base_lr=0.005, warmup_steps=10,
                        batch_size=2, seed=0)

    torch.manual_seed(0)
    train(nb.Text2Mel(d=16, e=8))
    assert torch.load(path, weights_only=True)['hparams']['hop_length'] == nb.hp.hop_length
    with pytest.raises(checkpoints.CheckpointMismatchError,
                       match=r'(?s)t2m\.pt does not fit.*different shapes.*delete .*t2m\.pt'):
        train(nb.Text2Mel(d=24, e=8))  # other model sizes
    state = torch.load(path, weights_only=True)
    state['hparams']['hop_length'] = 256
    torch.save(state, path)
    with pytest.raises(ValueError, match=r't2m\.pt was trained with other hyper-parameters \(hop_length: '
                                         r'checkpoint 256, now 275\); delete'):
        train(nb.Text2Mel(d=16, e=8))
    torch.save(nb.Text2Mel(d=16, e=8).state_dict(), path)  # a state dict, not a training checkpoint
    with pytest.raises(ValueError, match=r't2m\.pt is not a training checkpoint .*no model, optimizer'):
        train(nb.Text2Mel(d=16, e=8))
