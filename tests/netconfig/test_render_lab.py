"""The lab runs netconfig's renderings: what production gets is what the lab's nodes run."""

from __future__ import annotations

import pytest

from jinbao.rendering import rendered

pytestmark = pytest.mark.lab


def _tcp(lab, src, ip, port, timeout=2):
    r = lab.in_node(src, ["timeout", str(timeout), "bash", "-c", f"</dev/tcp/{ip}/{port}"], check=False)
    return r.returncode == 0


def test_routers_run_the_rendered_config_with_ospf_authentication(lab):
    key = lab.secret("env:JINBAO_OSPF_KEY")
    running = lab.in_node("prov-wan1", ["vtysh", "-c", "show running-config"]).stdout
    intended = rendered(lab.plan.estate, lab.plan.nodes["prov-wan1"].device)["frr"]
    assert "<secret env:JINBAO_OSPF_KEY>" in intended and key not in intended
    assert "ip ospf authentication message-digest" in running
    assert f"ip ospf message-digest-key 1 md5 {key}" in running  # resolved on the way into the node
    for line in intended.splitlines():
        if line.startswith((" network ", " description ", " ip ospf bfd")):
            assert line in running.splitlines(), line


def test_the_firewall_answers_management_only_on_its_management_port(lab):
    fw = lab.plan.nodes["prov-fw1"].device
    zone_ip = str(next(i.ip.ip for i in fw.interfaces if i.zone == "production"))
    assert not _tcp(lab, "prov-db1", zone_ip, 22), "sshd must not answer a production host on a data port"
    r = lab.in_node("ops", lab.ssh_args("prov-fw1") + ["true"], check=False)
    assert r.returncode == 0, r.stderr
    ruleset = lab.in_node("prov-fw1", ["nft", "list", "table", "inet", "jinbao_zones"]).stdout
    assert "chain input" in ruleset and ruleset.count("policy drop") == 2


@pytest.mark.parametrize("node, syntax", [("prov-wan1", "frr"), ("prov-fw1", "nftables")])
def test_the_rendered_intent_is_what_the_lab_runs_and_its_secrets_never_show(lab, node, syntax):
    """A driver given the rendering (secret references and all) sees no change to make: the lab
    runs exactly netconfig's intent. The references are resolved on the way in, and the diff a
    change would show carries references, never values."""
    from netconfig.drivers import config_driver_for, session

    intended = rendered(lab.plan.estate, lab.plan.nodes[node].device)[syntax]
    secrets = [lab.secret(r) for r in ("env:JINBAO_OSPF_KEY",)]
    with session(config_driver_for(lab.target(node))) as d:
        d.load_replace_candidate(config=intended)
        assert d.compare_config().strip() == "", "the lab drifted from its own rendering"
        if syntax == "frr":  # a new key id puts a secret-bearing line into the diff
            d.load_replace_candidate(config=intended.replace("message-digest-key 1 ", "message-digest-key 2 ", 1))
            diff = d.compare_config()
            assert "message-digest-key 2 md5 <secret env:JINBAO_OSPF_KEY>" in diff, diff
            assert not any(s in diff for s in secrets), diff
        # leaving the session discards the candidate: the node is untouched
