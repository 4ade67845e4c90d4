"""jinbao core: the estate model, its loader and validator, the result model and the CLI.

Every domain (netconfig, monitoring, pki, dr, lab) imports from here; none imports another
domain's internals.
"""
