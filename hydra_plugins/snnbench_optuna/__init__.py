"""snnbench's Optuna sweeper for Hydra (``hydra/sweeper=optuna``). Hydra accepts sweepers only from the
``hydra_plugins`` package, so the class lives here; the search itself is :mod:`snnbench.train.optuna_search`.
Hydra imports this module whenever it looks for plugins: it imports nothing heavy at module level."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("snnbench")


class OptunaSweeper(Sweeper):
    """Runs ``n_trials`` trials of an Optuna study, each an ``snnbench train`` run, a launcher batch at a time."""

    def __init__(self, n_trials: int, objective: Any, direction: Any, study_name: str | None,
                 storage: str | None, seed: int | None) -> None:
        self.settings = OmegaConf.create({"n_trials": n_trials, "objective": objective, "direction": direction,
                                          "study_name": study_name, "storage": storage, "seed": seed})
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        from snnbench.train.optuna_search import report, run_study

        assert self.config is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns: list[Sequence[Any]] = []

        def launch(batch: list[list[str]], first_job: int) -> Sequence[Any]:
            self.validate_batch_is_legal(batch)
            returns.append(self.launcher.launch(batch, initial_job_idx=first_job))
            return returns[-1]

        batch_size = max(1, int(self.config.hydra.launcher.get("n_jobs") or 1))
        study = run_study(arguments, self.settings, Path(str(self.config.runs_dir)), batch_size, launch)
        log.info(report(study, sweep_dir))
        return returns
