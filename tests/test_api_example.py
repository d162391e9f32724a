"""The Python API page (docs/api.md) shows one example; it must run as written. The example is
executed with only its data folder swapped for a tiny made-up Fashion-MNIST, and what it computes is
checked against what the page says it is."""

import re

import numpy as np
from conftest import ROOT, make_idx_folder


def api_example() -> str:
    page = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert blocks, "docs/api.md has no ```python example"
    return blocks[0]


def test_the_api_example_runs_as_written(tmp_path, capsys):
    code = api_example()
    assert 'data_dir="../shared/data"' in code  # the one thing swapped below
    folder = make_idx_folder(tmp_path / "data" / "fashion-mnist").parent
    namespace: dict = {}
    exec(compile(code.replace('"../shared/data"', repr(str(folder))), "docs/api.md", "exec"), namespace)
    data, history = namespace["data"], namespace["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy"} <= set(history[-1])
    test = namespace["test"]
    assert test.confusion.sum() == len(data.y_test)
    p = namespace["p"]
    assert p.shape == (len(data.y_test), 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    x = data.x_test[:32]
    assert namespace["dx"].shape == x.shape
    assert np.isfinite(namespace["value"])
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "Total params" in printed
