"""The epoch lines and the live bar inside long epochs (only on a terminal)."""

import io

from tracking.console import ConsoleProgress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_epoch(progress, clock, seconds_per_batch, n_batches=10, n_train=1000):
    progress.on_train_begin({"epochs": 3, "n_train": n_train, "n_batches": n_batches})
    progress.on_epoch_begin(1, n_batches)
    for batch in range(1, n_batches + 1):
        clock.now += seconds_per_batch
        progress.on_batch_end(1, batch, n_batches, {"loss": 2.0 / batch, "objective": 2.0 / batch})
    progress.on_epoch_end(1, {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "seconds": clock.now})


def test_a_long_epoch_on_a_terminal_shows_samples_per_second_loss_and_time_left():
    clock, stream = FakeClock(), Terminal()
    run_epoch(ConsoleProgress(stream, delay=2.0, interval=0.0, clock=clock), clock, seconds_per_batch=0.5)
    frames = stream.getvalue().split("\r\033[K")[1:]
    # batches 1-3 take 1.5 s < the 2 s delay: the first frame is batch 4 (100 samples per batch, 0.5 s each)
    assert frames[0].startswith("epoch 1/3 [") and " 4/10 | 200 samples/s | " in frames[0]
    assert f"loss {sum(2.0 / b for b in range(1, 5)) / 4:.4f} | 0:03 left" in frames[0]  # 6 batches x 0.5 s
    assert frames[-1].startswith("epoch 1/3 | loss 0.5000 | acc 0.8000") and frames[-1].endswith("\n")


def test_a_short_epoch_or_a_pipe_gets_only_the_epoch_line():
    clock, stream = FakeClock(), Terminal()
    run_epoch(ConsoleProgress(stream, delay=2.0, clock=clock), clock, seconds_per_batch=0.1)
    assert stream.getvalue() == "epoch 1/3 | loss 0.5000 | acc 0.8000 | 1.00s\n"
    clock, pipe = FakeClock(), io.StringIO()
    run_epoch(ConsoleProgress(pipe, delay=0.0, clock=clock), clock, seconds_per_batch=1.0)
    assert pipe.getvalue() == "epoch 1/3 | loss 0.5000 | acc 0.8000 | 10.00s\n"


def test_the_bar_is_redrawn_at_most_every_interval():
    clock, stream = FakeClock(), Terminal()
    run_epoch(ConsoleProgress(stream, delay=0.0, interval=1.0, clock=clock), clock, seconds_per_batch=0.3, n_batches=20)
    frames = stream.getvalue().split("\r\033[K")[1:-1]
    assert 5 <= len(frames) <= 7 and "20/20" in frames[-1]  # 6 s of batches: about one frame a second
