"""Run folders and what is known about them: atomic files, the run signature, the one reader of records,
ownership locks and the per-job outcomes of a sweep. Light: nothing here imports torch at module level."""
