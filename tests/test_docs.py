"""The docs: the site builds without a broken link, every config choice is described, the README fits the first
hour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CONFIGS = ROOT / "configs"


def test_the_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("group,page", [("neuron", "neurons.md"), ("dataset", "datasets.md")])
def test_every_choice_is_described_in_the_docs(group, page):
    text = (ROOT / "docs" / page).read_text()
    undescribed = [p.stem for p in (CONFIGS / group).glob("*.yaml") if f"`{p.stem}`" not in text]
    assert not undescribed, f"describe {undescribed} in docs/{page}"


def test_the_readme_fits_the_first_hour_and_links_only_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert text.count("```bash\npython3 -m venv .venv") == 2  # the two set-up commands
    for target in (line.split("](", 1)[1].split(")", 1)[0] for line in text.splitlines() if "](docs/" in line
                   or "](results/" in line):
        assert (ROOT / target).exists(), target
