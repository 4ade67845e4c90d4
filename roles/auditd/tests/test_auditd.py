"""testinfra: each host records what the estate's audit policy asks (MLPS 2.0 level 3, 8.1.4.3).

An independent check of the role: the rules required are written out here, not read from the
role, and each is looked for in the merged rules file (/etc/audit/audit.rules, what auditd loads at
start). The rules are also checked without the kernel: every syscall they name exists on the
architecture (ausyscall), every watched path's folder exists. Whether the kernel has them loaded
(`auditctl -l`) is checked only where the host owns its kernel: in a lab node the kernel's audit
rules are the machine's, so JINBAO_SHARED_KERNEL=1 (set by lab/automation.py) skips that test.

    pytest roles/auditd/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

from __future__ import annotations

import os
import re

import pytest

REQUIRED = {
    "identity": ["-w /etc/passwd -p wa", "-w /etc/group -p wa", "-w /etc/shadow -p wa", "-w /etc/gshadow -p wa"],
    "privilege": ["-w /etc/sudoers -p wa", "-w /etc/sudoers.d -p wa", "-S execve -C uid!=euid -F euid=0"],
    "time": ["-S adjtimex,settimeofday,clock_settime", "-w /etc/localtime -p wa"],
    "audit_log": ["-w /var/log/audit -p wa", "-w /etc/audit -p wa", "-w /sbin/auditctl -p x"],
}
RULES = "/etc/audit/audit.rules"


@pytest.fixture(scope="module")
def rules(host) -> list[str]:
    text = host.file(RULES).content_string
    return [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]


def _has(rules: list[str], fragment: str, key: str) -> bool:
    return any(fragment in r and re.search(rf"(-k|-F key=)\s*{key}\b", r) for r in rules)


def test_auditd_is_installed(host):
    assert host.package("auditd").is_installed


@pytest.mark.parametrize("group", ["identity", "privilege", "time", "audit_log"])
def test_actions_are_recorded(rules, group):
    missing = [f for f in REQUIRED[group] if not _has(rules, f, group)]
    assert missing == []


def test_rules_are_immutable_until_reboot(rules):
    assert rules[-1] == "-e 2"


def test_every_syscall_named_exists_on_this_architecture(host, rules):
    names = {n for r in rules for m in re.findall(r"-S\s+(\S+)", r) for n in m.split(",")}
    assert names
    for n in sorted(names):
        assert host.run(f"ausyscall x86_64 {n}").rc == 0, n


def test_every_watched_path_has_its_folder(host, rules):
    for path in re.findall(r"^-w\s+(\S+)", "\n".join(rules), re.M):
        assert host.file(path.rsplit("/", 1)[0] or "/").is_directory, path


def test_audit_records_are_kept_and_never_lost_silently(host):
    conf = dict(
        (m[0], m[1].strip())
        for m in re.findall(r"^\s*([a-z_]+)\s*=\s*(.*)$", host.file("/etc/audit/auditd.conf").content_string, re.M)
    )
    assert conf["max_log_file_action"].upper() in ("ROTATE", "KEEP_LOGS")
    assert conf["disk_full_action"].upper() in ("SUSPEND", "SINGLE", "HALT")
    assert conf["admin_space_left_action"].upper() in ("SUSPEND", "SINGLE", "HALT")


@pytest.mark.skipif(os.environ.get("JINBAO_SHARED_KERNEL") == "1", reason="the host shares its kernel (a lab node)")
def test_the_kernel_has_the_rules_loaded(host):
    loaded = host.check_output("auditctl -l")
    for group, fragments in REQUIRED.items():
        for f in fragments:
            if f.startswith("-w "):
                path = f.split()[1]
                assert re.search(rf"-w {re.escape(path)}\b.*-k {group}", loaded), f
    assert "enabled 2" in host.check_output("auditctl -s")
