"""Kill points for the tests that kill a run midway: when the domain's variable names a point,
the process SIGKILLs itself there, as a power cut or `kill -9` would, with no handler, finally or
atexit running. A test that kills from outside can only hope to land in the window it means; a
point lands there every time, however loaded the machine.

Only tests set the variables (JINBAO_PKI_FAULT, JINBAO_NETCONFIG_FAULT); unset, a point costs
one dictionary lookup. Each domain lists its points where it defines its variable.
"""

from __future__ import annotations

import os
import signal


def kill_at(env: str, name: str) -> None:
    if os.environ.get(env) == name:
        os.kill(os.getpid(), signal.SIGKILL)
