"""Changing the session's live lab and putting it back: the estate copies and CLI runs the apply,
rollback and story tests share. Every change a test makes goes through an estate copy and is
undone by `_restore` (re-apply `inventory/lab`), even when the test fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import REPO, run_cli

DR_LINK = "{a: prov-wan1, b: dr-wan1, type: dr,"


PROV_WAN2 = "      - {name: prov-wan2, role: wan_router, platform: frr, vendor: FRRouting, model: frr, zone: core, loopback: true"
ANNOUNCED = "10.200.1.0/24"


def _estate_copy(tmp_path: Path, cost: int = 50, announce: bool = False) -> Path:
    """inventory/lab with the province↔DR link's OSPF cost changed (the only path, so no route moves),
    and with announce, prov-wan2 announcing ANNOUNCED."""
    copy = tmp_path / "estate"
    shutil.copytree(REPO / "inventory" / "lab", copy)
    links = (copy / "links.yml").read_text()
    assert DR_LINK in links
    (copy / "links.yml").write_text(links.replace(DR_LINK, f"{DR_LINK} cost: {cost},"))
    if announce:
        sites = (copy / "sites.yml").read_text()
        assert PROV_WAN2 in sites
        (copy / "sites.yml").write_text(sites.replace(PROV_WAN2, f"{PROV_WAN2}, announce: [{ANNOUNCED}]"))
    return copy


def _routes(lab, node: str) -> dict:
    """The node's whole routing table, as FRR's zebra has it."""
    r = run_cli("lab", "exec", "--id", lab.id, node, "--", "vtysh", "-c", "show ip route json", check=True)
    return json.loads(r.stdout)


def _apply(lab, *args: str, env: dict | None = None):
    r = run_cli("config", "apply", "--lab", lab.id, "--yes", "--json", "--revert-in", "90", "--check-timeout", "20",
                *args, env=env)  # fmt: skip
    return r, (json.loads(r.stdout) if r.stdout.strip().startswith("{") else {})


def _restore(lab, env: dict | None = None) -> None:
    """Put the lab back as it was built: the intent of inventory/lab, converged."""
    from lab import health

    health.wait_converged(lab, timeout=120)
    r, _ = _apply(lab, "--estate", "lab", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    health.wait_converged(lab, timeout=120)


def _plan(lab, estate: str) -> dict:
    r = run_cli("config", "plan", "--lab", lab.id, "--estate", estate, "--json")
    return json.loads(r.stdout)
