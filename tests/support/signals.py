"""Children that must stop on Ctrl-C start as a foreground command does, whatever this test process inherited."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for Popen: SIGINT unblocked and at its default, so the child's Python raises KeyboardInterrupt.

    Both an ignored and a blocked SIGINT survive fork and exec; a pytest worker can carry either (from whatever
    started it, or a native library that blocked the signal on the thread that forks). Seen in full CI runs: the
    child ignored the test's SIGINT and ran to its end."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
