"""``python -m snnbench`` is the same as the ``snnbench`` command."""

from snnbench.cli import main

main()
