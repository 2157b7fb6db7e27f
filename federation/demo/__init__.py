"""The end-to-end demo of a federation in one process (`run.py`), its readable report (`report.py`) and the
AFIS matcher's evaluation on a synthetic file (`afis_evaluation.py`)."""
