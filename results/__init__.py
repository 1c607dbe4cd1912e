"""Installed as ``snnbench.results``: the paper's numbers (``paper/``) and the table specs (``tables/specs/``)."""
