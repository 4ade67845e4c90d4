"""Golden files of the lab's rendered node files (lab/render.py), for the `lab` estate.

No namespace is made and nothing runs as root: the files are rendered as lab.runtime._build
renders them (the same functions, the same arguments, the same paths relative to the node's
folder) for a lab with the fixed id GOLD_ID under the default lab root, and compared with
tests/golden/lab-render/<node>/.

Secrets: the SNMP keys are resolved the way the runtime resolves them (jinbao.secrets.resolve of
each profile's reference), but with the referenced environment variables set to known test values
for the test only; those values are then replaced by a placeholder `<secret REF>`, so a golden file
holds neither a real key nor a test one. Host input (/etc/passwd, /etc/group) is a fixed stand-in.

Mismatch: the test fails with a unified diff. `JINBAO_UPDATE_GOLDEN=1 pytest tests/lab/test_render_golden.py`
rewrites the golden files (and removes ones no node renders any more) and fails naming them; review
with `git diff tests/golden` and commit with the change that caused it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jinbao.errors import SecretError
from jinbao.estate import load_estate
from jinbao.rendering import rendered
from jinbao.secrets import resolve
from lab import record, render
from lab.record import Lab
from lab.topology import LabPlan, Node, plan
from tests.support.golden import GOLDEN, check_tree

GOLD_ID = "jbgold"
# The documented default, not whatever JINBAO_LAB_ROOT the developer has set.
GOLD_LAB_ROOT = Path("/var/tmp/jinbao-lab")
RENDERED = GOLDEN / "lab-render"

HOST_PASSWD = "root:x:0:0:root:/root:/bin/bash\nfrr:x:100:101:Frr routing suite:/nonexistent:/usr/sbin/nologin\n"
HOST_GROUP = "root:x:0:\nfrr:x:101:\nfrrvty:x:102:frr\n"

PLAN = plan(load_estate("lab"), GOLD_ID)


def _placeholder(ref: str) -> str:
    return f"<secret {ref}>"


@pytest.fixture
def snmp_keys(monkeypatch) -> dict[str, tuple[str, str]]:
    """Per profile, the (auth, priv) keys as the runtime resolves them, from test values only."""
    keys = {}
    for name, prof in PLAN.estate.snmp_profiles.items():
        pair = []
        for ref in (prof.auth_key, prof.priv_key):
            kind, _, var = ref.ref.partition(":")
            if kind != "env":
                pytest.fail(
                    f"profile {name} references {ref.ref}: only env: references can be given test values "
                    "here; teach this test to inject that kind before rendering"
                )
            monkeypatch.setenv(var, f"golden-test-value-of-{var}")
            pair.append(resolve(ref))
        keys[name] = tuple(pair)
    return keys


def _node_files(p: LabPlan, node: Node, keys: tuple[str, str]) -> dict[str, str]:
    """What lab.runtime._build writes for one node, by path in the node's folder (the etc/ files
    go into its root filesystem's upper layer, rootfs/upper/etc: lab/rootfs.py)."""
    nd = str(Lab(GOLD_ID).node_dir(node.name))
    profile = p.estate.snmp_profiles[node.device.snmp_profile]
    files = {
        "etc/passwd": render.passwd(HOST_PASSWD, node, nd),
        "etc/group": render.group(HOST_GROUP, node),
        "etc/ssh/sshd_config": render.sshd_config(node),
        "etc/snmp/snmpd.conf": render.snmpd_conf(p, node, profile, *keys),
        "daemons.sh": render.daemons_script(node, nd, render.collectors(p)),
        "start.sh": render.start_script(node, nd),
    }
    if node.kind == "server":
        files["etc/sudoers.d/jinbao-lab"] = render.sudoers()
    # FRR and nftables come from netconfig through the core's renderer seam, as the runtime gets
    # them; their secret references stay markers here (the runtime fills them in on the node).
    netconfig = rendered(p.estate, node.device) if node.runs_frr else {}
    if node.runs_frr:
        files["etc/frr/daemons"] = render.FRR_DAEMONS
        files["etc/snmp/frr.conf"] = render.FRR_AGENTX
        files["etc/frr/frr.conf"] = netconfig["frr"]
        files["frr-expect"] = render.frr_expect(netconfig["frr"])
    if node.kind == "firewall":
        files["zones.nft"] = netconfig["nftables"]
    return files


def _scrub(text: str, secrets: dict[str, str]) -> str:
    for value, ref in secrets.items():
        text = text.replace(value, _placeholder(ref))
    return text


@pytest.mark.parametrize("name", list(PLAN.nodes))
def test_rendered_node_files_match_golden(name, snmp_keys, monkeypatch):
    monkeypatch.setattr(record, "LAB_ROOT", GOLD_LAB_ROOT)
    node = PLAN.nodes[name]
    profile = PLAN.estate.snmp_profiles[node.device.snmp_profile]
    keys = snmp_keys[profile.name]
    files = _node_files(PLAN, node, keys)
    # The keys must reach snmpd.conf, or the placeholder would hide that they went missing.
    assert all(k in files["etc/snmp/snmpd.conf"] for k in keys)
    secrets = dict(zip(keys, (profile.auth_key.ref, profile.priv_key.ref), strict=True))
    check_tree(RENDERED / name, {rel: _scrub(text, secrets) for rel, text in files.items()})


def test_every_golden_node_folder_is_a_node():
    """A golden folder of a node the estate no longer has would otherwise sit there unchecked."""
    assert {p.name for p in RENDERED.iterdir() if p.is_dir()} == set(PLAN.nodes)


def test_golden_files_hold_no_resolvable_secret():
    """Whatever the developer's environment resolves the estates' secret references to (their real
    keys, if set) appears in no golden file."""
    values = set()
    for estate in ("lab", "province"):
        for prof in load_estate(estate).snmp_profiles.values():
            for ref in (prof.auth_key, prof.priv_key):
                try:
                    values.add(resolve(ref))
                except SecretError:  # not set here: nothing to leak from this machine
                    continue
    for path in GOLDEN.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode()
            leaked = [v for v in values if v and v in text]
            assert not leaked, f"{path} holds the value of a secret reference"
