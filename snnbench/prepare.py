"""``snnbench prepare sdn [overrides]``: train the surrogate dynamic network that ``neuron=sdn_lif`` runs on, once,
with the settings of the composed ``neuron=sdn_lif`` config, into ``data_root/sdn/`` (the settings in the name)."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

import torch

from snnbench.config import compose
from snnbench.neurons.sdn_lif import SDNLIF, SDNSettings, fused, load_weights, make_weights, simulate_lif


def held_out_check(settings: SDNSettings, root: str) -> str:
    """Membrane error and spike agreement of the saved SDN against the sequential LIF on fresh inputs."""
    state, digest = load_weights(settings.path(root))
    neuron = SDNLIF(fused(state), settings.kernel, settings.v_threshold, lambda h: (h >= 0).float(), {})
    x = torch.randn(256, 1024, generator=torch.Generator().manual_seed(settings.seed + 1))
    membrane, spikes = simulate_lif(x, settings.decay, settings.v_threshold)
    predicted = neuron.predict(x.T).T
    agreement = ((predicted + x >= settings.v_threshold).float() == spikes).float().mean().item()
    return (f"held out (256 x 1024 N(0,1) steps): membrane MAE {(predicted - membrane).abs().mean().item():.4f}, "
            f"spike agreement {agreement:.4f}; sha256 {digest[:16]}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench prepare", description=__doc__)
    parser.add_argument("what", choices=["sdn"], help="what to prepare")
    parser.add_argument("--config-dir", "-cd", action="append", default=[], metavar="DIR")
    parser.add_argument("--force", action="store_true", help="train again even if the weights exist")
    parser.add_argument("overrides", nargs="*", help="neuron.KEY=... settings of neuron=sdn_lif, data_root=...")
    args = parser.parse_intermixed_args(argv)
    cfg = compose([*(a for d in args.config_dir for a in ("--config-dir", d)), "neuron=sdn_lif", *args.overrides])
    settings = SDNSettings(**{f.name: (float if f.type == "float" else int)(cfg.neuron[f.name])
                              for f in fields(SDNSettings)})
    root = str(cfg.neuron.root)
    path = settings.path(root)
    if path.is_file() and not args.force:
        print(f"SDN weights already at {path} (--force trains them again)")
    else:
        start = time.monotonic()
        make_weights(settings, root)
        print(f"SDN weights written to {path} in {time.monotonic() - start:.1f} s")
    print(held_out_check(settings, root))
