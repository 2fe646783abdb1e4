"""DC-TTS (Tachibana, Uenoyama and Aihara, ICASSP 2018) as notebook 2 teaches it: the model, fast
decoding, Griffin-Lim and synthesis. The notebook shows each piece with ``cookbook.source.show``
where it explains it, so the code a reader reads is this code, the code that runs.

The layers follow the released repository tugstugi/pytorch-dc-tts, not the paper's diagram,
because its LJSpeech weights must load key for key (``cookbook.checkpoints.load_weights`` reads
them as state dicts: module names and parameter names matter, class names do not). Training
(losses, the loop) is in ``cookbook.dctts_training``.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import os
from collections import OrderedDict

import numpy as np
import scipy.fft
import scipy.signal
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm

from .tts_text import EOS, PAD, VOCAB


@dataclasses.dataclass(frozen=True)
class HParams:
    """Hyper-parameters of the released LJSpeech DC-TTS models (tugstugi/pytorch-dc-tts)."""
    sr: int = 22050                   # audio: 22.05 kHz, 2048-point STFT,
    n_fft: int = 2048
    hop_length: int = 275             # 12.5 ms hop and 50 ms window (int() of 275.6 and 1102.5)
    win_length: int = 1102
    n_mels: int = 80
    reduction_rate: int = 4           # Text2Mel predicts every 4th frame; SSRN upsamples x4
    preemphasis: float = 0.97
    max_db: float = 100.0
    ref_db: float = 20.0
    power: float = 1.5                # sharpen magnitudes before Griffin-Lim
    n_iter: int = 50                  # the repository's Griffin-Lim iterations (plain, no momentum)
    max_N: int = 180                  # longest text (characters) read in one piece
    max_T: int = 210                  # mel frames decoded per piece (~10.5 s)
    e: int = 128                      # character embedding size
    d: int = 256                      # Text2Mel width
    c: int = 640                      # SSRN width
    dropout_rate: float = 0.05
    text2mel_lr: float = 0.005        # training: the repository's learning rates and warm-ups
    text2mel_warmup: int = 4000
    ssrn_lr: float = 0.0005
    ssrn_warmup: int = 1000
    guided_attention_g: float = 0.2


hp = HParams()


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------

class C(nn.Module):
    """1-D convolution (stride 1) + layer norm or weight norm, dropout, optional ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1, causal=False,
                 normalization='weight', relu=False):
        super().__init__()
        self.causal, self.dilation, self.relu = causal, dilation, relu
        # Causal: pad (k-1)*dilation on both sides and drop the right end = pad the left only.
        self.padding = (kernel_size - 1) * dilation // (1 if causal else 2)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=self.padding, dilation=dilation)
        if normalization == 'weight':  # w = g * v / ||v||, per output channel
            self.conv = weight_norm(self.conv)
        elif normalization == 'layer':
            self.layer_norm = nn.LayerNorm(out_channels)

    def forward(self, x):                                   # x: (B, C_in, T)
        y = self.conv(x)
        if self.causal and self.padding:
            y = y[:, :, :-self.padding]
        if hasattr(self, 'layer_norm'):  # normalise the channels of each time step
            y = self.layer_norm(y.transpose(1, 2)).transpose(1, 2)
        y = F.dropout(y, p=hp.dropout_rate, training=self.training)
        return F.relu(y, inplace=True) if self.relu else y

    def step(self, x, cache):
        """One new frame x (B, C_in) of a causal convolution -> (B, C_out). `cache` keeps, per
        layer, the kernel as one matrix and the last (k-1)*dilation inputs."""
        if self not in cache:
            k = self.conv.kernel_size[0]  # (C_out, C_in, k) -> (C_out, k*C_in), oldest tap first
            cache[self] = (self.conv.weight.permute(0, 2, 1).reshape(self.conv.out_channels, -1).contiguous(),
                           [x.new_zeros(x.shape)] * self.padding, k)
        weight, past, k = cache[self]
        taps = [past[len(past) - j * self.dilation] for j in range(k - 1, 0, -1)] + [x]
        past.append(x)
        del past[0]                                         # keep (k-1)*dilation inputs
        y = F.linear(torch.cat(taps, 1) if k > 1 else x, weight, self.conv.bias)
        if hasattr(self, 'layer_norm'):
            y = F.layer_norm(y, y.shape[1:], self.layer_norm.weight, self.layer_norm.bias, self.layer_norm.eps)
        return F.relu(y) if self.relu else y


class GatedConvBlock(nn.Module):
    """Text2Mel's block: x + a * sigmoid(b), (a, b) the halves of a conv with 2x the channels."""

    def __init__(self, d, k, dilation, causal=False):
        super().__init__()
        self.C = C(d, 2 * d, k, dilation, causal, normalization='layer')
        self.glu = nn.GLU(dim=1)

    def forward(self, x):
        return self.glu(self.C(x)) + x

    def step(self, x, cache):
        return self.glu(self.C.step(x, cache)) + x


class ResidualBlock(nn.Module):
    """SSRN's block: two convolutions with ReLU, plus the input."""

    def __init__(self, d, k, dilation):
        super().__init__()
        self.C1, self.C2 = C(d, d, k, dilation, relu=True), C(d, d, k, dilation, relu=True)

    def forward(self, x):
        return self.C2(self.C1(x)) + x


class D(nn.Module):
    """Transposed convolution, kernel 2, stride 2, weight norm: twice as many frames."""

    def __init__(self, channels):
        super().__init__()
        self.deconv = weight_norm(nn.ConvTranspose1d(channels, channels, 2, stride=2))

    def forward(self, x):
        return F.dropout(self.deconv(x), p=hp.dropout_rate, training=self.training)


def step_layers(layers, x, cache):
    """Run an nn.Sequential of causal layers for one new frame x (B, C)."""
    for layer in layers:
        x = layer.step(x, cache)
    return x


# ---------------------------------------------------------------------------------------------
# Text2Mel
# ---------------------------------------------------------------------------------------------

def conv(i, o, causal=False, relu=False):
    return C(i, o, 1, causal=causal, normalization='layer', relu=relu)


def gated(d, dilations, k=3, causal=False):
    return [GatedConvBlock(d, k, delta, causal) for delta in dilations]


class TextEnc(nn.Module):
    """Characters (B, N) -> keys K and values V (B, d, N)."""

    def __init__(self, vocab_size, e, d):
        super().__init__()
        self.d = d
        self.embedding = nn.Sequential(OrderedDict(embedding=nn.Embedding(vocab_size, e, padding_idx=PAD)))
        self.layers = nn.Sequential(conv(e, 2 * d, relu=True), conv(2 * d, 2 * d),
                                    *gated(2 * d, [1, 3, 9, 27] * 2 + [1, 1]), *gated(2 * d, [1, 1], k=1))

    def forward(self, L):
        out = self.layers(self.embedding(L).transpose(1, 2))
        return out[:, :self.d], out[:, self.d:]


class AudioEnc(nn.Module):
    """Mel frames so far (B, 80, T) -> queries Q (B, d, T)."""

    def __init__(self, d, f):
        super().__init__()
        self.layers = nn.Sequential(conv(f, d, True, True), conv(d, d, True, True), conv(d, d, True),
                                    *gated(d, [1, 3, 9, 27] * 2 + [3, 3], causal=True))

    def forward(self, S):
        return self.layers(S)


class AudioDec(nn.Module):
    """[R, Q] (B, 2d, T) -> logits of the next mel frames (B, 80, T)."""

    def __init__(self, d, f):
        super().__init__()
        self.layers = nn.Sequential(conv(2 * d, d, True), *gated(d, [1, 3, 9, 27, 1, 1], causal=True),
                                    *gated(d, [1], k=1, causal=True), conv(d, d, True, True), conv(d, f, True))

    def forward(self, R_Q):
        return self.layers(R_Q)


def attention_logits(K, Q, d):
    """Scaled dot products of every character key with every frame query: (B, N, T)."""
    return torch.bmm(K.transpose(1, 2), Q) / math.sqrt(d)


def monotonic_column(logits, previous, n_chars):
    """Forcibly incremental attention for one frame. logits (B, N); previous (B,): the character
    attended at the previous frame (-1 before the first); n_chars (B,): each row's text length.
    Returns the new logits and the attended character."""
    jump = logits.argmax(dim=1) - previous
    off_track = (jump < -1) | (jump > 3)
    # Built for every row, kept where needed: no `if` on a GPU value, which would wait each frame.
    forced = torch.minimum(n_chars - 1, previous + 1)
    replacement = torch.full_like(logits, -2.0 ** 20)
    replacement[torch.arange(logits.shape[0], device=logits.device), forced] = 1.0
    logits = torch.where(off_track[:, None], replacement, logits)
    return logits, logits.argmax(dim=1)


def apply_monotonic_attention(A_logits):
    """The rule over a whole (B, N, T) logit matrix, frame after frame."""
    B, N, T = A_logits.shape
    n_chars = torch.full((B,), N, dtype=torch.long, device=A_logits.device)
    previous = torch.full((B,), -1, dtype=torch.long, device=A_logits.device)
    columns = []
    for t in range(T):
        column, previous = monotonic_column(A_logits[:, :, t], previous, n_chars)
        columns.append(column)
    return torch.stack(columns, dim=2)


class Text2Mel(nn.Module):
    """Text + mel frames so far -> next mel frames, and the attention between them.
    Submodules and parameter names as in tugstugi/pytorch-dc-tts (text_enc, audio_enc, audio_dec)."""

    def __init__(self, vocab=VOCAB, d=hp.d, e=hp.e, f=hp.n_mels):
        super().__init__()
        self.d = d
        self.text_enc, self.audio_enc, self.audio_dec = TextEnc(len(vocab), e, d), AudioEnc(d, f), AudioDec(d, f)

    def forward(self, L, S, monotonic_attention=False):
        """L: (B, N) character ids, S: (B, 80, T) mel frames -> (Y_logit, Y, A), A: (B, N, T)."""
        K, V = self.text_enc(L)
        Q = self.audio_enc(S)
        A = attention_logits(K, Q, self.d)
        if monotonic_attention:
            A = apply_monotonic_attention(A)
        A = F.softmax(A, dim=1)
        R = torch.bmm(V, A)  # what each frame reads from the text
        Y_logit = self.audio_dec(torch.cat((R, Q), dim=1))
        return Y_logit, torch.sigmoid(Y_logit), A


# ---------------------------------------------------------------------------------------------
# SSRN
# ---------------------------------------------------------------------------------------------

class SSRN(nn.Module):
    """80-bin mels at 1/4 frame rate -> 1 + n_fft/2 = 1025 linear magnitudes at full rate."""

    def __init__(self, c=hp.c, f=hp.n_mels, f_prime=1 + hp.n_fft // 2):
        super().__init__()

        def residual(ch, k, *dilations):
            return [ResidualBlock(ch, k, delta) for delta in dilations]

        self.layers = nn.Sequential(
            C(f, c, 1), *residual(c, 3, 1, 3),
            D(c), *residual(c, 3, 1, 3), D(c), *residual(c, 3, 1, 3),
            C(c, 2 * c, 1), *residual(2 * c, 3, 1, 1),
            C(2 * c, f_prime, 1), *residual(f_prime, 1, 1), C(f_prime, f_prime, 1))
        # The repository also asks for Kaiming initialisation, but applies it to the kernel that weight
        # norm recomputes from g and v at every call, so its SSRN in fact trains from the default one.

    def forward(self, Y):
        Z_logit = self.layers(Y)
        return Z_logit, torch.sigmoid(Z_logit)


def fold_weight_norm(model):
    """For synthesis only: compute every weight-normed kernel (g * v / ||v||) once and keep it as a
    plain weight, instead of recomputing it at every call. Returns the model (changed in place);
    its state dict then has `weight` where it had g and v, so load checkpoints before folding."""
    from torch.nn.utils import parametrize
    for module in model.modules():
        if parametrize.is_parametrized(module, 'weight'):
            parametrize.remove_parametrizations(module, 'weight', leave_parametrized=True)
    return model


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def recipe_decode(text2mel, L, max_T=hp.max_T, stop=True):
    """The book's loop, kept as the reference: re-runs the WHOLE Text2Mel for every new frame."""
    zeros = torch.zeros(1, text2mel.audio_dec.layers[-1].conv.out_channels, 1, device=L.device)
    Y, A = zeros, None
    for _ in range(max_T):
        _, Y_t, A = text2mel(L, Y, monotonic_attention=True)
        Y = torch.cat((zeros, Y_t), -1)
        if stop and L[0, A[0, :, -1].argmax()] == EOS:  # attention reached the end of the sentence
            break
    return Y, A


@dataclasses.dataclass
class Decoded:
    mel: torch.Tensor        # (80, T + 1): a zero frame, then the T predicted frames (as the recipe)
    alignment: torch.Tensor  # (N, T): attention of each predicted frame over the characters
    stopped: bool            # attention reached the end of the text before the frame limit


@torch.no_grad()
def decode(text2mel, texts, max_T=hp.max_T, stop=True):
    """Incremental decoding of a list of id tensors (each ending with E); max_T: one limit or one per text."""
    text2mel.eval()
    device, B = next(text2mel.parameters()).device, len(texts)
    limits = [int(max_T)] * B if np.ndim(max_T) == 0 else [int(m) for m in max_T]
    if not texts or len(limits) != B or min(limits) < 1:
        raise ValueError(f'need texts and max_T as one positive number or one per text ({B}), got {max_T!r}')
    # The text encoder is not causal (padding would change a short text's keys): encode each text
    # alone, pad keys and values afterwards and hide the padding from the attention.
    encoded = [text2mel.text_enc(ids.to(device)[None]) for ids in texts]
    n_chars = torch.tensor([len(ids) for ids in texts], device=device)
    N = int(max(len(ids) for ids in texts))
    K, V = (torch.cat([F.pad(kv[i], (0, N - kv[i].shape[2])) for kv in encoded]) for i in (0, 1))
    L = torch.stack([F.pad(ids.to(device), (0, N - len(ids)), value=PAD) for ids in texts])
    padding = torch.arange(N, device=device)[None, :] >= n_chars[:, None]
    limit = torch.tensor(limits, device=device)
    cache, frame = {}, K.new_zeros(B, text2mel.audio_dec.layers[-1].conv.out_channels)
    frames, columns, previous = [frame], [], torch.full((B,), -1, dtype=torch.long, device=device)
    n_steps, finished = limit.clone(), torch.zeros(B, dtype=torch.bool, device=device)
    for t in range(max(limits)):
        q = step_layers(text2mel.audio_enc.layers, frame, cache)                   # (B, d)
        logits = attention_logits(K, q[:, :, None], text2mel.d)[:, :, 0].masked_fill(padding, -math.inf)
        logits, previous = monotonic_column(logits, previous, n_chars)          # the forcing rule
        a = F.softmax(logits.masked_fill(padding, -math.inf), dim=1)            # (B, N)
        r = torch.bmm(V, a[:, :, None])[:, :, 0]                                # what it reads: (B, d)
        frame = torch.sigmoid(step_layers(text2mel.audio_dec.layers, torch.cat((r, q), 1), cache))
        frames.append(frame)
        columns.append(a)
        if stop:
            at_end = (L.gather(1, previous[:, None])[:, 0] == EOS) & ~finished & (t < limit)
            n_steps.masked_fill_(at_end, t + 1)
            finished |= at_end
            if bool((finished | (limit <= t + 1)).all()):  # one GPU read per frame, to stop early
                break
    n_steps, stopped = (n_steps.tolist(), finished.tolist()) if stop else (limits, [False] * B)
    Y, A = torch.stack(frames, 2), torch.stack(columns, 2)
    return [Decoded(Y[i, :, :n_steps[i] + 1], A[i, :len(texts[i]), :n_steps[i]], stopped[i]) for i in range(B)]


# ---------------------------------------------------------------------------------------------
# From magnitudes to sound: Griffin-Lim, plain and fast
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _window(n_fft=hp.n_fft, win=hp.win_length):
    """The Hann window of win_length samples, centred in n_fft (as librosa and torch pad it)."""
    window = scipy.signal.get_window('hann', win).astype(np.float32)
    window = np.pad(window, ((n_fft - win) // 2, (n_fft - win + 1) // 2))
    window.flags.writeable = False
    return window


def stft(y, n_fft=hp.n_fft, hop=hp.hop_length, win=hp.win_length):
    """Complex STFT (1 + n_fft/2, frames) of a waveform: centred frames, Hann window (as librosa)."""
    y = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop] * _window(n_fft, win)
    return scipy.fft.rfft(frames, axis=1).T


def _overlap_add(frames, hop):
    """Sum frames (T, n) placed hop samples apart: frames cut into hop-long slices, added slice-wise."""
    T, n = frames.shape
    k = -(-n // hop)
    padded = np.zeros((T, k * hop), dtype=frames.dtype)
    padded[:, :n] = frames
    padded = padded.reshape(T, k, hop)
    out = np.zeros((T + k - 1, hop), dtype=frames.dtype)
    for j in range(k):
        out[j:j + T] += padded[:, j]
    return out.ravel()[:n + hop * (T - 1)]


def istft(S, n_fft=hp.n_fft, hop=hp.hop_length, win=hp.win_length):
    """Inverse of `stft`: windowed overlap-add, divided by the summed squared window (as librosa)."""
    window = _window(n_fft, win)
    frames = scipy.fft.irfft(S.T, n=n_fft, axis=1) * window
    y = _overlap_add(frames, hop)
    norm = _overlap_add(np.broadcast_to(window ** 2, frames.shape), hop)
    y /= np.where(norm > 1e-10, norm, 1.0)
    return y[n_fft // 2:len(y) - n_fft // 2]


def griffin_lim(magnitude, n_iter=hp.n_iter, momentum=0.0, on_step=None):
    """A waveform whose STFT magnitude is `magnitude` (1025, frames). Start from zero phase, then
    repeatedly invert, take the STFT again and keep only its phase. momentum=0 is Griffin and
    Lim (1984); momentum=0.99 is the "fast Griffin-Lim" of Perraudin, Balazs and Sondergaard
    (2013), which steps past each new phase estimate in the direction it moved.
    on_step(i, spectrum): called after every iteration (to follow convergence)."""
    magnitude = np.asarray(magnitude, dtype=np.float32)
    phase = np.ones(magnitude.shape, dtype=np.complex64)
    previous = None
    for i in range(n_iter):
        rebuilt = stft(istft(magnitude * phase))
        step = rebuilt if previous is None else rebuilt - np.float32(momentum / (1 + momentum)) * previous
        phase = step / (np.sqrt(step.real ** 2 + step.imag ** 2) + np.float32(1e-16))  # the phase only
        previous = rebuilt
        if on_step is not None:
            on_step(i + 1, magnitude * phase)
    return istft(magnitude * phase)


def spectral_convergence(magnitude, wav):
    """||magnitude - |STFT(wav)| || / ||magnitude||: how far a waveform's magnitudes are from the
    ones asked for (0: exactly them). Griffin-Lim lowers it iteration after iteration."""
    magnitude = np.asarray(magnitude, dtype=np.float64)
    rebuilt = np.abs(stft(np.asarray(wav, dtype=np.float64)))[:, :magnitude.shape[1]]
    return float(np.linalg.norm(magnitude - rebuilt) / np.linalg.norm(magnitude))


def amplitude(Z):
    """SSRN output Z (1025, frames) in [0, 1] (a normalised dB scale) -> linear magnitudes, raised
    to the power 1.5 (sharper harmonics) as the repository's audio.py does."""
    Z = np.clip(np.asarray(Z, dtype=np.float64), 0, 1)
    return (10.0 ** ((Z * hp.max_db - hp.max_db + hp.ref_db) * 0.05)) ** hp.power


# The setting `synthesize` uses: chosen in notebook 2 by spectral convergence (benchmarks/bench_tts.py).
FAST_N_ITER, FAST_MOMENTUM = 16, 0.99


def magnitude_to_wav(Z, n_iter=FAST_N_ITER, momentum=FAST_MOMENTUM):
    """SSRN output Z (1025, frames) -> float32 waveform: Griffin-Lim, undo the pre-emphasis filter,
    trim silence, scale (never clip)."""
    import librosa
    Z = Z.detach().cpu().numpy() if isinstance(Z, torch.Tensor) else Z
    wav = griffin_lim(amplitude(Z), n_iter, momentum)
    wav, _ = librosa.effects.trim(scipy.signal.lfilter([1], [1, -hp.preemphasis], wav))  # de-emphasis
    peak = np.abs(wav).max() if wav.size else 0.0
    return (wav * (0.99 / peak if peak > 0.99 else 1.0)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Synthesis:
    text: str            # what was asked
    pieces: list         # normalised text of each piece (long text is split)
    dropped: str         # characters that could not be said
    mel: np.ndarray      # (80, frames) predicted mel of the whole text, pieces joined
    wav: np.ndarray      # float32 waveform at hp.sr
    alignments: list     # (N, T) attention per piece
    complete: bool       # False when a piece hit its frame limit before reaching its end


PAUSE_FRAMES = 4         # silent mel frames between the pieces of a long text (~0.2 s)
MAX_FRAMES_PER_CHAR = 3  # LJSpeech reads ~1.3 frames per character: 3 is far slower than that


def frame_limit(n_ids, max_T=hp.max_T, frames_per_char=MAX_FRAMES_PER_CHAR):
    return max(int(max_T), math.ceil(frames_per_char * n_ids))


@torch.no_grad()
def synthesize(text2mel, ssrn, texts, max_T=hp.max_T, n_iter=FAST_N_ITER, momentum=FAST_MOMENTUM,
               frames_per_char=MAX_FRAMES_PER_CHAR, warn=True):
    """Texts -> one Synthesis each; all pieces of all texts are decoded in one batch. warn=False:
    say nothing when pieces stop at their frame limit (expected of an untrained model)."""
    import warnings
    from . import tts_text
    texts = [texts] if isinstance(texts, str) else texts
    prepared = [tts_text.prepare_text(text, hp.max_N - 1) for text in texts]
    pieces = [piece for text_pieces, _ in prepared for piece in text_pieces]
    ids = [tts_text.text_to_ids(piece) for piece in pieces]
    limits = [frame_limit(len(x), max_T, frames_per_char) for x in ids]
    decoded = decode(text2mel, ids, max_T=limits)
    unfinished = [f'{p!r} ({n} frames)' for p, n, d in zip(pieces, limits, decoded) if not d.stopped]
    if unfinished and warn:
        warnings.warn(f'{len(unfinished)} of {len(pieces)} pieces did not reach their end within their frame '
                      'limit, so their audio may stop early (is the model trained?): ' + '; '.join(unfinished),
                      stacklevel=3)
    # SSRN text by text; each text's Griffin-Lim starts at once in a worker thread (NumPy and SciPy
    # release the GIL), so it runs beside the next text's SSRN and the other texts' Griffin-Lim.
    decoded, device, jobs = iter(decoded), next(ssrn.parameters()).device, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for text, (text_pieces, dropped) in zip(texts, prepared):
            parts = [next(decoded) for _ in text_pieces]
            pause = parts[0].mel.new_zeros(parts[0].mel.shape[0], PAUSE_FRAMES)
            mel = torch.cat([x for part in parts for x in (part.mel, pause)][:-1], dim=1)
            Z = ssrn.eval()(mel[None].to(device))[1][0].cpu().numpy()
            jobs.append((text, text_pieces, dropped, mel, parts, pool.submit(magnitude_to_wav, Z, n_iter, momentum)))
    return [Synthesis(text, text_pieces, dropped, mel.cpu().numpy(), wav.result(),
                      [p.alignment.cpu().numpy() for p in parts], all(p.stopped for p in parts))
            for text, text_pieces, dropped, mel, parts, wav in jobs]


def wav_to_spectrograms(path):
    """A wav file -> (mel (T, 80), mag (T, 1025)) normalised to [0, 1] as the models were trained."""
    import librosa
    y, _ = librosa.effects.trim(librosa.load(str(path), sr=hp.sr)[0])
    if y.size == 0:
        raise ValueError(f'{path} holds no audio')
    y = np.append(y[0], y[1:] - hp.preemphasis * y[:-1])
    mag = np.abs(librosa.stft(y=y, n_fft=hp.n_fft, hop_length=hp.hop_length, win_length=hp.win_length))
    mel = librosa.filters.mel(sr=hp.sr, n_fft=hp.n_fft, n_mels=hp.n_mels) @ mag

    def normalise(x):
        return np.clip((20 * np.log10(np.maximum(1e-5, x)) - hp.ref_db + hp.max_db) / hp.max_db, 1e-8, 1)

    mel, mag = normalise(mel).T.astype(np.float32), normalise(mag).T.astype(np.float32)
    extra = -len(mel) % hp.reduction_rate  # pad to a multiple of 4, keep every 4th mel frame
    return np.pad(mel, [(0, extra), (0, 0)])[::hp.reduction_rate], np.pad(mag, [(0, extra), (0, 0)])
