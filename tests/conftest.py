import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def blobs():
    """A small, well separated 3-class problem in 20 dimensions (train, validation)."""
    rng = np.random.default_rng(42)
    centres = rng.normal(scale=3.0, size=(3, 20))
    y = rng.integers(0, 3, size=600)
    x = (centres[y] + rng.normal(size=(600, 20))).astype(np.float32)
    return (x[:500], y[:500]), (x[500:], y[500:])
