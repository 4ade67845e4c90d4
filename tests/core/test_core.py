"""The core's seams: it names no domain; domains plug in through entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing

import pytest

from jinbao.errors import JinbaoError
from jinbao.platforms import PLATFORMS, Platform, facts
from jinbao.target import Target, target, targets
from tests.support import REPO, run_cli

DOMAINS = {"lab", "pki", "netconfig", "monitoring", "dr", "compliance"}


def _imported(package: str):
    """(where, module) for every module a package's files import or name in a string."""
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            # a module named in a string (importlib.import_module("lab.cli")) is an import too
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
                names.append(node.value)
            for n in names:
                if n.split(".")[1:2] != [""]:
                    yield f"{path.relative_to(REPO)}:{node.lineno}", n


def test_the_core_imports_no_domain():
    found = [f"{where} {n}" for where, n in _imported("jinbao") if n.split(".")[0] in DOMAINS]
    assert not found, found


def test_no_domain_imports_another_domains_internals():
    """Domains meet only in the core (targets, results, the model), never in each other's modules."""
    found = [
        f"{where} {n}"
        for domain in sorted(DOMAINS)
        if (REPO / domain).is_dir()
        for where, n in _imported(domain)
        if n.split(".")[0] in DOMAINS - {domain}
    ]
    assert not found, found


def test_domains_register_their_commands_through_entry_points():
    text = (REPO / "pyproject.toml").read_text()
    assert '[project.entry-points."jinbao.commands"]' in text
    r = run_cli("--help")
    assert r.returncode == 0
    for group in ("inventory", "lab", "pki"):
        assert f"  {group} " in r.stdout, r.stdout


def test_a_call_imports_only_the_domain_it_asks_for():
    """Every CLI call paid for importing every domain (about 0.6 s of CPU); a lab command must not
    import the poller, the CA or the device drivers."""
    probe = (
        "import sys\nfrom jinbao.cli import main\nsys.argv = ['jinbao', 'lab', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'lab', 'monitoring', 'pki', 'netconfig', 'dr', 'compliance'}))"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "['lab']", r.stdout


def test_the_platform_table_is_the_one_place_for_platform_facts():
    assert set(typing.get_args(Platform)) == set(PLATFORMS)
    # A dict keyed by vendor platform names anywhere else is a second table growing.
    found = []
    for package in ("jinbao", *sorted(DOMAINS)):
        for path in sorted((REPO / package).rglob("*.py")) if (REPO / package).is_dir() else ():
            if path.name == "platforms.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Dict):
                    keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                    if len(keys & {"cisco_ios", "huawei_vrp", "h3c_comware", "frr"}) >= 2:
                        found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, found
    assert facts("huawei_vrp").interface_name(0) == "GigabitEthernet0/0/1"
    assert facts("frr").lab_node_kind == "router" and facts("cisco_ios").lab_node_kind is None


def test_a_target_says_how_to_get_there_and_holds_no_secret(tmp_path):
    t = Target(
        "prov-db1",
        "linux",
        "10.91.0.5",
        "jinbao",
        identity_file=tmp_path / "key",
        known_hosts=tmp_path / "kh",
        netns="jbx-ops",
        password_ref="env:JB_PW",
    )
    cmd = t.ssh_command("hostname")
    assert cmd[:4] == ["ip", "netns", "exec", "jbx-ops"] and cmd[-2:] == ["jinbao@10.91.0.5", "hostname"]
    assert f"UserKnownHostsFile={tmp_path / 'kh'}" in cmd and "StrictHostKeyChecking=yes" in cmd
    assert "env:JB_PW" not in " ".join(cmd)  # a reference is resolved by a transport that needs it, never shown
    assert Target("r1", "frr", "10.0.0.1", "ops").ssh_command()[:1] == ["ssh"]


def test_target_sources_are_entry_points_and_bad_specs_are_bad_input():
    assert '[project.entry-points."jinbao.targets"]' in (REPO / "pyproject.toml").read_text()
    with pytest.raises(JinbaoError, match="unknown target source"):
        targets("nosuch:x")
    with pytest.raises(JinbaoError, match="unknown target source"):
        target("lab", "prov-db1")  # no ':'
    with pytest.raises(JinbaoError, match="no lab"):
        targets("lab:jbnosuch")


def test_no_module_of_the_core_or_a_domain_is_over_450_lines():
    """Big files grow more jobs; the seams stay visible when each room stays small."""
    big = [
        f"{path.relative_to(REPO)}: {n} lines"
        for package in ("jinbao", *sorted(DOMAINS))
        for path in sorted((REPO / package).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 450
    ]
    assert not big, big


def test_appliances_are_watched_not_configured_or_provisioned(province):
    """A UPS, sensor, air conditioner, storage array or tape library runs vendor firmware: no
    playbook that picks Linux hosts may reach it, and nothing renders a config for it."""
    from jinbao.ansible_inventory import build
    from jinbao.classes import device_class
    from jinbao.rendering import rendered

    kinds = {"ups", "env_sensor", "air_conditioner", "storage", "tape_library"}
    appliances = {n for n, d in province.devices.items() if device_class(d) in kinds}
    assert appliances and {province.devices[n].platform for n in appliances} == {"appliance"}
    groups, hostvars = build(province)
    assert not appliances & set(groups["platform_linux"]["hosts"])
    assert all("ansible_network_os" not in hostvars[n] for n in appliances)
    for n in sorted(appliances)[:3]:
        with pytest.raises(JinbaoError, match="no renderer has templates"):
            rendered(province, province.devices[n])
    # and an assessor cannot ask the audit to judge an appliance's "config": it has none
    r = run_cli(
        "audit", "config", str(REPO / "tests/golden/netconfig/frr/lab/prov-wan1.frr.conf"), "--platform", "appliance"
    )
    assert r.returncode == 2 and "'appliance' is not one of" in r.stderr, r.stderr
