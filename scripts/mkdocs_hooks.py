"""MkDocs hook: put the repository root on ``sys.path`` so that mkdocs-click can import the click
commands of ``train.py``, ``sweep.py`` and ``evaluate.py`` (the reference page is generated from them)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)


def on_config(config):
    """Before any page is read: the repository root first on the import path."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    return config
