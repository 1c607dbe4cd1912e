"""The PSN paper's recipes: every table row is one command, with the paper's networks and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import results, snnbench
from snnbench.experiment import build_experiment, count_parameters
from snnbench.data.fixtures import write_cifar, write_cifar10dvs
from snnbench.train.loop import train

CONFIGS = Path(__file__).parents[1] / "configs"
EXPERIMENTS = sorted(str(p.relative_to(CONFIGS / "experiment").with_suffix(""))
                     for p in (CONFIGS / "experiment").rglob("*.yaml"))
NEURONS = sorted(p.stem for p in (CONFIGS / "neuron").glob("*.yaml"))
#: (recipe, neuron) pairs with settings of their own in configs/experiment_neuron/
SPECIALISED = {(e, n) for e in EXPERIMENTS for n in NEURONS
               if (CONFIGS / "experiment_neuron" / f"{e}_{n}.yaml").is_file()}
FAST = sorted(SPECIALISED | {(e, "psn") for e in EXPERIMENTS})


@pytest.mark.parametrize("recipe,neuron", FAST)
def test_every_recipe_builds_with_psn_and_with_each_neuron_it_has_settings_for(compose_cfg, recipe, neuron):
    cfg = compose_cfg([f"experiment={recipe}", f"neuron={neuron}"])
    assert cfg.recipe == recipe and cfg.neuron.name == neuron
    build_experiment(cfg, load_data=False)


@pytest.mark.slow
@pytest.mark.parametrize("recipe,neuron", sorted({(e, n) for e in EXPERIMENTS for n in NEURONS} - set(FAST)))
def test_every_recipe_composes_with_every_neuron(compose_cfg, recipe, neuron):
    cfg = compose_cfg([f"experiment={recipe}", f"neuron={neuron}"])
    assert cfg.recipe == recipe and cfg.neuron.name == neuron


#: the rows of the PSN paper's sequential-CIFAR table (a fact of the paper, not a list of what snnbench has)
SEQ_CIFAR_ROWS = ["psn", "masked_psn", "sliding_psn", "glif", "plif", "klif", "lif", "lif_noreset"]


def test_sequential_cifar_recipe_values(compose_cfg):
    for neuron in SEQ_CIFAR_ROWS:
        cfg = compose_cfg(["experiment=psn_paper/seq_cifar10", f"neuron={neuron}"])
        assert (cfg.T, cfg.trainer.epochs, cfg.trainer.batch_size, cfg.trainer.drop_last) == (32, 256, 128, True)
        assert cfg.loss._target_.endswith("MeanOutputCrossEntropy") and cfg.loss.label_smoothing == 0.1
        assert cfg.sched._target_.endswith("CosineAnnealingLR") and cfg.sched.T_max == 256
        expected = ("adamw", 0.001, None) if neuron == "sliding_psn" else ("sgd", 0.1, 0.9)
        assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == expected and cfg.optim.weight_decay == 0
        if neuron in ("masked_psn", "sliding_psn"):
            assert cfg.neuron.k == 32
        if neuron == "masked_psn":
            assert cfg.neuron.lambda_ramp == 8.0
    assert compose_cfg(["experiment=psn_paper/seq_cifar100"]).dataset.name == "seq_cifar100"


def test_cifar10_and_dvs_recipe_values(compose_cfg):
    cfg = compose_cfg(["experiment=psn_paper/cifar10"])
    assert (cfg.T, cfg.trainer.epochs, cfg.trainer.batch_size, cfg.optim.lr, cfg.model.channels) == (4, 1024, 128, 0.1, 256)
    for T in (4, 8, 10):
        cfg = compose_cfg(["experiment=psn_paper/cifar10dvs", f"T={T}"])
        assert (cfg.T, cfg.neuron.name, cfg.neuron.k, cfg.neuron.exp_init) == (T, "sliding_psn", 2, True)
        assert (cfg.trainer.epochs, cfg.trainer.batch_size, cfg.trainer.amp) == (200, 32, False)
        assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum, cfg.optim.weight_decay) == ("sgd", 0.1, 0.9, 5e-4)
        assert cfg.loss._target_.endswith("TETLoss") and (cfg.loss.lam, cfg.loss.mse_target) == (0.001, 1.0)
    order = compose_cfg(["experiment=psn_paper/order_k", "neuron=sliding_psn", "neuron.k=5"])
    assert (order.dataset.name, order.neuron.k, order.optim.name) == ("seq_cifar100", 5, "adamw")


def test_parameter_counts_match_the_papers_layer_lists(compose_cfg):
    def count(recipe: str, *extra: str) -> int:
        cfg = compose_cfg([f"experiment=psn_paper/{recipe}", "neuron=psn", *extra])
        return count_parameters(build_experiment(cfg, load_data=False).model)

    psn = lambda T, layers: layers * (T * T + T)  # noqa: E731  each PSN layer: W [T, T] and B [T]
    # sequential CIFAR-10, c 128, T 32: 6 convs (k 3, no bias), 6 BN (weight, bias), 7 PSN, FC 1024-256-10
    convs = 3 * 128 * 3 + 5 * 128 * 128 * 3
    assert count("seq_cifar10") == convs + 6 * 2 * 128 + psn(32, 7) + (1024 * 256 + 256) + (256 * 10 + 10)
    # CIFAR-10, c 256, T 4: 6 convs 3x3 (no bias), 6 BN, 7 PSN, FC 16384-4096-10
    convs = 3 * 256 * 9 + 5 * 256 * 256 * 9
    assert count("cifar10") == convs + 6 * 2 * 256 + psn(4, 7) + (16384 * 4096 + 4096) + (4096 * 10 + 10)
    # CIFAR10-DVS VGG, T 10: 8 convs 3x3 with bias, 8 BN, 8 PSN, FC 512*3*3-10
    widths = [2, 64, 128, 256, 256, 512, 512, 512, 512]
    convs = sum(a * b * 9 + b for a, b in zip(widths, widths[1:]))
    assert count("cifar10dvs") == convs + 2 * sum(widths[1:]) + psn(10, 8) + (512 * 9 * 10 + 10)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe_data")
    write_cifar(root, "cifar10", n_train=20, n_test=10)
    write_cifar(root, "cifar100", n_train=20, n_test=10)
    write_cifar10dvs(root / "cifar10dvs", [0, 100], events_per_sample=2000)
    return root


TINY = {
    "seq_cifar10": ["model.channels=8", "model.hidden=16"],
    "seq_cifar100": ["model.channels=8", "model.hidden=16"],
    "order_k": ["model.channels=8", "model.hidden=16", "neuron.k=2"],
    "cifar10": ["model.channels=8", "model.hidden=16"],
    "cifar10dvs": ["T=4", "model.layers=[8,M,8,M,8,M,8,M]"],
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(TINY))
def test_one_training_epoch_of_each_recipe(compose_cfg, data_root, tmp_path, recipe):
    torch.manual_seed(0)
    cfg = compose_cfg([f"experiment=psn_paper/{recipe}", f"data_root={data_root}", f"runs_dir={tmp_path}",
                       "trainer.epochs=1", "trainer.batch_size=10", "trainer.num_workers=0",
                       *(["++dataset.build.verify_md5=false"] if recipe != "cifar10dvs" else []), *TINY[recipe]])
    record = train(cfg).record
    assert record["status"] == "done" and record["epochs_done"] == 1


@pytest.mark.slow
def test_info_prints_the_network_and_its_parameters(tmp_path):
    proc = snnbench("info", "experiment=psn_paper/seq_cifar10", "neuron=psn", runs_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "parameters: 520810" and "PSN" in proc.stdout


@pytest.mark.slow
def test_cfg_job_shows_the_sliding_psn_recipe(tmp_path):
    proc = snnbench("train", "experiment=psn_paper/seq_cifar10", "neuron=sliding_psn", "--cfg", "job", "--resolve",
                    runs_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for text in ("name: adamw", "lr: 0.001", "epochs: 256", "batch_size: 128", "T: 32", "k: 32"):
        assert text in out, text


@pytest.mark.slow
def test_an_overridden_recipe_records_the_override(data_root, tmp_path):
    proc = snnbench("train", "experiment=psn_paper/seq_cifar10", "optim.lr=0.05", f"data_root={data_root}",
                    "++dataset.build.verify_md5=false", "trainer.epochs=1", "trainer.batch_size=10",
                    "trainer.num_workers=0", "model.channels=8", "model.hidden=16", runs_dir=tmp_path / "runs")
    assert proc.returncode == 0, proc.stderr
    (record,) = results(tmp_path / "runs")
    assert record["recipe"] == "psn_paper/seq_cifar10" and "optim.lr=0.05" in record["overrides"]
    config = next((tmp_path / "runs").rglob("config.yaml")).read_text()
    assert "lr: 0.05" in config and "recipe: psn_paper/seq_cifar10" in config


@pytest.mark.parametrize("script,runs,table", [
    ("sweep_seq_cifar", 48, "seq_cifar"), ("sweep_order_k", 64, "order_k"), ("sweep_cifar10", 3, "cifar10"),
    ("sweep_cifar10dvs", 9, "cifar10dvs"), ("sweep_shd", 30, "shd"), ("sweep_digits", 3 * len(NEURONS), "digits"),
    ("sweep_xue_seq_cifar", 48, "xue_seq_cifar"), ("sweep_xue_order_k", 7, "xue_order_k"),
    ("sweep_prf_long_sequences", 90, "prf_long_sequences"), ("sweep_clif_cifar10dvs", 9, "clif_cifar10dvs"),
    ("sweep_reset_vs_no_reset", 48, "reset_vs_no_reset"),
])
@pytest.mark.slow
def test_table_scripts_dry_run_lists_their_runs(tmp_path, script, runs, table):
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / f"{script}.py"
    proc = subprocess.run([sys.executable, str(path), "--dry-run"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"table '{table}': {runs} runs" in proc.stdout and "rough time" in proc.stdout
    assert "snnbench train -m" in proc.stdout and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("recipe,neuron,expected", [
    ("xue2025/seq_cifar10", "cpsn", {"optim.name": "adamw", "optim.lr": 0.001, "neuron.k": 16, "T": 32}),
    ("xue2025/seq_cifar100", "pmsn", {"optim.name": "adamw", "dataset.name": "seq_cifar100", "trainer.epochs": 256}),
    ("prf2024/smnist", "prf", {"T": 784, "model._target_": "snnbench.models.PRFNet", "model.depth": 2,
                               "model.width": 128, "optim.lr": 0.005, "sched.warmup": 0.05}),
    ("prf2024/psmnist", "lif", {"dataset.build.permuted": True, "optim.weight_decay": 0.05, "trainer.epochs": 200}),
    ("prf2024/pixel_cifar10", "pmsn", {"T": 1024, "model.depth": 6, "model.width": 128, "model.bidirectional": True,
                                       "trainer.batch_size": 64, "optim.lr": 0.01}),
    ("prf2024/pixel_cifar10", "prf_train", {"neuron.tau": 4.0, "neuron.max_phase": 12.566370614359172}),
    ("clif2024/cifar10dvs", "sliding_psn", {"T": 10, "neuron.k": 2, "neuron.exp_init": True,
                                            "surrogate._target_": "spikingjelly.activation_based.surrogate.Rect"}),
    ("clif2024/cifar10dvs", "lif", {"neuron.decay_input": False, "neuron.detach_reset": False,
                                    "neuron.surrogate.alpha": 1.0, "surrogate._target_":
                                    "spikingjelly.activation_based.surrogate.Rect"}),
    ("clif2024/cifar10dvs", "clif", {"surrogate._target_": "spikingjelly.activation_based.surrogate.Rect"}),
    ("prf2024/smnist", "prf", {"neuron.dynamics_lr": 0.001, "neuron.dynamics_weight_decay": 0.0}),
])
def test_successor_recipes_compose_with_their_sources_settings(compose_cfg, recipe, neuron, expected):
    from omegaconf import OmegaConf

    cfg = compose_cfg([f"experiment={recipe}", f"neuron={neuron}"])
    assert cfg.recipe == recipe
    for key, value in expected.items():
        assert OmegaConf.select(cfg, key) == value, key


@pytest.mark.parametrize("recipe,neuron,count", [
    ("prf2024/smnist", "prf_train", 68_876),   # the paper's 68.9k (Table 2)
    ("prf2024/psmnist", "prf_train", 68_876),
    ("prf2024/smnist", "prf", 68_620),         # PRF with its decay fixed: 256 fewer
    ("prf2024/pixel_cifar10", "prf_train", 304_400),  # the paper says 0.29M; the released command gives this
])
def test_prf_recipes_build_the_papers_network(compose_cfg, recipe, neuron, count):
    cfg = compose_cfg([f"experiment={recipe}", f"neuron={neuron}"])
    assert cfg.model._target_ == "snnbench.models.PRFNet"
    assert count_parameters(build_experiment(cfg, load_data=False).model) == count


def test_info_prints_our_count_beside_the_papers(tmp_path):
    proc = snnbench("info", "experiment=prf2024/smnist", "neuron=prf_train", runs_dir=tmp_path / "runs")
    assert proc.returncode == 0, proc.stderr
    assert "parameters: 68876 (the paper's network: 68.9k (Table 2, with its PRF))" in proc.stdout
