"""Fault points for the tests that kill the CA mid-operation: `JINBAO_PKI_FAULT=NAME` makes the process SIGKILL
itself when it reaches point NAME, as a power cut or `kill -9` would, with no handler, finally or atexit running.

Only tests set the variable; unset (always, in use) a point costs one dictionary lookup. The points:
- before_commit: everything written (files staged, audit head replaced), the commit not yet made;
- after_commit: committed, nothing published yet;
- crl_staged: a CRL staged in crl/ beside the one in place, not yet renamed over it.
"""

from __future__ import annotations

from jinbao.killpoints import kill_at

ENV = "JINBAO_PKI_FAULT"


def point(name: str) -> None:
    kill_at(ENV, name)
