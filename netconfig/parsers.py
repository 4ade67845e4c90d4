"""CLI output of the vendor platforms parsed into records, for the drivers' getters.

ntc-templates (TextFSM) covers most commands. Where it has no template for the command our
drivers run (VRP and Comware `display ospf peer`, Comware `display version`, the single-address
route lookups), jinbao ships its own TextFSM templates in `netconfig/textfsm/`, written from the
vendors' documented output layout. Configs are not parsed here: hier_config reads them
(`netconfig.checks`).
"""

from __future__ import annotations

import re
from pathlib import Path

import textfsm  # type: ignore[import-untyped]
from ntc_templates.parse import parse_output  # type: ignore[import-untyped]

from jinbao.platforms import facts
from netconfig.checks.diff import dialect

TEMPLATES = Path(__file__).parent / "textfsm"

# (ntc-templates platform, command pattern, our template): checked before ntc-templates, so a
# command ntc-templates would mis-route (`show ip route 10.1.1.1` to its whole-table template)
# reaches the template written for it.
OWN_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("huawei_vrp", r"dis(play)? ospf( \d+)? peer$", "huawei_vrp_display_ospf_peer.textfsm"),
    (
        "huawei_vrp",
        r"dis(play)? ip routing-table \d+\.\d+\.\d+\.\d+",
        "huawei_vrp_display_ip_routing-table_address.textfsm",
    ),
    ("hp_comware", r"dis(play)? ver(sion)?$", "hp_comware_display_version.textfsm"),
    ("hp_comware", r"dis(play)? ospf( \d+)? peer$", "hp_comware_display_ospf_peer.textfsm"),
    ("cisco_ios", r"sh(ow)? ip route \d+\.\d+\.\d+\.\d+", "cisco_ios_show_ip_route_address.textfsm"),
)


class ParseError(ValueError):
    """No template for the command, or the output does not have the template's layout."""


def ntc_platform(platform: str) -> str:
    """The name ntc-templates uses for a jinbao vendor platform (h3c_comware → hp_comware)."""
    dialect(platform)  # a vendor platform, or ValueError
    name = facts(platform).textfsm_platform
    assert name, platform  # every vendor platform has one in the table
    return name


def _own_template(ntc: str, command: str) -> Path | None:
    for plat, pattern, template in OWN_TEMPLATES:
        if plat == ntc and re.fullmatch(pattern, command):
            return TEMPLATES / template
    return None


def parse(platform: str, command: str, text: str) -> list[dict[str, object]]:
    """Records from `text`, the output of `command` on a device of `platform`.

    Keys are the template's value names in lower case (`neighbor_id`, `state`, `interface`, …);
    list values stay lists. Raises ParseError when no template covers the command or the output
    does not fit it.
    """
    ntc = ntc_platform(platform)
    command = " ".join(command.split())
    own = _own_template(ntc, command)
    try:
        if own is not None:
            with own.open() as f:
                fsm = textfsm.TextFSM(f)
            rows = fsm.ParseText(text)
            return [dict(zip([h.lower() for h in fsm.header], row, strict=True)) for row in rows]
        records = parse_output(platform=ntc, command=command, data=text)
    except textfsm.TextFSMError as e:
        raise ParseError(f"{platform} {command!r}: {e}") from e
    except Exception as e:
        # ntc-templates raises its own exception type for a command it has no template for.
        raise ParseError(f"{platform} {command!r}: {e}") from e
    return [dict(r) for r in records]
