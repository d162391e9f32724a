"""Running W&B sweep files offline with Optuna (see sweep.py)."""
