"""Ctrl-C during training: stop cleanly at the end of the step, with a checkpoint saved."""

from __future__ import annotations

import signal
import threading


class GracefulStop:
    """Ctrl-C during training: finish the current step, save a checkpoint, then stop.

    A second Ctrl-C aborts at once. Installed only in the main thread of the main process.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and saving a checkpoint (Ctrl-C again aborts at once)", flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def stop_callback(stop: GracefulStop):
    """A trainer callback that saves and ends training at the step end after `stop` was requested."""
    from transformers import TrainerCallback

    class StopOnRequest(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if stop.requested:
                control.should_save = True
                control.should_training_stop = True
            return control

    return StopOnRequest()
