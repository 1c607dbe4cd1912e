"""Paper datasets through the real loaders, on tiny files written at test time in their genuine formats."""

from __future__ import annotations

import pickle
import subprocess
import sys
import shutil
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from conftest import results, snnbench
from snnbench.data import to_time_major
from snnbench.data.cifar import CIFAR, STATS
from snnbench.data.cifar10dvs import CIFAR10DVS
from snnbench.data.mnist import SequentialMNIST, permutation
from snnbench.data.shd import SHD
from snnbench.data.source import MissingDataError
from snnbench.data.fixtures import write_cifar, write_cifar10dvs, write_mnist, write_shd
from snnbench.errors import ConfigError

DVS_INDICES = [0, 1, 100, 101, 102]  # per class: 0, 1 are test (< 100), 100-102 train


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_cifar(root, "cifar10", n_train=50, n_test=20)
    write_cifar(root, "cifar100", n_train=50, n_test=20)
    write_cifar10dvs(root / "cifar10dvs", DVS_INDICES, events_per_sample=3000)
    write_shd(root, n_train=40, n_test=20)
    write_mnist(root, n_train=30, n_test=10)
    return root


def _first_test_batch(bundle, n=4):
    loader = torch.utils.data.DataLoader(bundle.test, batch_size=n, collate_fn=bundle.collate_test)
    return next(iter(loader))


def test_cifar10_static_images_and_labels(root):
    bundle = CIFAR(T=4, root=root, variant="cifar10", verify_md5=False).load()
    assert (len(bundle.train), len(bundle.test), bundle.num_classes) == (50, 20, 10)
    x, y = _first_test_batch(bundle)
    raw = pickle.load(open(root / "cifar-10-batches-py" / "test_batch", "rb"))
    image = torch.from_numpy(raw["data"][:4].reshape(4, 3, 32, 32)).float() / 255
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in STATS["cifar10"])
    assert torch.allclose(x, (image - mean) / std, atol=1e-5)  # test set: normalisation only
    assert y.tolist() == raw["labels"][:4]
    assert to_time_major(x, bundle.encoding, 4).shape == (4, 4, 3, 32, 32)


def test_sequential_cifar_steps_are_image_columns(root):
    bundle = CIFAR(T=32, root=root, variant="cifar100", sequential=True, verify_md5=False).load()
    x, y = _first_test_batch(bundle)
    seq = to_time_major(x, bundle.encoding, bundle.T)
    assert seq.shape == (32, 4, 3, 32) and bundle.num_classes == 100
    image = CIFAR(T=4, root=root, variant="cifar100", verify_md5=False).load().test[1][0]
    assert torch.equal(seq[7, 1], image[:, :, 7])  # step w of sample n is column w: [W, N, C, H]
    assert y.tolist() == pickle.load(open(root / "cifar-100-python" / "test", "rb"), encoding="latin1")["fine_labels"][:4]


def test_sequential_mnist_is_one_pixel_per_step_and_psmnist_one_fixed_permutation_of_it(root):
    plain = SequentialMNIST(T=784, root=root).load()
    permuted = SequentialMNIST(T=784, root=root, permuted=True, permutation_seed=0).load()
    assert (len(plain.train), len(plain.test), plain.step_shape) == (30, 10, (1,))
    x, y = _first_test_batch(plain)
    xp, yp = _first_test_batch(permuted)
    raw = (root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes()[16:]
    image = torch.tensor(list(raw[:784]), dtype=torch.float32) / 255
    assert torch.allclose(x[0, :, 0], (image - 0.1307) / 0.3081) and y.tolist() == [0, 1, 2, 3]
    order = permutation(0)
    assert torch.equal(xp, x[:, order]) and torch.equal(yp, y) and not torch.equal(order, torch.arange(784))
    assert torch.equal(order, permutation(0)) and not torch.equal(order, permutation(1))
    assert to_time_major(x, plain.encoding, plain.T).shape == (784, 4, 1)


def test_pixel_cifar10_steps_are_pixels_row_by_row(root):
    bundle = CIFAR(T=1024, root=root, variant="cifar10", pixels=True, verify_md5=False, flip=False,
                   trivial_augment=False, random_erasing=0, mixup_alpha=0, cutmix_alpha=0).load()
    x, _ = _first_test_batch(bundle)
    seq = to_time_major(x, bundle.encoding, bundle.T)
    image = CIFAR(T=4, root=root, variant="cifar10", verify_md5=False).load().test[2][0]
    assert seq.shape == (1024, 4, 3) and bundle.step_shape == (3,)
    assert torch.equal(seq[5 * 32 + 7, 2], image[:, 5, 7])  # step t is pixel (row t // 32, column t % 32)


def test_pixel_cifar10_grayscale_is_the_lra_image_task(root):
    """One grey value per step, the LRA image task: torchvision's Grayscale of the stored pixel, S4's mean and std;
    asking for grayscale on a non-pixel layout is refused in one line."""
    bundle = CIFAR(T=1024, root=root, variant="cifar10", pixels=True, grayscale=True, verify_md5=False, flip=False,
                   trivial_augment=False, random_erasing=0, mixup_alpha=0, cutmix_alpha=0).load()
    x, _ = _first_test_batch(bundle)
    seq = to_time_major(x, bundle.encoding, bundle.T)
    raw = CIFAR(T=4, root=root, variant="cifar10", verify_md5=False).cls(str(root), train=False).data[2]  # HWC uint8
    grey = 0.2989 * raw[5, 7, 0] + 0.587 * raw[5, 7, 1] + 0.114 * raw[5, 7, 2]  # ITU-R 601, as torchvision
    assert seq.shape == (1024, 4, 1) and bundle.step_shape == (1,)
    assert abs(seq[5 * 32 + 7, 2, 0].item() - (grey / 255 - 122.6 / 255) / (61.0 / 255)) < 0.02  # uint8 rounding
    with pytest.raises(ConfigError, match="pixel-by-pixel task only"):
        CIFAR(T=32, root=root, variant="cifar10", sequential=True, grayscale=True)


def test_cifar_train_batches_are_mixed(root):
    bundle = CIFAR(T=4, root=root, variant="cifar10", verify_md5=False).load()
    x, y = next(iter(torch.utils.data.DataLoader(bundle.train, batch_size=8, collate_fn=bundle.collate_train)))
    assert x.shape == (8, 3, 32, 32) and y.shape == (8, 10)
    assert torch.allclose(y.sum(1), torch.ones(8)) and (y.max(1).values < 1).any()  # soft Mixup/CutMix labels


def test_cifar10dvs_frames_split_and_labels(root):
    bundle = CIFAR10DVS(T=8, root=root).load()
    assert (len(bundle.train), len(bundle.test)) == (30, 20)  # 3 train and 2 test recordings per class
    assert sorted(bundle.test.labels.tolist()) == sorted(list(range(10)) * 2)
    rows = torch.arange(48, dtype=torch.float32)
    for i in range(len(bundle.test)):
        x, y = bundle.test[i]
        assert x.shape == (8, 2, 48, 48) and x.dtype == torch.float32
        # 3000 events, 2 polarities x 128 x 128 resized to 48 x 48: the count scales with the area (on average:
        # the paper's resize has no antialiasing, so it samples points)
        assert x.sum().item() == pytest.approx(3000 * (48 / 128) ** 2, rel=0.15)
        # the fixture puts class c's events around sensor x = 12 c + 10, which SpikingJelly maps to row 127 - x
        centre = (x.sum((0, 1, 3)) * rows).sum() / x.sum()
        assert centre.item() == pytest.approx((127 - (12 * y + 10)) * 48 / 128, abs=2.0), (i, y)


def test_shd_counts_every_spike_with_true_labels(root):
    bundle = SHD(T=50, root=root).load()
    assert (len(bundle.train), len(bundle.test), bundle.num_classes) == (40, 20, 20)
    with h5py.File(root / "SHD" / "shd_test.h5") as f:
        labels, spikes = f["labels"][()], [len(t) for t in f["spikes/times"]]
    for i in (0, 7, 13):
        x, y = bundle.test[i]
        assert x.shape == (50, 700) and y == labels[i]
        assert x.sum().item() == spikes[i]  # none dropped, the last one included


def test_frame_cache_is_reused_and_rebuilt_when_T_or_split_changes(root, tmp_path):
    dvs_root = tmp_path / "copy"
    shutil.copytree(root / "cifar10dvs", dvs_root / "cifar10dvs", ignore=shutil.ignore_patterns("snnbench_frames"))
    CIFAR10DVS(T=4, root=dvs_root).load()
    cache = dvs_root / "cifar10dvs" / "snnbench_frames" / "T4_number_48px_test100" / "train" / "frames.npy"
    built = cache.stat().st_mtime_ns
    time.sleep(0.01)
    CIFAR10DVS(T=4, root=dvs_root).load()
    assert cache.stat().st_mtime_ns == built  # reused

    assert len(CIFAR10DVS(T=6, root=dvs_root).load().train) == 30
    assert (dvs_root / "cifar10dvs" / "snnbench_frames" / "T6_number_48px_test100").is_dir()
    assert len(CIFAR10DVS(T=4, root=dvs_root, test_per_class=101).load().test) == 30  # another split

    events = dvs_root / "cifar10dvs" / "events_np" / "cat"
    shutil.copy(events / "cifar10_cat_100.npz", events / "cifar10_cat_103.npz")
    assert len(CIFAR10DVS(T=4, root=dvs_root).load().train) == 31  # a new recording invalidates the cache
    assert cache.stat().st_mtime_ns != built


def test_stale_spikingjelly_marker_is_cleaned_up(root, tmp_path, caplog):
    dvs_root = tmp_path / "copy"
    shutil.copytree(root / "cifar10dvs", dvs_root / "cifar10dvs")
    (dvs_root / "cifar10dvs" / "frames_number_8_split_by_number.building").touch()
    (dvs_root / "cifar10dvs" / "frames_number_8_split_by_number").mkdir()
    assert len(CIFAR10DVS(T=8, root=dvs_root).load().train) == 30
    assert not list((dvs_root / "cifar10dvs").glob("*.building"))
    assert "did not finish" in caplog.text


@pytest.mark.parametrize("source", [
    lambda r: CIFAR(T=4, root=r, variant="cifar10"),
    lambda r: CIFAR(T=32, root=r, variant="cifar100", sequential=True),
    lambda r: CIFAR10DVS(T=10, root=r),
    lambda r: SHD(T=100, root=r),
    lambda r: SequentialMNIST(T=784, root=r, permuted=True),
], ids=["cifar10", "seq_cifar100", "cifar10dvs", "shd", "psmnist"])
def test_missing_data_names_what_to_place_where(tmp_path, source):
    with pytest.raises(MissingDataError) as err:
        source(tmp_path).load()
    message = str(err.value)
    assert str(tmp_path) in message and "http" in message and "into" in message
    assert not list(tmp_path.rglob("*.building"))  # nothing that blocks the next attempt


def test_corrupt_and_unverified_cifar_files_give_the_clear_error(root, tmp_path):
    shutil.copytree(root / "cifar-10-batches-py", tmp_path / "cifar-10-batches-py")
    with pytest.raises(MissingDataError, match="not usable"):  # genuine md5 check: fixture bytes differ
        CIFAR(T=4, root=tmp_path, variant="cifar10", download=False).load()
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04truncated")
    with pytest.raises(MissingDataError, match="corrupt file"):
        CIFAR(T=4, root=tmp_path, variant="cifar10", verify_md5=False).load()


@pytest.mark.slow
def test_one_epoch_on_each_paper_dataset_through_the_command_line(root, tmp_path):
    runs = tmp_path / "runs"
    common = (f"data_root={root}", "trainer.epochs=1", "trainer.batch_size=10")
    cifar = snnbench("train", "-m", "dataset=cifar10,cifar100,seq_cifar10,seq_cifar100",
                     "++dataset.build.verify_md5=false", *common, runs_dir=runs)
    assert cifar.returncode == 0, cifar.stderr
    events = snnbench("train", "-m", "dataset=cifar10dvs,shd", "T=4", *common, runs_dir=runs)
    assert events.returncode == 0, events.stderr
    for pixels in (("dataset=smnist,psmnist",), ("dataset=pixel_cifar10", "++dataset.build.verify_md5=false")):
        proc = snnbench("train", "-m", *pixels, "neuron=sliding_psn", *common, runs_dir=runs)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    records = results(runs)
    assert sorted(r["dataset"] for r in records) == ["cifar10", "cifar100", "cifar10dvs", "pixel_cifar10", "psmnist",
                                                     "seq_cifar10", "seq_cifar100", "shd", "smnist"]
    assert all(r["status"] == "done" for r in records)


@pytest.mark.slow
def test_missing_dataset_on_the_command_line_exits_non_zero_without_a_record(tmp_path):
    proc = snnbench("train", "dataset=shd", f"data_root={tmp_path / 'empty'}", runs_dir=tmp_path / "runs")
    assert proc.returncode == 2 and "SHD is not in" in proc.stderr + proc.stdout
    assert not (tmp_path / "runs").exists() or not results(tmp_path / "runs")


@pytest.mark.slow
def test_data_check_and_prepare_commands(root, tmp_path):
    shutil.copytree(root / "SHD", tmp_path / "SHD")
    check = snnbench("data", "check", "dataset=shd", f"data_root={tmp_path}", runs_dir=tmp_path / "runs")
    assert check.returncode == 1 and "present" in check.stdout and "MISSING" in check.stdout  # no cache yet
    assert "snnbench data prepare dataset=shd" in check.stderr
    prepare = snnbench("data", "prepare", "dataset=shd", "T=20", f"data_root={tmp_path}", runs_dir=tmp_path / "runs")
    assert prepare.returncode == 0, prepare.stderr
    assert (tmp_path / "SHD" / "snnbench_frames" / "T20_1400ms" / "train" / "frames.npy").exists()
    again = snnbench("data", "check", "dataset=shd", "T=20", f"data_root={tmp_path}", runs_dir=tmp_path / "runs")
    assert again.returncode == 0 and "MISSING" not in again.stdout, again.stdout


@pytest.mark.slow
def test_loader_benchmark_script_runs_and_prints_its_ratio(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "scripts" / "bench_dvs_loader.py"
    proc = subprocess.run([sys.executable, str(script), "--samples", "20", "--events", "5000", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "samples/s over 10 samples" in proc.stdout and "ratio:" in proc.stdout


@pytest.mark.slow
def test_processes_preparing_one_cache_at_once_all_get_it_whole(root, tmp_path):
    dvs_root = tmp_path / "copy"
    shutil.copytree(root / "cifar10dvs", dvs_root / "cifar10dvs", ignore=shutil.ignore_patterns("snnbench_frames"))
    code = ("import sys; from snnbench.data.cifar10dvs import CIFAR10DVS; b = CIFAR10DVS(T=6, root=sys.argv[1]).load(); "
            "print(len(b.train), len(b.test), sum(float(b.test[i][0].sum()) for i in range(len(b.test))))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(dvs_root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1  # every process read the same, whole cache
    bundle = CIFAR10DVS(T=6, root=dvs_root).load()
    assert outputs[0][0].split()[:2] == [str(len(bundle.train)), str(len(bundle.test))]
    assert not list((dvs_root / "cifar10dvs" / "snnbench_frames").rglob("*.tmp.npy"))


def test_digits_are_scikit_learns_images_and_split_without_importing_it():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from snnbench.data.digits import digits_arrays, stratified_split

    images, labels = load_digits(return_X_y=True)
    ours_images, ours_labels = digits_arrays()
    np.testing.assert_array_equal(ours_images, images)
    np.testing.assert_array_equal(ours_labels, labels)
    index = np.arange(len(labels))
    for seed in (0, 1, 7):
        for fraction in (0.2, 0.33):
            train, test = train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
            ours_train, ours_test = stratified_split(labels, fraction, seed)
            np.testing.assert_array_equal(ours_train, train)
            np.testing.assert_array_equal(ours_test, test)
    loaded = subprocess.run([sys.executable, "-c", "import sys; from snnbench.data.digits import Digits; "
                             "Digits(T=4).load(); print('sklearn' in sys.modules)"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
