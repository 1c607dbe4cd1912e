"""SpikingSSM's surrogate dynamic network (SDN): a small network, trained once, that predicts a hard-reset LIF's
membrane from its input alone, so that the neuron runs in parallel (Shen et al., "SpikingSSMs: Learning Long
Sequences with Sparse and Parallel Spiking State Space Models", AAAI 2025, arXiv 2408.14909; official code
shenshuaijie/SDN: ``model.py``, ``generate.py``, ``train.py``, ``src/models/spike/neuron.py``)."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from snnbench.errors import ConfigError
from snnbench.neurons.registry import register
from snnbench.runs.files import atomic_write


@dataclass(frozen=True)
class SDNSettings:
    """What makes a set of SDN weights: the LIF it imitates and how it was trained (all in the file name)."""

    decay: float = 0.125       # the LIF's membrane decay (official checkpoint: 0.125)
    v_threshold: float = 1.0
    width: int = 8             # channels (official d_model 8)
    kernel: int = 8            # causal depthwise kernel (official 8)
    samples: int = 8192        # simulated input sequences, N(0, 1) currents (official 50,000 of 1,024 steps)
    steps: int = 128
    epochs: int = 30           # official 100
    seed: int = 0

    def file_name(self) -> str:
        return (f"sdn_decay{self.decay:g}_vth{self.v_threshold:g}_d{self.width}k{self.kernel}_n{self.samples}"
                f"_T{self.steps}_e{self.epochs}_seed{self.seed}.pt")

    def path(self, root: str | Path) -> Path:
        return Path(root).expanduser() / "sdn" / self.file_name()


class SurrogateDynamicNetwork(nn.Module):
    r"""The official SDN: a 1x1 encoder to ``width`` channels, a causal depthwise convolution over the
    ``kernel`` steps strictly before each step, batch norm and ReLU, a 1x1 convolution with batch norm added back
    and ReLU, a 1x1 decoder. Input and output ``[M, 1, T]``: the membrane after the decay, before this step's
    input."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.encoder = nn.Conv1d(1, width, 1, bias=False)
        self.temporal = nn.Conv1d(width, width, kernel, padding=kernel, groups=width)
        self.temporal_norm = nn.BatchNorm1d(width)
        self.mixing = nn.Conv1d(width, width, 1)
        self.mixing_norm = nn.BatchNorm1d(width)
        self.decoder = nn.Conv1d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[-1]
        h = F.relu(self.temporal_norm(self.temporal(self.encoder(x))[..., :steps]))
        h = F.relu(self.mixing_norm(self.mixing(h)) + h)
        return self.decoder(h)


def simulate_lif(x: torch.Tensor, decay: float, v_threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The hard-reset LIF the SDN imitates, step by step over the last axis: the membrane after the decay and
    before the input (the SDN's target) and the spikes. U[t] = decay V[t-1] + X[t]; S = Θ(U - V_th);
    V = U (1 - S)."""
    v = torch.zeros_like(x[..., 0])
    decayed, spikes = [], []
    for t in range(x.shape[-1]):
        v = decay * v
        decayed.append(v)
        u = v + x[..., t]
        s = (u >= v_threshold).to(x)
        spikes.append(s)
        v = u * (1 - s)
    return torch.stack(decayed, -1), torch.stack(spikes, -1)


def train_sdn(settings: SDNSettings, progress: Callable[[int, float], None] | None = None) -> dict[str, torch.Tensor]:
    """Train an SDN as the official ``train.py`` does (simulated N(0, 1) currents, smooth L1 on the decayed
    membrane, AdamW lr 0.01 weight decay 0.01, cosine over the epochs, batch 64), CPU-sized by ``settings``,
    deterministic for its seed. Returns the network's state dict."""
    generator = torch.Generator().manual_seed(settings.seed)
    inputs = torch.randn(settings.samples, 1, settings.steps, generator=generator)
    targets, _ = simulate_lif(inputs, settings.decay, settings.v_threshold)
    torch.manual_seed(settings.seed)
    net = SurrogateDynamicNetwork(settings.width, settings.kernel)
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.epochs)
    loss_fn = nn.SmoothL1Loss()
    for epoch in range(settings.epochs):
        net.train()
        order = torch.randperm(settings.samples, generator=generator)
        total = 0.0
        for start in range(0, settings.samples, 64):
            batch = order[start:start + 64]
            loss = loss_fn(net(inputs[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        if progress:
            progress(epoch, total / settings.samples)
    return net.eval().state_dict()


def save_weights(state: dict[str, torch.Tensor], settings: SDNSettings, root: str | Path) -> Path:
    path = settings.path(root)
    atomic_write(path, lambda tmp: torch.save({"settings": asdict(settings), "state_dict": state}, tmp))
    return path


def fused(state: dict[str, torch.Tensor], eps: float = 1e-5) -> dict[str, torch.Tensor]:
    """The evaluation-mode SDN with its batch norms folded into the convolutions before them (as the official
    ``convert.ipynb`` reduces it): weights that training never touches, stored as buffers."""
    def fold(prefix: str, norm: str) -> tuple[torch.Tensor, torch.Tensor]:
        scale = state[f"{norm}.weight"] / torch.sqrt(state[f"{norm}.running_var"] + eps)
        weight = state[f"{prefix}.weight"] * scale.view(-1, 1, 1)
        bias = (state[f"{prefix}.bias"] - state[f"{norm}.running_mean"]) * scale + state[f"{norm}.bias"]
        return weight, bias

    temporal_w, temporal_b = fold("temporal", "temporal_norm")
    mixing_w, mixing_b = fold("mixing", "mixing_norm")
    return {"encoder_w": state["encoder.weight"], "temporal_w": temporal_w, "temporal_b": temporal_b,
            "mixing_w": mixing_w, "mixing_b": mixing_b, "decoder_w": state["decoder.weight"],
            "decoder_b": state["decoder.bias"]}


class SDNLIF(nn.Module):
    r"""A hard-reset LIF (decay :math:`\lambda`, threshold :math:`V_{th}`, reset to 0) run through its SDN:

    .. math::
        \hat V[t] = \mathrm{SDN}(X[t-k \dots t-1]), \qquad S[t] = \Theta(\hat V[t] + X[t] - V_{th})

    The SDN predicts the decayed membrane before step :math:`t`'s input from the :math:`k` inputs before it, all
    steps at once; as in the official ``SDNNeuron`` the prediction carries no gradient (the surrogate's derivative
    reaches :math:`X[t]` directly). An approximation by design: ``tests/test_reset_parallel.py`` measures its
    membrane error and spike agreement against the sequential LIF on held-out inputs. The SDN's convolutions are
    counted as the MACs they are (about 40 per neuron and step at width 8), next to the network's SynOps.
    """

    def __init__(self, weights: dict[str, torch.Tensor], kernel: int, v_threshold: float, surrogate: nn.Module,
                 provenance: dict[str, str]) -> None:
        super().__init__()
        for name, value in weights.items():
            self.register_buffer(name, value.clone())
        self.kernel, self.v_threshold, self.surrogate = kernel, v_threshold, surrogate
        self._provenance = provenance

    @torch.no_grad()
    def predict(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The decayed membrane before each step's input, for ``x_seq`` of shape ``[T, ...]``."""
        steps = x_seq.shape[0]
        flat = x_seq.detach().reshape(steps, -1).T.unsqueeze(1)  # [M, 1, T]
        h = F.conv1d(flat, self.encoder_w)
        h = F.relu(F.conv1d(h, self.temporal_w, self.temporal_b, padding=self.kernel, groups=h.shape[1])[..., :steps])
        h = F.relu(F.conv1d(h, self.mixing_w, self.mixing_b) + h)
        return F.conv1d(h, self.decoder_w, self.decoder_b).squeeze(1).T.reshape(x_seq.shape)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.surrogate(self.predict(x_seq) + x_seq - self.v_threshold)

    def provenance(self) -> dict[str, str]:
        """What a run that uses this neuron records: the weights file and its SHA-256."""
        return dict(self._provenance)

    def extra_repr(self) -> str:
        return f"v_threshold={self.v_threshold}, weights={self._provenance['sdn_weights']}"


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the weights themselves (names, shapes, values), not of the file: the same training gives the
    same digest wherever it was saved."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def load_weights(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict saved at ``path`` and its :func:`weights_digest`."""
    state = torch.load(path, weights_only=True)["state_dict"]
    return state, weights_digest(state)


def make_weights(settings: SDNSettings, root: str | Path) -> Path:
    """Train the SDN for ``settings`` with a progress bar and cache it under ``root/sdn/``; its path."""
    from tqdm import tqdm

    with tqdm(total=settings.epochs, desc="SDN", unit="epoch", dynamic_ncols=True) as bar:
        def progress(epoch: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.5f}")
            bar.update()

        state = train_sdn(settings, progress)
    try:
        return save_weights(state, settings, root)
    except OSError as err:
        raise ConfigError(f"cannot write the SDN weights to {settings.path(root)} ({err.strerror or err}); "
                          f"point data_root at a writable folder") from None


@register("sdn_lif")
def sdn_lif(T: int, channels: int, surrogate: nn.Module, root: str = "./data", decay: float = 0.125,
            v_threshold: float = 1.0, width: int = 8, kernel: int = 8, samples: int = 8192, steps: int = 128,
            epochs: int = 30, seed: int = 0) -> nn.Module:
    """A hard-reset LIF run through its surrogate dynamic network (see :class:`SDNLIF`). Its weights come from
    ``root/sdn/`` (made by ``snnbench prepare sdn`` with the same settings); where they are missing they are
    trained here first, once (about 10 s on a CPU), deterministic for the seed."""
    settings = SDNSettings(float(decay), float(v_threshold), int(width), int(kernel), int(samples), int(steps),
                           int(epochs), int(seed))
    path = settings.path(root)
    if not path.is_file():
        print(f"no SDN weights at {path}: training them now, once (`snnbench prepare sdn` does this ahead)",
              file=sys.stderr)
        make_weights(settings, root)
    state, digest = load_weights(path)
    return SDNLIF(fused(state), settings.kernel, settings.v_threshold, surrogate,
                  {"sdn_weights": path.name, "sdn_sha256": digest})
