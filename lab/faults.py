"""The lab's faults for drills (`jinbao.faults` entry point `lab`): see jinbao/faults.py."""

from __future__ import annotations

import time

from jinbao.errors import JinbaoError

from . import runtime
from .record import Lab


def inject(ref: str, kind: str, *names: str) -> float:
    lab = Lab.find(ref or None)
    if kind == "link" and len(names) == 2:
        runtime.link_drop(lab, *names)
        return time.time()  # the drop rules are its last act
    if kind == "node" and len(names) == 1:
        t = time.time()
        # the node's processes are signalled first; the rest of the call re-checks they are gone
        runtime.node_stop(lab, names[0])
        return t
    raise JinbaoError(f"the lab has no fault {kind} {' '.join(names)!r}; use `link A B` or `node N`")
