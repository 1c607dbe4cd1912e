"""Run folders: one folder per result-changing config, atomic files."""

from __future__ import annotations

from snnbench.runs import RunFolder, atomic_write_text, config_signature


def test_signature_ignores_paths_and_seed_but_not_settings(compose_cfg):
    base = config_signature(compose_cfg())
    assert config_signature(compose_cfg(["data_root=/elsewhere", "runs_dir=/other", "seed=7"])) == base
    assert config_signature(compose_cfg(["trainer.num_workers=2"])) == base
    assert config_signature(compose_cfg(["optim.lr=0.05"])) != base
    assert config_signature(compose_cfg(["neuron=lif"])) != base


def test_folder_layout(compose_cfg, tmp_path):
    run = RunFolder.for_config(compose_cfg([f"runs_dir={tmp_path}", "seed=3", "neuron=lif"]))
    assert run.path.relative_to(tmp_path).parts[:2] == ("seq_digits", "lif")
    assert run.path.name == "seed=3"


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "result.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
