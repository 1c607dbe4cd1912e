"""CIFAR-10 / CIFAR-100 through torchvision, as static images or as sequences (one column per step).

On disk under ``data_root``: ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` or
``cifar-100-python/{train, test, meta}``, exactly as torchvision's download extracts them.

=============  =========  ==============================  ==============================
dataset        encoding   sample                          T
=============  =========  ==============================  ==============================
cifar10/100    static     [3, 32, 32], repeated over T     default 4
seq_cifar10/100 sequence  [32 (columns = steps), 3, 32]    32: batch [N,C,H,W] -> [W,N,C,H]
pixel_cifar10  sequence   [1024 (pixels = steps), 3]       1024: row by row, 3 channels per step
=============  =========  ==============================  ==============================

``dataset.build.grayscale=true`` (pixel CIFAR only): the Long Range Arena's image task as the SSM papers run it,
one grey value per step (torchvision's Grayscale, then S4's normalisation: mean 122.6/255, std 61.0/255).

Train augmentation (the PSN paper's, each switchable): horizontal flip (for sequences it reverses time),
TrivialAugmentWide (bilinear interpolation, as the official ``ClassificationPresetTrain``), normalisation, RandomErasing(p), and per batch one of Mixup(alpha) or CutMix(alpha).
Test: normalisation only.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Literal
from urllib.error import URLError

import torch
from torch.utils.data import default_collate
from torchvision import datasets
from torchvision.transforms import v2

from snnbench.data.bundle import DataBundle
from snnbench.data.source import DataSource, FileCheck, MissingDataError
from snnbench.errors import ConfigError

Variant = Literal["cifar10", "cifar100"]
STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.50708, 0.48655, 0.44092), (0.26733, 0.25644, 0.27615)),
}
GRAY_STATS = {  # S4's grayscale normalisation (its CIFAR data module), the LRA image task's
    "cifar10": ((122.6 / 255.0,), (61.0 / 255.0,)),
    "cifar100": ((124.3 / 255.0,), (63.9 / 255.0,)),
}
URLS = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}
CLASSES = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}
#: TrivialAugmentWide's interpolation for ShearX/Y and Rotate (torchvision's default is nearest).
INTERPOLATIONS = {"bilinear": v2.InterpolationMode.BILINEAR, "nearest": v2.InterpolationMode.NEAREST}


def _presence_checked(cls: type[datasets.CIFAR10]) -> type[datasets.CIFAR10]:
    """torchvision's class with its md5 checks turned into presence checks (``verify_md5: false``)."""
    return type(cls.__name__, (cls,), {
        "train_list": [[name, None] for name, _ in cls.train_list],
        "test_list": [[name, None] for name, _ in cls.test_list],
        "meta": {**cls.meta, "md5": None},
    })


class BatchTransform:
    """Collate a batch, then apply Mixup/CutMix (train) and the image-to-sequence layout."""

    def __init__(self, mix: v2.Transform | None, sequential: bool, pixels: bool = False) -> None:
        self.mix, self.sequential, self.pixels = mix, sequential, pixels

    def __call__(self, batch: list) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = default_collate(batch)
        if self.mix is not None:
            x, y = self.mix(x, y)
        if self.pixels:
            x = x.flatten(2).transpose(1, 2)  # [N, C, H, W] -> [N, H*W, C]: one pixel per step, row by row
        elif self.sequential:
            x = x.permute(0, 3, 1, 2)  # [N, C, H, W] -> [N, W, C, H]: one column per time step
        return x, y


class CIFAR(DataSource):
    """CIFAR-10/100 as static images or column sequences (see the module docstring)."""

    def __init__(self, T: int, root: str, variant: Variant = "cifar10", sequential: bool = False,
                 download: bool = True, verify_md5: bool = True, flip: bool = True, trivial_augment: bool = True,
                 random_erasing: float = 0.1, mixup_alpha: float = 0.2, cutmix_alpha: float = 1.0,
                 interpolation: str = "bilinear", pixels: bool = False, grayscale: bool = False) -> None:
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"dataset.build.interpolation={interpolation!r}; choose one of {', '.join(INTERPOLATIONS)}")
        if variant not in CLASSES:
            raise ConfigError(f"unknown CIFAR variant '{variant}'; choose cifar10 or cifar100")
        if pixels and T != 1024:
            raise ConfigError(f"pixel {variant} has exactly 1024 time steps (pixels); got T={T}, remove the T override")
        if grayscale and not pixels:
            raise ConfigError("dataset.build.grayscale=true is the pixel-by-pixel task only (the Long Range Arena's "
                              "image task): use dataset=pixel_cifar10, or drop the grayscale override")
        if sequential and not pixels and T != 32:
            raise ConfigError(f"sequential {variant} has exactly 32 time steps (image columns); got T={T}, remove the T override")
        self.T, self.root, self.variant, self.sequential, self.pixels = T, Path(root), variant, sequential or pixels, pixels
        self.download, self.verify_md5 = download, verify_md5
        self.flip, self.trivial_augment, self.random_erasing = flip, trivial_augment, random_erasing
        self.mixup_alpha, self.cutmix_alpha = mixup_alpha, cutmix_alpha
        self.interpolation = INTERPOLATIONS[interpolation]
        self.cls = CLASSES[variant] if verify_md5 else _presence_checked(CLASSES[variant])
        self.grayscale = grayscale
        self.step_shape = ((1,) if grayscale else (3,)) if pixels else (3, 32) if sequential else (3, 32, 32)
        self.num_classes = 10 if variant == "cifar10" else 100

    @property
    def folder(self) -> Path:
        return self.root / self.cls.base_folder

    def check(self) -> list[FileCheck]:
        names = [n for n, _ in self.cls.train_list + self.cls.test_list] + [self.cls.meta["filename"]]
        return [FileCheck(self.folder / n, (self.folder / n).is_file(), f"{self.variant} batch") for n in names]

    def _missing(self, reason: str) -> MissingDataError:
        return MissingDataError(
            f"{self.variant} is not usable in {self.folder} ({reason}). "
            f"Missing: {', '.join(self.missing()) or 'none (a file is corrupt: delete the folder)'}. "
            f"Download {URLS[self.variant]} and extract it into {self.root} "
            f"(or run online with dataset.build.download=true)"
        )

    def _dataset(self, train: bool, transform: v2.Transform) -> datasets.CIFAR10:
        try:
            return self.cls(str(self.root), train=train, transform=transform,
                            download=self.download and bool(self.missing()))
        except (URLError, OSError) as err:
            raise self._missing(f"download failed: {err}") from None
        except RuntimeError as err:
            raise self._missing(str(err).split(".")[0]) from None
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError) as err:
            raise self._missing(f"corrupt file: {type(err).__name__}: {err}") from None

    def load(self) -> DataBundle:
        mean, std = (GRAY_STATS if self.grayscale else STATS)[self.variant]
        grey = [v2.Grayscale(num_output_channels=1)] if self.grayscale else []
        to_tensor = [*grey, v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
        train_steps: list[v2.Transform] = []
        if self.flip:
            train_steps.append(v2.RandomHorizontalFlip())
        if self.trivial_augment:
            train_steps.append(v2.TrivialAugmentWide(interpolation=self.interpolation))
        train_steps += to_tensor
        if self.random_erasing > 0:
            train_steps.append(v2.RandomErasing(p=self.random_erasing))
        num_classes = self.num_classes
        mixes = []
        if self.mixup_alpha > 0:
            mixes.append(v2.MixUp(alpha=self.mixup_alpha, num_classes=num_classes))
        if self.cutmix_alpha > 0:
            mixes.append(v2.CutMix(alpha=self.cutmix_alpha, num_classes=num_classes))
        mix = v2.RandomChoice(mixes) if mixes else None
        train = self._dataset(train=True, transform=v2.Compose(train_steps))
        test = self._dataset(train=False, transform=v2.Compose(to_tensor))
        return DataBundle(
            train=train, test=test, num_classes=num_classes,
            step_shape=self.step_shape, T=self.T,
            encoding="sequence" if self.sequential else "static",
            collate_train=BatchTransform(mix, self.sequential, self.pixels),
            collate_test=BatchTransform(None, self.sequential, self.pixels),
        )
