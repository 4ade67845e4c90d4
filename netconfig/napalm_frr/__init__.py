"""NAPALM driver for FRRouting: `napalm.get_network_driver("frr")` imports this module as `napalm_frr`.

The code lives in netconfig (netconfig/napalm_frr/); pyproject.toml installs this folder as the
top-level package `napalm_frr`, the name NAPALM's lookup tries for a community driver.
"""

from .frr import FRRDriver

__all__ = ["FRRDriver"]
