"""The interface of every dataset: check what is on disk, prepare it once, load it for training."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from snnbench.data.bundle import DataBundle
from snnbench.errors import ConfigError


class MissingDataError(ConfigError):
    """The data is not on disk (or is corrupt) and could not be fetched; the message says what to place where."""


@dataclass(frozen=True)
class FileCheck:
    """One file or folder a dataset needs, and whether it is there."""

    path: Path
    present: bool
    what: str


class DataSource(ABC):
    """A dataset as snnbench uses it. ``load`` prepares whatever is missing, then returns the bundle.

    ``step_shape`` and ``num_classes`` are known without touching the disk, so a network can be built
    (``snnbench info``) on a machine that does not hold the data.
    """

    step_shape: tuple[int, ...]
    num_classes: int

    def check(self) -> list[FileCheck]:
        """What this dataset needs on disk and what of it is present; nothing for embedded data."""
        return []

    def missing(self) -> list[str]:
        """The names of the files :meth:`check` finds absent."""
        return [c.path.name for c in self.check() if not c.present]

    def prepare(self) -> None:
        """One-off work (download, event-to-frame conversion), done by loading once; cheap when in place."""
        self.load()

    @abstractmethod
    def load(self) -> DataBundle:
        """Train and test sets, ready for a DataLoader."""
