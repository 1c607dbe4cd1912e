"""Datasets. Each builder returns a :class:`DataBundle` whose samples have a documented time layout."""

from snnbench.data.bundle import DataBundle, to_time_major

__all__ = ["DataBundle", "to_time_major"]
