"""Moving the time axis: neurons that mix each channel over time work on ``[M, C, T]`` rows."""

from __future__ import annotations

import torch


def time_last(x_seq: torch.Tensor) -> torch.Tensor:
    """``[T, N, C, *S]`` -> ``[N * prod(S), C, T]``: one row per sample and position, channels, then time."""
    T, N, C = x_seq.shape[:3]
    moved = x_seq.reshape(T, N, C, -1).permute(1, 3, 2, 0)  # [N, L, C, T]
    return moved.reshape(-1, C, T)


def time_first(rows: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The inverse of :func:`time_last` for an input of ``shape``."""
    T, N, C = shape[:3]
    return rows.reshape(N, -1, C, T).permute(3, 0, 2, 1).reshape(shape)


def causal_fft_conv(rows: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``y[..., c, t] = sum_{j <= t} kernel[c, t - j] * rows[..., c, j]`` for every t at once (FFT, zero-padded
    to 2T so that nothing wraps around)."""
    T = rows.shape[-1]
    spectrum = torch.fft.rfft(rows, n=2 * T) * torch.fft.rfft(kernel, n=2 * T)
    return torch.fft.irfft(spectrum, n=2 * T)[..., :T]
