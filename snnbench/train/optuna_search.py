"""Hyper-parameter search with Optuna: the work behind ``hydra/sweeper=optuna`` (the plugin class itself must live in
the ``hydra_plugins`` package: ``hydra_plugins/snnbench_optuna``).

The search space is written as Hydra sweep overrides, with the grammar of Hydra's Optuna sweeper::

    'optim.lr=tag(log, interval(1e-4, 1e-1))'   float, log-uniform        (Optuna: suggest_float(log=True))
    'neuron.k=tag(int, interval(2, 8))'          integer                   (suggest_int)
    'trainer.batch_size=range(32, 129, 32)'      integer with a step        (suggest_int(step=32))
    'neuron=lif,psn' or 'neuron=choice(lif,psn)' categorical               (suggest_categorical)

Every other override is fixed. Each trial is one ``snnbench train`` run (its record under runs_dir, skipped if done,
resumed if cut off); its value is ``objective`` read from the run's record (best test accuracy by default); a run
that failed or has no finite value is told to Optuna as failed, never as 0. The study lives in a SQLite file under
runs_dir (``optuna.db``), so rerunning the command continues it until it holds ``n_trials`` finished trials; a
trial cut off by a kill is retried with the same parameters (its run resumes from its checkpoint).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from snnbench.errors import ConfigError

log = logging.getLogger("snnbench")


@dataclass(frozen=True)
class Dimension:
    """One searched key: ``kind`` is float, int or categorical."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step or 1, log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, log=self.log)


def split_space(arguments: Sequence[str]) -> tuple[list[str], list[Dimension]]:
    """The fixed overrides (as typed) and the searched dimensions of a sweep's ``arguments``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    fixed, space = [], []
    for override in OverridesParser.create().parse_overrides(list(arguments)):
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        value, key = override.value(), override.get_key_element()
        tags = set(getattr(value, "tags", set()) or ())
        unknown = tags - {"log", "int"}
        if unknown:
            raise ConfigError(f"{override.input_line}: unknown tag {sorted(unknown)}; the Optuna sweeper reads "
                              f"tag(log, ...) and tag(int, ...)")
        if isinstance(value, IntervalSweep):
            kind = "int" if "int" in tags else "float"
            space.append(Dimension(key, kind, float(value.start), float(value.end), log="log" in tags))
        elif isinstance(value, RangeSweep):
            if not all(float(v).is_integer() for v in (value.start, value.stop, value.step)) or value.step <= 0:
                raise ConfigError(f"{override.input_line}: the Optuna sweeper takes integer ranges; for floats use "
                                  f"interval(low, high)")
            start, stop, step = int(value.start), int(value.stop), int(value.step)
            last = start + step * ((stop - start - 1) // step)  # range(32, 129, 32): 32, 64, 96, 128
            space.append(Dimension(key, "int", start, last, step=step, log="log" in tags))
        elif isinstance(value, ChoiceSweep):
            space.append(Dimension(key, "categorical", choices=tuple(value.list)))
        else:
            raise ConfigError(f"{override.input_line}: the Optuna sweeper cannot search this sweep; use "
                              f"interval(), range() or a list of choices")
    if not space:
        raise ConfigError("hydra/sweeper=optuna needs a search space: e.g. 'optim.lr=tag(log, interval(1e-4, 1e-1))'")
    return fixed, space


def as_override(key: str, value: Any) -> str:
    """``key=value`` as Hydra reads it back (floats in full precision)."""
    return f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"


def study_name(arguments: Sequence[str]) -> str:
    """A name that the same command gives again (so that rerunning it continues the study) and another does not."""
    digest = hashlib.sha256("\n".join(sorted(arguments)).encode()).hexdigest()[:10]
    return f"snnbench-{digest}"


def trial_value(return_value: Any, objectives: Sequence[str]) -> list[float] | None:
    """The objective values of a finished run's record, or None if it failed or a value is missing or not finite."""
    if not isinstance(return_value, dict):
        return None
    values = [return_value.get(key) for key in objectives]
    if any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def as_list(value: Any) -> list[str]:
    """A setting that takes one value or a list (several objectives), as a list."""
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def run_study(arguments: Sequence[str], settings: Any, runs_dir: Path, batch_size: int,
              launch: Callable[[list[list[str]], int], Sequence[Any]]) -> Any:
    """Ask, launch a batch of ``batch_size`` runs through ``launch(overrides, first_job_index)``, tell; until the
    study holds ``settings.n_trials`` finished trials. Returns the study."""
    import optuna
    from hydra.core.utils import JobStatus

    fixed, space = split_space(arguments)
    objectives, directions = as_list(settings.objective), as_list(settings.direction)
    if len(objectives) != len(directions):
        raise ConfigError(f"hydra.sweeper.objective has {len(objectives)} keys and hydra.sweeper.direction "
                          f"{len(directions)}: give one direction (maximize or minimize) per objective")
    storage = settings.storage or f"sqlite:///{(runs_dir / 'optuna.db').absolute()}"
    name = settings.study_name or study_name(arguments)
    runs_dir.mkdir(parents=True, exist_ok=True)
    sampler = optuna.samplers.TPESampler(seed=settings.seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, load_if_exists=True,
                                directions=directions)
    retry_cut_off_trials(study)
    log.info(f"optuna: study {name} in {storage}; {len(finished(study))} of {settings.n_trials} trials finished")
    job_index = 0  # this invocation's jobs, numbered in its own sweep folder
    while (missing := settings.n_trials - len(finished(study))) > 0:
        trials = [study.ask() for _ in range(min(batch_size, missing))]
        batch = [[*fixed, *(as_override(d.key, d.suggest(t)) for d in space)] for t in trials]
        for trial, overrides in zip(trials, batch):
            trial.set_user_attr("overrides", overrides)
        returns = launch(batch, job_index)
        job_index += len(batch)
        for trial, overrides, ret in zip(trials, batch, returns):
            value = trial_value(ret.return_value, objectives) if ret.status == JobStatus.COMPLETED else None
            if value is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                log.warning(f"optuna: trial {trial.number} failed ({' '.join(overrides)}); told to Optuna as failed")
            else:
                study.tell(trial, value)
    return study


def finished(study: Any) -> list[Any]:
    import optuna

    return [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)]


def retry_cut_off_trials(study: Any) -> None:
    """Trials left running by a killed sweep: failed, and their parameters asked again (their runs resume)."""
    import optuna

    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.RUNNING:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(trial.params)
            log.info(f"optuna: trial {trial.number} was cut off; its parameters are tried again")


def report(study: Any, out: Path) -> str:
    """The best trial(s), written to ``out/optimization_results.yaml`` and returned as the lines to print."""
    import optuna
    from omegaconf import OmegaConf

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return "optuna: no trial finished with a value (every run failed); nothing to report"
    best = study.best_trials
    results = {"study": study.study_name, "trials": len(study.trials), "complete": len(complete),
               "best": [{"values": t.values, "params": t.params,
                         "overrides": t.user_attrs.get("overrides", [])} for t in best]}
    out.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(results), out / "optimization_results.yaml")
    lines = [f"optuna: {len(complete)} of {len(study.trials)} trials complete; best value "
             f"{', '.join(f'{v:.4f}' for v in best[0].values)} with {best[0].params}"]
    lines += [f"  also on the Pareto front: {t.values} with {t.params}" for t in best[1:]]
    return "\n".join(lines)
