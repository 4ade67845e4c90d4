"""lab: a live replica of an estate on one Linux machine, built from the inventory.

Each device is a network namespace with its own /etc, /run and hostname, running real FRR,
nftables, sshd and snmpd. See docs/lab.md for the design and lab/cli.py for the commands.
"""
