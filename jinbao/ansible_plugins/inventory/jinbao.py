"""Ansible inventory plugin: reads a jinbao estate, so Ansible and jinbao share one inventory."""

from __future__ import annotations

DOCUMENTATION = r"""
    name: jinbao
    short_description: The jinbao estate (sites, zones, devices) as an Ansible inventory
    description:
      - Loads and validates a jinbao estate and groups its devices by site, role, zone and platform.
    options:
      plugin:
        description: Marks this file as a jinbao inventory source.
        required: true
        choices: ['jinbao']
      estate:
        description: Estate name under inventory/, or a path to an estate folder (relative to this file).
        required: true
        type: str
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin


class InventoryModule(BaseInventoryPlugin):
    NAME = "jinbao"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".jinbao.yml", ".jinbao.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        from jinbao.ansible_inventory import build, management_vars
        from jinbao.errors import InventoryError
        from jinbao.estate import load_estate

        target = self.get_option("estate")
        near = os.path.join(os.path.dirname(path), target)
        try:
            estate = load_estate(near if os.path.isdir(near) else target)
        except InventoryError as e:
            raise AnsibleParserError("jinbao estate is invalid:\n" + "\n".join(str(p) for p in e.problems)) from None
        groups, hostvars = build(estate)
        for g in groups:
            self.inventory.add_group(g)
        for g, body in groups.items():
            for child in body["children"]:
                self.inventory.add_child(g, child)
            for h in body["hosts"]:
                self.inventory.add_host(h, group=g)
        for k, v in management_vars(estate).items():
            self.inventory.set_variable("all", k, v)
        for h, hv in hostvars.items():
            for k, v in hv.items():
                self.inventory.set_variable(h, k, v)
