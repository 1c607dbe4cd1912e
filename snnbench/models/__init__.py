"""Network templates. Each takes a neuron factory, the per-step input shape and the class count,
and maps ``[T, N, *step_shape]`` to logits ``[T, N, num_classes]``; any neuron fits any template."""

from snnbench.models.conv_net import ConvNet, SeqConvNet
from snnbench.models.mlp_net import MLPNet
from snnbench.models.prf_net import PRFNet
from snnbench.models.vgg import VGG

__all__ = ["ConvNet", "MLPNet", "PRFNet", "SeqConvNet", "VGG"]
