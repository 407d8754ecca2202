"""A worker of ``trustdesk serve --workers`` ends with its supervisor.

uvicorn's supervisor starts the worker processes and stops them. If it dies without
stopping them (SIGKILL, the OOM killer, a supervisor of its own giving up on it), the
workers would go on serving on the shared socket as orphans: holding database connections
and leases, answering with the settings of a server nobody runs any more, and with nobody
left to stop them. So each worker asks the kernel (Linux's ``prctl(PR_SET_PDEATHSIG)``) to
kill it when its parent dies. Nothing is lost that was acknowledged: a verdict is answered
only once its item is durable, and the worker's leases expire by their TTL.

A process that is not a ``multiprocessing`` child (``trustdesk serve`` with one worker,
``uvicorn --factory`` run by systemd, gunicorn's forked workers, which watch their parent
themselves) is left alone.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_supervisor() -> bool:
    """In a worker started by a supervisor (a ``multiprocessing`` child on Linux), have the
    kernel kill this process when its parent dies; whether that was arranged."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent.pid:  # the parent died before the kernel was asked
        os.kill(os.getpid(), signal.SIGKILL)
    return True
