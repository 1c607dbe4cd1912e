"""Where a run's curves go besides its own files: the ``logger`` config group, several at once
(``logger=[tensorboard,mlflow]``; TensorBoard alone by default). Only rank 0 logs. A tracker that fails (a missing
package, an unreachable server) says so in one line and is dropped; the training and its record go on: the record
in the run folder is what snnbench reads, a tracker is a view of it.

- ``tensorboard``: scalars under ``RUN/tb``.
- ``csv``: ``RUN/metrics.csv``, a row per epoch (the numbers of ``metrics.jsonl``).
- ``mlflow``: a run in an MLflow tracking store (by default SQLite at ``RUNS/mlflow.db``, artifacts under
  ``RUNS/mlflow-artifacts``): run name = the run folder's label, tags = signature, seed, neuron, dataset, params =
  the flattened config, metrics per epoch, ``result.json`` and ``config.yaml`` as artifacts. A resumed run
  continues the same MLflow run (its id is kept in ``RUN/mlflow_run_id``; epochs trained again after the last
  checkpoint are logged again at the same steps).
- ``wandb``: a Weights & Biases run with the same content (config, a history row per epoch with ``epoch`` as its
  step metric, the record's numbers in its summary, ``result.json`` and ``snnbench_config.yaml`` as files), offline under
  ``RUNS/wandb`` unless you set ``logger.wandb.mode=online`` (or ``WANDB_MODE=online``, after ``wandb login``);
  ``wandb sync RUNS/wandb/offline-run-*`` uploads offline runs later. A resumed run continues the same W&B run
  (its id kept in ``RUN/wandb_run_id``) and logs again the epochs W&B lost (a kill -9 loses an offline run's
  unflushed log).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from snnbench.runs.files import atomic_write_text
from snnbench.runs.folder import RunFolder
from snnbench.runs.signature import flatten

log = logging.getLogger("snnbench")


def label_of(run: RunFolder) -> str:
    """``dataset/neuron/signature/seed=N``: the run folder below the runs folder."""
    return "/".join(run.path.parts[-4:])


def numbers(stats: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in stats.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class TensorBoard:
    """Scalars per epoch under ``RUN/tb`` (a resumed run overwrites the epochs after its checkpoint)."""

    def __init__(self, run: RunFolder, config: DictConfig, header: dict[str, Any],
                 history: list[dict[str, Any]]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run.tensorboard_dir), purge_step=len(history))

    def log_epoch(self, epoch: int, stats: dict[str, Any]) -> None:
        for key, value in numbers(stats).items():
            self.writer.add_scalar(key, value, epoch)

    def finish(self, result: dict[str, Any]) -> None:
        self.writer.flush()

    def close(self, status: str) -> None:
        self.writer.close()


class CSV:
    """``RUN/metrics.csv``: the epochs so far, rewritten whole after each from the run's own history (so a resumed
    run's file has every epoch once)."""

    def __init__(self, run: RunFolder, config: DictConfig, header: dict[str, Any],
                 history: list[dict[str, Any]]) -> None:
        self.path = run.path / "metrics.csv"
        self.rows = [numbers(row) for row in history]

    def log_epoch(self, epoch: int, stats: dict[str, Any]) -> None:
        self.rows.append({"epoch": float(epoch), **numbers(stats)})
        keys = list(dict.fromkeys(k for row in self.rows for k in row))
        lines = [",".join(keys)] + [",".join("" if k not in row else f"{row[k]:.10g}" for k in keys)
                                    for row in self.rows]
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def finish(self, result: dict[str, Any]) -> None:
        pass

    def close(self, status: str) -> None:
        pass


class MLflow:
    """A run in an MLflow tracking store (see the module docstring); ``tracking_uri`` null: SQLite in runs_dir."""

    def __init__(self, run: RunFolder, config: DictConfig, header: dict[str, Any], history: list[dict[str, Any]],
                 tracking_uri: str | None = None, experiment: str = "snnbench") -> None:
        # fail fast at the start when the server is unreachable (MLflow's own default retries for minutes);
        # settings you export yourself win
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        from mlflow import MlflowClient
        from mlflow.entities import Param

        runs_dir = Path(str(config.runs_dir)).expanduser().resolve()
        uri = tracking_uri or f"sqlite:///{runs_dir / 'mlflow.db'}"
        self.client, self.folder = MlflowClient(tracking_uri=uri), run
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=(runs_dir / "mlflow-artifacts").as_uri())
        id_file = run.path / "mlflow_run_id"
        if id_file.is_file():  # this run folder's MLflow run: resumed, or started again from its beginning
            self.run_id = id_file.read_text().strip()
            self.client.update_run(self.run_id, status="RUNNING")
            logged = {m.step for m in self.client.get_metric_history(self.run_id, "test_acc")}
            for row in history:  # epochs the run finished but did not get to log before it was stopped
                if row["epoch"] not in logged:
                    self.log_epoch(row["epoch"], row)
            return
        tags = {"signature": str(header["signature"]), "seed": str(header["seed"]), "neuron": header["neuron"],
                "dataset": header["dataset"]}
        self.run_id = self.client.create_run(experiment_id, run_name=label_of(run), tags=tags).info.run_id
        atomic_write_text(id_file, self.run_id + "\n")
        flat = flatten(OmegaConf.to_container(config, resolve=True))
        params = [Param(key, str(value)[:6000]) for key, value in sorted(flat.items())]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def log_epoch(self, epoch: int, stats: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, value, stamp, epoch)
                                                    for key, value in numbers(stats).items()])

    def finish(self, result: dict[str, Any]) -> None:
        for path in (self.folder.result_path, self.folder.path / "config.yaml"):
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path))

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status={"done": "FINISHED", "interrupted": "KILLED"}.get(status,
                                                                                                   "FAILED"))


class WandB:
    """A Weights & Biases run (see the module docstring); offline unless configured online."""

    def __init__(self, run: RunFolder, config: DictConfig, header: dict[str, Any], history: list[dict[str, Any]],
                 project: str = "snnbench", entity: str | None = None, mode: str | None = None,
                 dir: str | None = None) -> None:
        import wandb

        runs_dir = Path(str(config.runs_dir)).expanduser().resolve()
        folder = Path(dir).expanduser() if dir else runs_dir
        folder.mkdir(parents=True, exist_ok=True)
        id_file = run.path / "wandb_run_id"
        run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
        atomic_write_text(id_file, run_id + "\n")
        tags = [f"signature={header['signature']}", f"seed={header['seed']}", str(header["neuron"]),
                str(header["dataset"])]
        self.folder = run
        self.run = wandb.init(project=project, entity=entity, id=run_id, resume="allow", name=label_of(run),
                              tags=tags, dir=str(folder), mode=mode or os.environ.get("WANDB_MODE", "offline"),
                              config=OmegaConf.to_container(config, resolve=True),
                              settings=wandb.Settings(console="off", silent=True, x_disable_stats=True))
        self.run.define_metric("*", step_metric="epoch")
        # a resumed run logs the epochs its W&B run lacks: an offline run killed with -9 loses what W&B had not
        # flushed (often all of it); an online one knows its last epoch from the server
        last = self.run.summary.get("epoch")
        for row in history:
            if last is None or row["epoch"] > last:
                self.log_epoch(row["epoch"], row)

    def log_epoch(self, epoch: int, stats: dict[str, Any]) -> None:
        self.run.log({**numbers(stats), "epoch": epoch})

    def finish(self, result: dict[str, Any]) -> None:
        self.run.summary.update(numbers(result))
        # copies in the W&B run's folder (W&B's own config.yaml there is the run config: ours gets another name)
        for path, name in ((self.folder.result_path, "result.json"), (self.folder.path / "config.yaml",
                                                                      "snnbench_config.yaml")):
            if path.is_file():
                shutil.copyfile(path, Path(self.run.dir) / name)
                self.run.save(str(Path(self.run.dir) / name), base_path=self.run.dir, policy="now")

    def close(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "done" else 1)


class Trackers:
    """The trackers a config names; each call goes to each, and a tracker that raises is dropped with one line."""

    def __init__(self, nodes: DictConfig | None, run: RunFolder, config: DictConfig, header: dict[str, Any],
                 history: list[dict[str, Any]]) -> None:
        self.active: dict[str, Any] = {}
        for name, node in (nodes or {}).items():
            if node is None:
                continue
            try:
                settings = {k: v for k, v in node.items() if k != "_target_"}
                self.active[name] = get_class(node._target_)(run, config, header, history, **settings)
            except Exception as err:  # noqa: BLE001  (ImportError, connection errors, ...: all mean "not today")
                self._drop(name, "start", err)

    def _drop(self, name: str, what: str, err: Exception) -> None:
        hint = f" (pip install 'snnbench[{name}]')" if isinstance(err, ImportError) else ""
        log.warning(f"logger {name}: could not {what} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                    f"{hint}; training goes on without it, the run's own record is complete")
        self.active.pop(name, None)

    def _each(self, what: str, method: str, *args: Any) -> None:
        for name, tracker in list(self.active.items()):
            try:
                getattr(tracker, method)(*args)
            except Exception as err:  # noqa: BLE001
                self._drop(name, what, err)

    def log_epoch(self, epoch: int, stats: dict[str, Any]) -> None:
        self._each("log an epoch", "log_epoch", epoch, stats)

    def finish(self, result: dict[str, Any]) -> None:
        self._each("store the record", "finish", result)

    def close(self, status: str) -> None:
        self._each("close", "close", status)
