"""Model files that are damaged or not what they claim, and data files a model cannot take: ``evaluate.py``
ends with one line naming the file (and the field, column or line), exit code 2, never a traceback; a
member that is not part of a model is never unpickled, and nothing is allocated before the declared
shapes are checked against the stored arrays."""

import io
import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nn
from nn import checkpoint
from tests.conftest import ROOT
from tests.test_cli import run_cli

CSV_ROWS = 80
TRAIN = ["-e", "1", "-nhl", "1", "-sz", "8", "--save_model", "--wandb_mode", "disabled"]  # one short epoch, saved


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A digits model (64 inputs, 10 classes) and a model of a CSV file (numeric columns a and b), each
    trained for one epoch and saved by train.py; ``"table"`` is that CSV file."""
    folder = tmp_path_factory.mktemp("saved")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(CSV_ROWS, 2))
    table = folder / "table.csv"
    table.write_text("a,b,y\n" + "".join(f"{p:.3f},{q:.3f},{int(p + q > 0)}\n" for p, q in x))
    paths = {"table": table}
    for name, data in (("digits", ["-d", "digits"]), ("csv", ["-d", str(table), "--target", "y"])):
        result = run_cli([*data, *TRAIN, "--output_dir", name], folder)
        assert result.returncode == 0, result.stderr
        (run,) = (folder / name).iterdir()
        paths[name] = run / "model.npz"
    return paths


def evaluate(args, cwd: Path, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), *map(str, args), "--output_dir", str(cwd / "e")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        **options,
    )


def one_line(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def rewritten(source: Path, target: Path, change=None, **members: bytes) -> Path:
    """``source``'s arrays and JSON header with ``change(header)`` applied, and the raw ``members`` added."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(str(arrays["__config__"]))
    if change is not None:
        change(header)
    arrays["__config__"] = np.array(json.dumps(header))
    np.savez(target, **arrays)
    with zipfile.ZipFile(target, "a") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


class Trap:
    """Unpickling it creates the file ``path``: the proof that something unpickled it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_member_that_is_not_part_of_the_model_is_refused_and_never_unpickled(saved, tmp_path):
    marker = tmp_path / "unpickled"
    payload = io.BytesIO()
    np.save(payload, np.array([Trap(str(marker))], dtype=object), allow_pickle=True)
    path = rewritten(saved["digits"], tmp_path / "extra.npz", **{"payload.npy": payload.getvalue()})
    one_line(evaluate([path], tmp_path), "extra.npz: holds payload.npy, which is not part of a model")
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as archive:  # the trap is real: loading the member springs it
        archive["payload"]
    assert marker.exists()


def _metadata(change):
    def edit(header):
        change(header["metadata"])

    return edit


METADATA = {
    "preprocessing is {}": (lambda m: m.update(preprocessing={}), "metadata.preprocessing.scaling is missing"),
    "2 class names": (
        lambda m: m.update(class_names=m["class_names"][:2]),
        "metadata.class_names has 2 names; the network has 10 outputs",
    ),
    "12 class names": (
        lambda m: m.update(class_names=[*m["class_names"], "ten", "eleven"]),
        "metadata.class_names has 12 names; the network has 10 outputs",
    ),
    "3-feature permutation": (
        lambda m: m["preprocessing"].update(permutation=[2, 0, 1]),
        "metadata.preprocessing.permutation orders 3 features; the model takes 64",
    ),
    "not a permutation": (
        lambda m: m["preprocessing"].update(permutation=[0] * 64),
        "metadata.preprocessing.permutation must hold each feature position once",
    ),
    "NaN scale": (
        lambda m: m["preprocessing"].update(scale=float("nan")),
        "metadata.preprocessing.scale must be a number within float32's range",
    ),
    "n_features 65": (lambda m: m.update(n_features=65), "metadata.n_features is 65, which the network does not take"),
    "n_features text": (lambda m: m.update(n_features="64"), "metadata.n_features has the wrong type: '64'"),
    "image_shape": (lambda m: m.update(image_shape=[9, 9]), "metadata.image_shape [9, 9] does not hold the 64 inputs"),
    "unknown data set": (
        lambda m: m.update(dataset="cifar100"),
        "metadata.dataset 'cifar100' is neither a data file nor a built-in data set",
    ),
}


@pytest.mark.parametrize("case", METADATA, ids=list(METADATA))
def test_damaged_metadata_is_one_line_naming_the_file_and_the_field(case, saved, tmp_path):
    change, message = METADATA[case]
    path = rewritten(saved["digits"], tmp_path / "damaged.npz", _metadata(change))
    one_line(evaluate([path], tmp_path), f"{path}: {message}")


def test_an_ensemble_member_without_n_features_is_one_line(saved, tmp_path):
    path = rewritten(saved["digits"], tmp_path / "second.npz", _metadata(lambda m: m.pop("n_features")))
    one_line(evaluate([saved["digits"], path], tmp_path), f"{path}: metadata.n_features is missing")


def test_a_damaged_table_encoding_is_one_line_naming_the_field(saved, tmp_path):
    path = rewritten(
        saved["csv"], tmp_path / "table.npz", _metadata(lambda m: m["preprocessing"]["encoding"].update(fills=[0.0]))
    )
    one_line(evaluate([path], tmp_path), f"{path}: metadata.preprocessing.encoding.fills holds 1 entries for 2 columns")


def test_a_model_declaring_more_than_its_arrays_is_refused_before_anything_is_allocated(saved, tmp_path):
    """The header declares 64 x 60M and 60M x 10 weights (17 GB) beside the stored 64 x 8: refused from the
    arrays' headers. The address space is capped so that allocating first fails fast (a MemoryError) instead
    of filling the machine's memory."""

    def widen(header):
        first, _, second = header["model"]["layers"]  # dense, activation, dense
        first["n_out"] = second["n_in"] = 60_000_000

    path = rewritten(saved["digits"], tmp_path / "huge.npz", widen)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    result = evaluate([path], tmp_path, preexec_fn=cap)
    one_line(result, f"{path}: dense_0.W has shape (64, 8), the model needs (64, 60000000)")


def test_a_model_larger_than_the_memory_left_is_refused_before_it_is_allocated(saved, monkeypatch):
    monkeypatch.setattr(nn.model, "available_memory", lambda: 1000)
    with pytest.raises(nn.ModelFileError, match=r"model.npz: the model has [\d,]+ parameters, .* than the 0.0 GiB"):
        nn.Sequential.load(saved["digits"])


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("abc", "column 'b' holds 'abc' (line 7); the model takes numbers there"),
        ("1e308", "column 'b' holds 1e308 (line 7), beyond float32's range"),
    ],
)
def test_a_cell_a_csv_model_cannot_take_is_one_line_naming_the_column_and_line(cell, message, saved, tmp_path):
    lines = saved["table"].read_text().splitlines()
    a, _, y = lines[6].split(",")
    lines[6] = f"{a},{cell},{y}"
    path = tmp_path / "new.csv"
    path.write_text("\n".join(lines) + "\n")
    one_line(evaluate([saved["csv"], "-d", path], tmp_path), f"{path}: {message}")


@pytest.mark.parametrize("content", [b"# a README, not a model\n", b"\x80\x04K\x01."], ids=["text", "pickle"])
def test_a_file_that_is_no_archive_is_one_line_that_never_advises_unpickling(content, tmp_path):
    """NumPy takes any file that is neither a zip archive nor a .npy array for a pickle and advises
    loading it "unsafely"; the user reads what the file is not, and that pickles are never loaded."""
    (tmp_path / "model.npz").write_bytes(content)
    line = one_line(evaluate([tmp_path / "model.npz"], tmp_path), "not a readable model file", "never loaded")
    assert "unsafe" not in line and "allow_pickle=" not in line
    with pytest.raises(checkpoint.CheckpointError, match="neither a .npz archive nor a .npy array") as caught:
        checkpoint.metadata(tmp_path / "model.npz")
    assert "unsafe" not in str(caught.value)


def test_a_bare_npy_array_given_as_a_model_is_one_line_saying_so(tmp_path):
    np.save(tmp_path / "weights.npy", np.zeros((3, 3)))
    line = one_line(evaluate([tmp_path / "weights.npy"], tmp_path), "not a readable model file")
    assert "a single .npy array, not a .npz archive" in line and "context manager" not in line, line
