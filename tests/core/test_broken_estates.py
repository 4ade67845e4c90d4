"""Every deliberately broken estate under tests/core/broken/ must fail with exactly its listed errors."""

import json
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, run_cli

BROKEN = REPO / "tests" / "core" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())


def test_there_are_broken_estates():
    assert {"schema", "secret_inline", "references", "ip_plan", "design", "yaml_syntax"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_broken_estate_reports_exactly_its_errors(case):
    expected = yaml.safe_load((BROKEN / f"{case}.expected.yml").read_text())
    r = run_cli("--estate", f"tests/core/broken/{case}", "inventory", "validate", "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    got = json.loads(r.stdout)
    assert got["valid"] is False
    found = [(Path(p["file"]).name, p["line"], p["field"]) for p in got["problems"]]
    want = [(e["file"], e["line"], e["field"]) for e in expected]
    assert sorted(found) == sorted(want)
    for e in expected:
        match = [
            p
            for p in got["problems"]
            if (Path(p["file"]).name, p["line"], p["field"]) == (e["file"], e["line"], e["field"])
        ]
        assert any(e["says"] in p["message"] for p in match), (e, match)
        assert all(p["fix"] for p in match), "every problem must say how to fix it"
        if "fix_says" in e:  # where the fix is the point: it must not mislead
            assert any(e["fix_says"] in p["fix"] for p in match), (e, match)


@pytest.mark.parametrize("case", CASES)
def test_human_output_names_file_line_field_and_fix(case):
    r = run_cli("--estate", f"tests/core/broken/{case}", "inventory", "validate")
    assert r.returncode == 2
    expected = yaml.safe_load((BROKEN / f"{case}.expected.yml").read_text())
    for e in expected:
        assert f"{e['file']}:{e['line']}: {e['field']}:" in r.stderr
    # Counted at the start of a line: a field such as zones.core.prefix also contains "fix:".
    assert r.stderr.count("\n      fix:") == len(expected)
    assert "nothing was changed" in r.stderr


def test_inline_secret_is_not_echoed():
    r = run_cli("--estate", "tests/core/broken/secret_inline", "inventory", "validate")
    secret = "Jb@2026secret"
    assert secret in (BROKEN / "secret_inline" / "estate.yml").read_text()
    assert secret not in r.stdout + r.stderr


# Written in tests/core/broken/secret_values in every shape YAML can read a pasted secret as.
_PASTED_SECRETS = ("12345678901234", "3.14159", "Zx9Secret", "Kq7Secret", "QAZ2wsx", "Yt6Secret", "yt6secret")


@pytest.mark.parametrize("more", [(), ("--json",)])
def test_no_secret_is_echoed_whatever_its_type(more):
    text = "".join(p.read_text() for p in (BROKEN / "secret_values").glob("*.yml"))
    assert all(s in text for s in _PASTED_SECRETS[:-1])
    r = run_cli("--estate", "tests/core/broken/secret_values", "inventory", "validate", *more)
    assert r.returncode == 2
    for s in _PASTED_SECRETS:
        assert s not in r.stdout + r.stderr, s


def test_every_command_using_the_estate_refuses_a_broken_one():
    for args in (["inventory", "show"], ["inventory", "graph", "--out", "/tmp/jinbao-never"], ["inventory", "ansible"]):
        r = run_cli("--estate", "tests/core/broken/references", *args)
        assert r.returncode == 2, args
        assert "links.yml:6" in r.stderr
    assert not Path("/tmp/jinbao-never").exists()


def test_unknown_estate_name_is_bad_input():
    r = run_cli("--estate", "atlantis", "inventory", "validate")
    assert r.returncode == 2
    assert "no estate named 'atlantis'" in r.stderr and "province" in r.stderr


# -- never a traceback: whatever is in the estate folder is bad input (exit 2) or skipped -------

LAB = REPO / "inventory" / "lab"


def _lab_copy(tmp_path, name="estate"):
    import shutil

    dest = tmp_path / name
    shutil.copytree(LAB, dest)
    return dest


def _validate(path, *more, timeout=60):
    r = run_cli("--estate", str(path), "inventory", "validate", *more, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_border_and_role_estates_are_there():
    # Each of these rendered a config without an error before it was refused (see its expected file).
    assert {
        "firewall_placement",
        "zone_borders",
        "no_core_zone",
        "policy_for_each",
        "platform_roles",
        "dr_sides",
        "static_over_ospf",
        "yaml_numbers",
        "template_kind",
        "upper_case_suffix",
    } <= set(CASES)


def test_new_broken_estates_are_there():
    assert {
        "unreadable",
        "yaml_shapes",
        "ranges",
        "estate_settings",
        "full_blocks",
        "uniqueness",
        "uplinks",
        "dr_targets",
        "templates_once",
        "areas_and_parents",
    } <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_each_line_and_field_is_reported_once(case):
    r = run_cli("--estate", f"tests/core/broken/{case}", "inventory", "validate", "--json")
    keys = [(p["file"], p["line"], p["field"]) for p in json.loads(r.stdout)["problems"]]
    assert len(keys) == len(set(keys)), keys


def test_editor_leftovers_are_not_part_of_the_estate(tmp_path):
    est = _lab_copy(tmp_path)
    (est / ".#sites.yml").symlink_to("root@jumphost.4242:1764000000")  # emacs lock: dangling
    (est / "sites.yml~").write_bytes(b"\xff\xfe not yaml")
    (est / ".sites.yml.swp").write_bytes(b"b0VIM 9.0\x00\x00")
    (est / "#links.yml#").write_text("links: [")
    (est / ".hidden").mkdir()
    (est / ".hidden" / "old.yml").write_text("estate: {}")
    r = _validate(est)
    assert r.returncode == 0, r.stderr
    assert "is valid" in r.stdout


def test_markup_in_what_was_written_is_printed_as_written(tmp_path):
    est = _lab_copy(tmp_path)
    links = (est / "links.yml").read_text().replace("b: dr-wan1", 'b: "dr-wan1[/]"')
    (est / "links.yml").write_text(links)
    policy = (est / "policy.yml").read_text().replace("from: production, to: core", 'from: "[bold]prod", to: core')
    (est / "policy.yml").write_text(policy)
    r = _validate(est)
    assert r.returncode == 2
    assert "link end 'dr-wan1[/]' is not a device" in r.stderr
    assert "policy names zone '[bold]prod'" in r.stderr


def test_a_file_that_cannot_be_read_is_a_problem(tmp_path, monkeypatch):
    from jinbao import estate_files
    from jinbao.errors import InventoryError
    from jinbao.estate import load_estate

    est = _lab_copy(tmp_path)
    real_open = open

    def no_permission(path, *args, **kw):
        if str(path).endswith("links.yml"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kw)

    # Tests run as root, which reads a chmod 000 file anyway; so the refusal is simulated.
    monkeypatch.setattr(estate_files, "open", no_permission, raising=False)
    with pytest.raises(InventoryError) as x:
        load_estate(est)
    [p] = x.value.problems
    assert p.origin.file.endswith("links.yml") and p.origin.line == 1
    assert "permission denied" in p.message and "chmod" in p.fix


def test_special_files_named_yml_are_problems_not_hangs(tmp_path):
    import os

    est = _lab_copy(tmp_path)
    os.mkfifo(est / "pipe.yml")  # reading it would block forever
    (est / "zero.yml").symlink_to("/dev/zero")  # reading it would never end
    r = _validate(est, "--json", timeout=30)
    assert r.returncode == 2
    got = {Path(p["file"]).name: p["message"] for p in json.loads(r.stdout)["problems"]}
    assert set(got) == {"pipe.yml", "zero.yml"}
    assert all("not a regular file" in m for m in got.values())


def test_a_file_name_that_is_not_utf8_is_still_printed(tmp_path):
    import os

    est = _lab_copy(tmp_path)
    name = "城市.yml".encode("gbk")  # as a Windows share or an old archive would write it
    with open(os.path.join(os.fsencode(est), name), "wb") as f:
        f.write(b"links: [\n")
    for more in ((), ("--json",)):
        r = _validate(est, *more)
        assert r.returncode == 2
        assert ".yml:" in r.stderr or '.yml"' in r.stdout


def test_estate_path_that_is_a_file_or_missing_is_bad_input():
    r = _validate("inventory/lab/sites.yml")
    assert r.returncode == 2 and "is a file, not an estate folder" in r.stderr
    r = _validate("tests/core/broken/no-such-estate")
    assert r.returncode == 2 and "there is no estate folder at 'tests/core/broken/no-such-estate'" in r.stderr


def test_any_folder_with_yaml_files_at_its_top_is_an_estate(tmp_path):
    # Any section may be in any file: no file has to be called estate.yml.
    est = _lab_copy(tmp_path)
    (est / "estate.yml").rename(est / "00-settings.yml")
    r = _validate(est)
    assert r.returncode == 0, r.stderr
    # A folder with no .yml at its top (say '/', or one holding only other folders) is not
    # walked: that is one clean problem.
    outer = tmp_path / "outer"
    (outer / "docs").mkdir(parents=True)
    (outer / "README.txt").write_text("not an estate")
    (outer / "lab.jinbao.yml").write_text("plugin: jinbao\n")  # an Ansible plugin config, not estate data
    for folder in (outer, "/"):
        r = _validate(folder)
        assert r.returncode == 2
        assert "is not an estate folder: it has no .yml or .yaml file at its top level" in r.stderr


def test_a_file_commented_out_as_a_whole_adds_nothing(tmp_path):
    est = _lab_copy(tmp_path)
    policy = (est / "policy.yml").read_text()
    (est / "policy.yml").write_text("".join(f"# {line}\n" for line in policy.splitlines()))
    (est / "dr.yml").write_text(policy.split("dr_pairs:")[1].join(["dr_pairs:", ""]))
    (est / "later.yaml").write_text("")
    r = _validate(est)
    assert r.returncode == 0, r.stderr
    assert "0 zone policies, 1 DR pairs" in r.stdout


def test_deep_nesting_is_refused_without_crashing_the_interpreter(tmp_path):
    # libyaml's composer recurses in C: 100,000 nested lists killed Python with SIGSEGV.
    est = _lab_copy(tmp_path)
    (est / "deep.yml").write_text("sites: " + "[" * 100_000 + "]" * 100_000 + "\n")
    r = _validate(est)
    assert r.returncode == 2 and "deep.yml:1: (yaml): the YAML nests deeper than 64 levels" in r.stderr


def test_a_huge_link_subnet_does_not_list_its_hosts(tmp_path):
    est = _lab_copy(tmp_path)
    links = (est / "links.yml").read_text().replace("b: dr-wan1,", "b: dr-wan1, subnet: 10.0.0.0/8,")
    (est / "links.yml").write_text(links)
    r = _validate(est, timeout=20)
    assert r.returncode == 2 and "are not in one /30 or /31" in r.stderr


def test_an_estate_wide_setting_is_reported_once_on_the_province(tmp_path):
    import shutil

    est = tmp_path / "province"
    shutil.copytree(REPO / "inventory" / "province", est)
    text = (est / "estate.yml").read_text().replace("protocols: [ssh, snmp]", "protocols: [ssh, snmp, telnet]")
    (est / "estate.yml").write_text(text)
    r = _validate(est, "--json")
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"]) for p in problems] == [
        ("estate.yml", 18, "estate.management.protocols")
    ]


# Values a person (or a bad merge) could put anywhere in a file.
_NASTY = [
    None,
    "",
    0,
    -1,
    2**40,
    True,
    "x" * 300,
    "[/]",
    "[bold]x",
    [],
    {},
    [1, 2],
    {"a": 1},
    "10.0.0.0/8",
    "999.1.1.1",
    "10.90.0.1",
    1.5,
    "{each}",
    "{nope}",
    "prov-wan1",
    "auto",
    "tcp/0",
    "core",
    "county",
    "0.0.0.0/0",
    4094,
    65536,
    31,
    32,
]


_TEXT_OPS = ("drop", "repeat", "tab", "indent", "cut", "bytes")


def _mutations(seed, op=None):
    """A lab file changed in a random way: values replaced or removed, or its text damaged by op."""
    import copy
    import random

    rnd = random.Random(seed)
    files = sorted(LAB.glob("*.yml"))
    name = rnd.choice(files).name
    if op is None and rnd.random() < 0.6:
        data = copy.deepcopy(yaml.safe_load((LAB / name).read_text()))
        for _ in range(rnd.randint(1, 3)):
            paths = list(_paths(data))
            if not paths:
                break
            *parents, last = rnd.choice(paths)
            node = data
            for p in parents:
                node = node[p]
            if rnd.random() < 0.25:
                del node[last]
            else:
                node[last] = rnd.choice(_NASTY)
        return name, yaml.safe_dump(data, allow_unicode=True).encode()
    lines = (LAB / name).read_bytes().split(b"\n")
    j = rnd.randrange(len(lines))
    op = op or rnd.choice(_TEXT_OPS)
    if op == "drop":
        del lines[j]
    elif op == "repeat":
        lines.insert(j, lines[j])
    elif op == "tab":
        lines[j] = b"\t" + lines[j]
    elif op == "indent":
        lines[j] = b"   " + lines[j]
    elif op == "cut":
        lines = lines[:j] + [lines[j][: rnd.randrange(len(lines[j]) + 1)]]
    else:
        lines[j] += bytes(rnd.randrange(128, 256) for _ in range(3))
    return name, b"\n".join(lines)


def _paths(node, path=()):
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield path + (k,)
        yield from _paths(v, path + (k,))


def test_fuzzed_lab_estates_never_crash(tmp_path):
    """Hundreds of damaged copies of the lab: each loads or is refused with problems, never raises
    anything else, and every problem prints (rich markup and all) with its fix."""
    import io
    import shutil

    from rich.console import Console

    from jinbao import cli
    from jinbao.errors import InventoryError
    from jinbao.estate import load_estate

    refused = 0
    for seed in range(400):
        est = tmp_path / f"e{seed}"
        shutil.copytree(LAB, est)
        name, body = _mutations(seed)
        (est / name).write_bytes(body)
        try:
            load_estate(est)
        except InventoryError as x:
            refused += 1
            assert x.problems and all(p.fix and p.message for p in x.problems), seed
            console, cli.err = cli.err, Console(file=io.StringIO(), width=160)
            try:
                cli.print_problems(x.problems, as_json=False)
            finally:
                cli.err = console
        shutil.rmtree(est)
    assert refused > 200  # the mutations do break things


@pytest.mark.parametrize("op", [None, *_TEXT_OPS])
def test_fuzzed_lab_estates_through_the_cli(tmp_path, op):
    for seed in range(1000, 1003):
        est = _lab_copy(tmp_path, f"e{seed}")
        name, body = _mutations(seed, op)
        (est / name).write_bytes(body)
        for more in ((), ("--json",)):
            r = _validate(est, *more)
            assert r.returncode in (0, 2), (seed, r.stderr)


@pytest.mark.parametrize("block", ["10.90.0.0/16", "10.88.0.0/14", "10.90.128.0/20"])
def test_a_management_block_overlapping_the_supernet_is_one_problem(tmp_path, block):
    est = _lab_copy(tmp_path)
    text = (est / "estate.yml").read_text().replace("block: 10.91.0.0/16", f"block: {block}")
    (est / "estate.yml").write_text(text)
    r = _validate(est, "--json")
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"]) for p in problems] == [
        ("estate.yml", 11, "estate.management.block")
    ], problems
    assert f"the management block {block} overlaps" in problems[0]["message"]


@pytest.mark.parametrize(
    "file,old,new,line,field",
    [
        # A zone block bigger than its site: one problem, not an overlap with every sibling and a
        # collision for every address in it.
        (
            "sites.yml",
            "{name: core, kind: core, vlan: 10, prefix: 28}\n      - {name: production",
            "{name: core, kind: core, vlan: 10, prefix: 28, block: 10.90.0.0/16}\n      - {name: production",
            18,
            "zones.core.block",
        ),
        (
            "sites.yml",
            "{name: hefei, template: city, title: 合肥}",
            "{name: hefei, template: city, title: 合肥, block: 10.0.0.0/8}",
            29,
            "block",
        ),
        ("links.yml", "b: dr-wan1,", "b: dr-wan1, subnet: 10.90.0.64/30,", 6, "subnet"),
        ("sites.yml", "{name: prov-db1,", "{name: prov-db1, ip: 10.90.0.130/26,", 25, "ip"),
    ],
)
def test_a_stray_block_or_address_is_one_problem(tmp_path, file, old, new, line, field):
    est = _lab_copy(tmp_path)
    text = (est / file).read_text()
    assert old in text
    (est / file).write_text(text.replace(old, new, 1))
    r = _validate(est, "--json")
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"]) for p in problems] == [(file, line, field)], problems


def test_keys_beside_a_merge_key_override_it(tmp_path):
    # YAML's merge key: keys written beside '<<' override the merged ones by design.
    est = _lab_copy(tmp_path)
    sites = (est / "sites.yml").read_text()
    sites = sites.replace("      - {name: dr-wan1, role: wan_router", "      - &wan {name: dr-wan1, role: wan_router")
    fw = "      - {name: dr-fw1, role: firewall, platform: nftables, vendor: Linux, model: nftables, zone: core, loopback: true}"
    assert fw in sites
    (est / "sites.yml").write_text(
        sites.replace(fw, "      - {<<: *wan, name: dr-fw1, role: firewall, platform: nftables}")
    )
    r = _validate(est)
    assert r.returncode == 0, r.stderr
    # A key written twice beside '<<' is still a key written twice, once.
    (est / "sites.yml").write_text(
        sites.replace(fw, "      - {<<: *wan, name: dr-fw1, role: firewall, role: firewall, platform: nftables}")
    )
    r = _validate(est, "--json")
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"], p["message"]) for p in problems] == [
        ("sites.yml", 42, "sites[4].devices[1].role", "key given twice in one mapping")
    ]


def test_names_may_be_as_long_as_a_dns_label(tmp_path):
    # docs/inventory.md: device names are host names, at most 63 characters (one DNS label).
    est = _lab_copy(tmp_path)
    long = "prov-monitoring-collector-" + "x" * (63 - 26)
    assert len(long) == 63
    sites = (est / "sites.yml").read_text()
    (est / "sites.yml").write_text(sites.replace("{name: prov-mon1,", f"{{name: {long},"))
    (est / "management.yml").unlink()  # it names prov-mon1
    r = _validate(est)
    assert r.returncode == 0, r.stderr
    (est / "sites.yml").write_text(sites.replace("{name: prov-mon1,", f"{{name: {long}y,"))
    r = _validate(est, "--json")
    [p] = json.loads(r.stdout)["problems"]
    assert (p["line"], p["field"]) == (27, "sites[0].devices[5].name") and "at most 63" in p["message"]


@pytest.mark.parametrize(
    "links_block,mgmt_block,line,field,says",
    [
        # A link block typed into the management range: the link block's value is the mistake.
        (
            "10.91.240.0/20",
            "10.91.0.0/16",
            15,
            "estate.links.block",
            "the link block 10.91.240.0/20 is outside the supernet 10.90.0.0/16, and inside the management block "
            "10.91.0.0/16",
        ),
        # A management block typed into the link block: management.block is the mistake.
        (
            "10.90.240.0/20",
            "10.90.241.0/24",
            11,
            "estate.management.block",
            "the management block 10.90.241.0/24 overlaps the supernet 10.90.0.0/16",
        ),
    ],
)
def test_nested_link_and_management_blocks_blame_the_inner_one(tmp_path, links_block, mgmt_block, line, field, says):
    est = _lab_copy(tmp_path)
    text = (est / "estate.yml").read_text()
    text = text.replace("block: 10.91.0.0/16 ", f"block: {mgmt_block} ").replace(
        "block: 10.90.240.0/20 ", f"block: {links_block} "
    )
    (est / "estate.yml").write_text(text)
    r = _validate(est, "--json")
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"]) for p in problems] == [("estate.yml", line, field)], problems
    assert says in problems[0]["message"]


def test_dot_is_the_estate_folder_one_is_in():
    # '.' has no '/', and was looked up as an estate named '.' under inventory/.
    import os
    import subprocess

    from tests.support import JINBAO

    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's jinbao, run from inside the estate
    r = subprocess.run(
        [*JINBAO, "--estate", ".", "inventory", "validate"], cwd=LAB, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0 and "estate lab is valid" in r.stdout, r.stderr


def test_probed_estates_are_there():
    # Each of these validated without a single problem before it was refused (see its expected file).
    assert {
        "private_blocks",
        "set_lists",
        "secret_paths",
        "shared_password",
        "server_loopback",
        "yaml_tags",
        "link_types",
        "idle_firewall",
        "displaced_blocks",
        "invisible_text",
        "lookalike_carriers",
        "linked_files",
        "trailing_newline",
        "placeholder_names",
        "group_names",
        "shadowed_waves",
    } <= set(CASES)


@pytest.mark.parametrize(
    "province,hefei",
    [
        # Where the plan puts them anyway: nothing moves.
        ("10.90.0.0/20", "10.90.16.0/22"),
        # Space the plan leaves free: nothing the plan placed moves.
        (None, "10.90.32.0/22"),
    ],
)
def test_a_block_written_where_nothing_else_is_planned_is_fine(tmp_path, province, hefei):
    est = _lab_copy(tmp_path)
    sites = (est / "sites.yml").read_text()
    if province:
        sites = sites.replace("    kind: province\n", f"    kind: province\n    block: {province}\n")
    sites = sites.replace(
        "{name: hefei, template: city, title: 合肥}", f"{{name: hefei, template: city, block: {hefei}}}"
    )
    (est / "sites.yml").write_text(sites)
    r = _validate(est)
    assert r.returncode == 0, r.stderr


def test_a_link_to_a_file_inside_the_estate_is_read(tmp_path):
    est = _lab_copy(tmp_path)
    (est / ".shared").mkdir()  # hidden: not read itself, only through the link
    (est / "management.yml").rename(est / ".shared" / "management.yml")
    (est / "management.yml").symlink_to(".shared/management.yml")
    r = _validate(est, "--json")
    assert r.returncode == 0, r.stdout
    (est / ".shared" / "management.yml").write_text("management_plane: {ntp: [nowhere]}\n")
    r = _validate(est, "--json")
    assert r.returncode == 2 and "management.yml" in r.stdout
