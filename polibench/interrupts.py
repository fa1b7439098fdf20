"""Signals that must not cut a step of state in half: SIGINT and SIGTERM held back for a block of code.

Ctrl-C raises KeyboardInterrupt between any two bytecodes; inside an optimiser update (weights changed, step not yet
counted) or while a checkpoint is written, that would leave a state no resume can continue exactly from.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

HELD = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, "FrameType | None"], None]


@contextmanager
def _handling(handler: Handler, signals: tuple[int, ...] = HELD) -> Iterator[None]:
    """``handler`` for ``signals`` during the block; the handlers before it are put back however the block ends."""
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


@contextmanager
def interrupts_held(deliver: bool = True) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver the first one held to its usual handler (or drop
    them, ``deliver=False``, where the caller is stopping anyway). Outside the main thread, where Python cannot set
    handlers, signals reach the main thread only, so there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    with _handling(hold):
        yield
    if held and deliver:
        signal.raise_signal(held[0])


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a scheduler's stop) ends the block as Ctrl-C does: training saves a checkpoint, a sweep stops
    its workers, instead of dying mid-write."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    with _handling(interrupt, (signal.SIGTERM,)):
        yield


@contextmanager
def first_interrupt_only() -> Iterator[None]:
    """The first SIGINT or SIGTERM in the block raises KeyboardInterrupt; any that follow are dropped until the block
    ends. What the first one starts (a checkpoint written on the way out) cannot then be cut short by a second
    Ctrl-C arriving before that clean-up has begun."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def drop(signum: int, frame: FrameType | None) -> None:
        pass

    def first(signum: int, frame: FrameType | None) -> None:
        for sig in HELD:
            signal.signal(sig, drop)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    with _handling(first):
        yield
