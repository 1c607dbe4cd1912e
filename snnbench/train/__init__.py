"""Training one run: the loop (``loop.py``, read top to bottom), what it runs on (``resources.py``), what it
records (``record.py``, ``efficiency.py``), torchrun (``distributed.py``) and the Hydra entry (``app.py``)."""
