"""Training DC-TTS as notebook 2's "There's more" teaches it: the guided-attention penalty (per
clip), the repository's learning-rate schedule, L1 over each clip's real frames, and a training
loop that resumes exactly where it stopped. The notebook shows each piece with
``cookbook.source.show``; ``cookbook.tts_data`` holds the dataset and checkpoint plumbing.
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import tts_data
from .dctts import hp


def guided_attention_weights(n_chars, n_frames, N, T, g=hp.guided_attention_g):
    """W (B, N, T): 1 - exp(-(n/N_b - t/T_b)^2 / (2 g^2)) for each clip's own N_b and T_b;
    1 on padded characters."""
    n = torch.arange(N, device=n_chars.device)[None, :, None]
    t = torch.arange(T, device=n_chars.device)[None, None, :]
    W = 1.0 - torch.exp(-((n / n_chars[:, None, None] - t / n_frames[:, None, None]) ** 2) / (2 * g ** 2))
    return W.masked_fill(n >= n_chars[:, None, None], 1.0)


def guided_attention_loss(A, n_chars, n_frames, g=hp.guided_attention_g):
    """Mean of A * W over the real frames of each clip, per real (character, frame) cell."""
    B, N, T = A.shape
    W = guided_attention_weights(n_chars, n_frames, N, T, g)
    frame_mask = torch.arange(T, device=A.device)[None, None, :] < n_frames[:, None, None]
    return (A * W * frame_mask).sum() / (n_chars * n_frames).sum()


def learning_rate(step, base_lr, warmup_steps):
    """The repository's schedule: linear warm-up to base_lr, then decay with 1/sqrt(step)."""
    return base_lr * warmup_steps ** 0.5 * min((step + 1) * warmup_steps ** -1.5, (step + 1) ** -0.5)


def masked_l1(prediction, target, n_frames):
    """Mean |prediction - target| over each clip's first n_frames frames (B,): padding adds nothing."""
    mask = (torch.arange(target.shape[2], device=target.device)[None, :] < n_frames[:, None])[:, None, :]
    return ((prediction - target).abs() * mask).sum() / (mask.sum() * target.shape[1])


def text2mel_loss(text2mel, batch):
    """L1 to the next mel frame (teacher forcing) + guided attention, over each clip's own frames."""
    L, S, _, n_chars, n_frames = batch
    S_next = torch.cat((S[:, :, 1:], torch.zeros_like(S[:, :, :1])), dim=2)
    _, Y, A = text2mel(L, S)
    return masked_l1(Y, S_next, n_frames) + guided_attention_loss(A, n_chars, n_frames)


def ssrn_loss(ssrn, batch, max_frames=None):
    """L1 between predicted and true magnitudes over the real frames; with max_frames, on one random
    window per clip, inside that clip."""
    _, S, M, _, n_frames = batch
    if max_frames is not None and S.shape[2] > max_frames:
        S, M, n_frames = tts_data.random_windows(S, M, n_frames, max_frames, hp.reduction_rate)
    return masked_l1(ssrn(S)[1], M, n_frames * hp.reduction_rate)


def train(model, loss_fn, dataset, checkpoint_path, steps, base_lr, warmup_steps, batch_size=4,
          save_every=100, seed=0, log_every=1):
    """Train to `steps` optimizer steps, resuming from checkpoint_path if it exists; returns all losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=base_lr)
    step, losses = 0, []
    if Path(checkpoint_path).exists():
        step, losses = tts_data.load_training_state(checkpoint_path, model, optimizer, hp)
        print(f'resumed {checkpoint_path} at step {step}')
    model.train()
    device = next(model.parameters()).device
    while step < steps:
        # Batches and dropout come from (seed, step): a resumed run takes exactly the same steps.
        generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
        indices = torch.randperm(len(dataset), generator=generator)[:batch_size].tolist()
        batch = [x.to(device) for x in tts_data.collate([dataset[i] for i in indices])]
        torch.manual_seed(seed * 1_000_003 + step)
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(step, base_lr, warmup_steps)
        loss = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            print(f'step {step}  loss {losses[-1]:.4f}  lr {optimizer.param_groups[0]["lr"]:.2e}')
        if step % save_every == 0 or step == steps:
            tts_data.save_training_state(checkpoint_path, model, optimizer, step, losses, hp)
    return losses
