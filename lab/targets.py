"""The lab as a source of targets (`jinbao.targets` entry point `lab`): `lab:<id>` names its nodes.

Other domains reach lab nodes through this and the core's Target, never through the lab's
internals: pki's deploy asks for `lab:<id>` the way it would ask for production targets.
"""

from __future__ import annotations

from jinbao.target import Target

from .record import Lab


def targets(ref: str) -> dict[str, Target]:
    """Every node of lab ref (or of the only lab up, when ref is empty) as a Target."""
    lab = Lab.find(ref or None)
    return {name: lab.target(name) for name in lab.plan.nodes}
