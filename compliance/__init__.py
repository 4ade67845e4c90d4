"""compliance: the MLPS 2.0 (等保 2.0, GB/T 22239-2019) level-3 evidence auditors file.

Rules are data (rules/*.yml); evidence comes from device configs, the inventory, the CA, DR
drills and monitoring, each read through the core's seams or the domains' own commands.
"""
