"""``snnbench export RUN --format nir [-o FILE]``: a trained run's network as a NIR graph (the Neuromorphic
Intermediate Representation read by snnTorch, Norse, Lava, Rockpool, SpiNNaker2 and others).

What NIR can express, and how SpikingJelly's discrete neurons map onto NIR's continuous ones. One SpikingJelly time
step is ``dt`` seconds (``--dt``, default 1e-4 s: the step snnTorch's NIR importer assumes; Norse's importer takes
``dt`` as an argument), and NIR's equations are read with one forward-Euler step per time step:

- LIF (``lif``; ``plif`` with its trained ``tau = 1 / sigmoid(w)``), hard reset to ``v_reset``. SpikingJelly
  charges ``H = V + (X - (V - v_reset)) / tau`` (``decay_input``) or ``H = V - (V - v_reset) / tau + X``; NIR's
  ``tau dv/dt = (v_leak - v) + r I`` stepped by ``dt`` is ``v + dt/tau_nir (v_leak - v + r I)``. So
  ``tau_nir = tau * dt``, ``v_leak = v_reset``, ``r = 1`` (``decay_input``) or ``r = tau`` (not), the same
  ``v_threshold`` and ``v_reset``.
- IF (``if``), hard reset: ``H = V + X`` is NIR's ``dv/dt = r I`` with ``r = 1 / dt``.
- Conv2d and Linear with their BatchNorm folded in (eval statistics: ``w' = w g / sqrt(var + eps)``,
  ``b' = beta + (b - mean) g / sqrt(var + eps)``), AvgPool2d, Flatten (NIR counts dimensions without the batch:
  PyTorch's ``start_dim`` 1 is NIR's 0). Dropout is the identity at inference and is left out.

Refused, in one line: neurons NIR has no primitive for (the parallel spiking neurons of the PSN family and their
successors, which mix time steps; any neuron that resets by subtracting the threshold, ``v_reset: null``, since
NIR's neurons reset to ``v_reset``), and layers without a NIR node (max pooling, 1-D pooling, ...).

Two conventions differ at one point that no float input hits in practice: SpikingJelly fires at ``V >= v_th``,
NIR at ``v > v_th``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import layer, neuron

from snnbench.errors import ConfigError
from snnbench.neurons.contract import neuron_layers

DEFAULT_DT = 1e-4
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
#: SpikingJelly's neuron classes with a NIR node (by exact class name: a subclass may change the dynamics)
EXPRESSIBLE = {"LIFNode", "ParametricLIFNode", "IFNode"}


def _pair(value: int | tuple[int, int]) -> np.ndarray:
    return np.broadcast_to(np.asarray(value), (2,)).copy()


def _array(value: torch.Tensor | float, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(float(value), dtype=np.float32), shape).copy()


def neuron_node(module: nn.Module, shape: tuple[int, ...], dt: float) -> Any:
    """The NIR node of one IF, LIF or PLIF layer over a step of ``shape`` (see the module docstring)."""
    import nir

    if module.v_reset is None:
        raise ConfigError(f"{type(module).__name__} resets by subtracting its threshold (v_reset: null), and NIR's "
                          f"neurons reset to v_reset: train with neuron.v_reset=0.0 to export to NIR")
    threshold, reset = _array(module.v_threshold, shape), _array(module.v_reset, shape)
    if isinstance(module, neuron.IFNode):
        return nir.IF(r=_array(1.0 / dt, shape), v_threshold=threshold, v_reset=reset)
    tau = float(1.0 / module.w.sigmoid()) if isinstance(module, neuron.ParametricLIFNode) else float(module.tau)
    r = 1.0 if module.decay_input else tau
    return nir.LIF(tau=_array(tau * dt, shape), r=_array(r, shape), v_leak=reset.copy(), v_threshold=threshold,
                   v_reset=reset)


def _fold(weight: torch.Tensor, bias: torch.Tensor | None, norm: nn.Module | None) -> tuple[np.ndarray, np.ndarray]:
    """``weight`` and ``bias`` with an eval-mode BatchNorm after them folded in (float64, then float32)."""
    w = weight.detach().double()
    b = bias.detach().double() if bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if norm is not None:
        scale = norm.weight.detach().double() / (norm.running_var.double() + norm.eps).sqrt()
        w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
        b = norm.bias.detach().double() + (b - norm.running_mean.double()) * scale
    return w.float().numpy(), b.float().numpy()


def _flat_modules(model: nn.Module) -> list[nn.Module]:
    """The model's layers in order, the contents of SpikingJelly's sequence containers unpacked."""
    if not isinstance(model, nn.Sequential):
        raise ConfigError(f"{type(model).__name__} is not a chain of layers (nn.Sequential); NIR export reads the "
                          f"conv/linear templates (model=conv_net, mlp_net, seq_conv_net, cifar_net)")
    out: list[nn.Module] = []
    for module in model:
        if isinstance(module, (layer.SeqToANNContainer, layer.MultiStepContainer, nn.Sequential)):
            out += _flat_modules(nn.Sequential(*module.children()))
        else:
            out.append(module)
    return out


def nir_graph(model: nn.Module, step_shape: tuple[int, ...], dt: float = DEFAULT_DT,
              metadata: dict[str, Any] | None = None) -> Any:
    """The NIR graph of ``model`` (a chain of layers, in eval mode) for inputs of one step of ``step_shape``."""
    import nir

    unsupported = sorted({type(m).__name__ for m in neuron_layers(model)} - EXPRESSIBLE)
    if unsupported:
        raise ConfigError(f"NIR has no primitive for {', '.join(unsupported)}: it expresses IF, LIF and PLIF with a "
                          f"reset to v_reset; the PSN family and its successors mix time steps, which no NIR node does")
    modules = _flat_modules(model)
    probe = torch.zeros(1, *step_shape)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(step_shape)})}
    order = ["input"]
    i = 0
    while i < len(modules):
        module, name = modules[i], f"{len(order) - 1}"
        norm = modules[i + 1] if i + 1 < len(modules) and isinstance(modules[i + 1], NORMS) else None
        if isinstance(module, nn.Conv2d):
            weight, bias = _fold(module.weight, module.bias, norm)
            node = nir.Conv2d(input_shape=tuple(probe.shape[2:]), weight=weight, stride=module.stride,
                              padding=module.padding, dilation=module.dilation, groups=module.groups, bias=bias)
            probe = nn.Conv2d.forward(module, probe)  # (SpikingJelly's multi-step wrapper bypassed)
            name, i = f"conv{name}", i + (2 if norm is not None else 1)
        elif isinstance(module, nn.Linear):
            weight, bias = _fold(module.weight, module.bias, norm)
            node, probe = nir.Affine(weight=weight, bias=bias), nn.Linear.forward(module, probe)
            name, i = f"affine{name}", i + (2 if norm is not None else 1)
        elif isinstance(module, nn.AvgPool2d):
            node = nir.AvgPool2d(kernel_size=_pair(module.kernel_size), stride=_pair(module.stride or module.kernel_size),
                                 padding=_pair(module.padding))
            probe = nn.functional.avg_pool2d(probe, module.kernel_size, module.stride, module.padding)
            name, i = f"pool{name}", i + 1
        elif isinstance(module, nn.Flatten):
            node = nir.Flatten(input_type={"input": np.array(probe.shape[1:])}, start_dim=module.start_dim - 1,
                               end_dim=module.end_dim if module.end_dim < 0 else module.end_dim - 1)
            probe = probe.flatten(module.start_dim, module.end_dim)
            name, i = f"flatten{name}", i + 1
        elif isinstance(module, (nn.Dropout, nn.Dropout2d, nn.Identity)):
            i += 1
            continue
        elif isinstance(module, neuron.BaseNode):
            node = neuron_node(module, tuple(probe.shape[1:]), dt)
            name, i = f"{type(node).__name__.lower()}{name}", i + 1
        else:
            raise ConfigError(f"the layer {type(module).__name__} has no NIR node; NIR export reads Conv2d, Linear, "
                              f"BatchNorm, AvgPool2d, Flatten, Dropout and IF/LIF/PLIF neurons")
        nodes[name] = node
        order.append(name)
    nodes["output"] = nir.Output(output_type={"output": np.array(probe.shape[1:])})
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])), metadata=metadata or {})


def export(run: Path, out: Path | None, dt: float = DEFAULT_DT, config_dirs: tuple[str, ...] = ()) -> Path:
    """Write the NIR graph of the run in ``run`` to ``out`` (default ``RUN/model.nir``); returns the path."""
    import nir

    from snnbench.trained import load_run

    loaded = load_run(run, config_dirs)
    step_shape = _step_shape(loaded.config)
    metadata = {"source": "snnbench", "run": str(loaded.path), "signature": str(loaded.record.get("signature")),
                "neuron": str(loaded.record.get("neuron")), "dataset": str(loaded.record.get("dataset")),
                "time_steps": int(loaded.config.T), "dt": dt,
                "discretisation": "one SpikingJelly step = dt; tau_nir = tau * dt; forward Euler"}
    graph = nir_graph(loaded.model, step_shape, dt, metadata)
    out = out or loaded.path / "model.nir"
    partial = out.with_name(f".{out.name}.partial")  # a failed write leaves no half-written graph under the name
    nir.write(str(partial), graph)
    os.replace(partial, out)
    return out


def _step_shape(config: Any) -> tuple[int, ...]:
    from snnbench.experiment import instantiate_checked

    return tuple(instantiate_checked(config.dataset.build, T=config.T).step_shape)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="snnbench export", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder: runs/<dataset>/<neuron>/<signature>/seed=<seed>")
    parser.add_argument("--format", choices=["nir"], default="nir", help="the file format (NIR, an HDF5 file)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="the file to write (default: RUN/model.nir)")
    parser.add_argument("--dt", type=float, default=DEFAULT_DT,
                        help=f"seconds per time step in NIR's time constants (default {DEFAULT_DT}: snnTorch's)")
    parser.add_argument("--config-dir", "-cd", action="append", default=[], metavar="DIR",
                        help="your own config folders, if the run used a neuron or dataset of yours")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("nir") is None:
        raise ConfigError("NIR export needs the nir package: pip install 'snnbench[nir]'")
    out = export(args.run, args.out, args.dt, tuple(args.config_dir))
    print(f"wrote {out} (NIR graph; one time step = {args.dt} s)")
