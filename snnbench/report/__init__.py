"""What the records say, for people: ``snnbench status``, ``table`` and ``plot``. Imports neither torch nor Hydra."""
