"""The core's seams: it names no domain; domains plug in through entry points."""

from __future__ import annotations

import ast

from tests.support import REPO, run_cli

DOMAINS = {"lab", "pki", "netconfig", "monitoring", "dr"}


def test_the_core_imports_no_domain():
    found = []
    for path in (REPO / "jinbao").rglob("*.py"):
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
            found += [
                f"{path.relative_to(REPO)}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] in DOMAINS and n.split(".")[1:2] != [""]
            ]
    assert not found, found


def test_domains_register_their_commands_through_entry_points():
    text = (REPO / "pyproject.toml").read_text()
    assert '[project.entry-points."jinbao.commands"]' in text
    r = run_cli("--help")
    assert r.returncode == 0
    for group in ("inventory", "lab", "pki"):
        assert f"  {group} " in r.stdout, r.stdout
