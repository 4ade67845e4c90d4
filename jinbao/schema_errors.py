"""Pydantic's validation errors, as problems a person can act on: the line of the field, what was
written instead of what pydantic's classes are called, and how to fix it."""
from __future__ import annotations

from pydantic import ValidationError

from .problems import ProblemList
from .yamlsrc import Positions

# How to fix each kind of schema error; {ctx} values come from pydantic's error context.
_FIXES = {
    "extra_forbidden": "remove the field or correct its spelling",
    "missing": "add this field",
    "literal_error": "use one of the allowed values",
    "ip_v4_address": "write a dotted IPv4 address such as 10.34.1.10",
    "ip_v4_network": "write an IPv4 network with its prefix, host bits zero, such as 10.34.0.0/16",
    "ip_v4_interface": "write an address with prefix length, such as 10.34.1.10/24",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' (see docs/inventory.md)",
    "int_type": "write a whole number, without quotes",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "greater_than_equal": "use {ge} or more",
    "greater_than": "use a value above {gt}",
    "less_than_equal": "use {le} or less",
    "less_than": "use a value below {lt}",
    "too_short": "give at least {min_length} item(s)",
    "too_long": "give at most {max_length}",
    "string_too_short": "write a value; an empty one means nothing",
    "string_too_long": "shorten it to {max_length} characters",
    "string_type": "write text; quote it if YAML reads it as a number, date or null",
    "list_type": "write a list: one '- item' per line, or [a, b]",
    "dict_type": "write a mapping of 'key: value' lines",
    "model_type": "write a mapping of 'key: value' lines",
    "model_attributes_type": "write a mapping of 'key: value' lines",
}

# Value errors carry their own message; these say what form each field wants.
_FIELD_FIXES = {
    "services": "write icmp, tcp/PORT, udp/PORT or tcp/LOW-HIGH with ports 1-65535, e.g. tcp/443",
    "domain": "write a DNS domain in lower case, e.g. hrss.ah.example",
    "ospf_area": "write auto, a number 0-4294967295 or a dotted area id such as 0.0.0.1",
    "rto": "write a duration such as 15m, 4h or 2d",
    "rpo": "write a duration such as 0s, 30m or 1h",
    "loopback": "write true, false or an address of the site's loopback pool",
    "supernet": "use a private block (RFC 1918) such as 10.34.0.0/16",
    "block": "use a private block (RFC 1918) such as 10.35.0.0/16",
}

_BOUNDS = {"greater_than_equal": "below the smallest allowed value,", "greater_than": "not above",
           "less_than_equal": "above the largest allowed value,", "less_than": "not below"}

_WANT = {"model_type": "a mapping", "dict_type": "a mapping", "model_attributes_type": "a mapping",
         "list_type": "a list", "string_type": "text", "int_type": "a whole number", "bool_type": "true or false"}

KINDS = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false",
          type(None): "nothing"}


def fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def schema_problems(err: ValidationError, pos: Positions, problems: ProblemList) -> None:
    """One problem per pydantic error, at the line of the nearest field that was written."""
    for e in err.errors():
        loc = tuple(p for p in e["loc"])
        # Union members show up as extra loc parts ('bool', 'function-after[...]'); the line of
        # the nearest real field is what a person needs.
        clean = tuple(p for p in loc if isinstance(p, int) or "[" not in str(p) and p not in ("bool", "str", "int"))
        key = next((p for p in reversed(clean) if isinstance(p, str)), "")
        kind = e["type"]
        msg = e["msg"]
        try:
            fix = _FIXES.get(kind, "correct the value").format(**(e.get("ctx") or {}))
        except (KeyError, IndexError):
            fix = _FIXES.get(kind, "correct the value")
        if kind == "value_error":
            msg = msg.removeprefix("Value error, ")
            fix = _FIELD_FIXES.get(key, "correct the value")
            if "control character" in msg:
                fix = "retype it; a tab or an escape sequence was pasted in"
        elif kind == "string_pattern_mismatch":
            # The regex means nothing to an operator; say what form is wanted instead.
            msg = f"{e['input']!r} is not a valid {key.rstrip('s') or 'value'}"
        elif kind == "too_short" and not e["input"]:
            msg = "the list is empty"
        elif kind in _BOUNDS:
            # Pydantic does not say what was written; the value is what a person looks for.
            bound = next(iter((e.get("ctx") or {}).values()), "?")
            msg = f"{e['input']!r} is {_BOUNDS[kind]} {bound}"
        elif kind in _WANT:
            # Pydantic names its own classes ('RawEstate'); say what YAML wrote instead.
            found = KINDS.get(type(e["input"]), "something else")
            if isinstance(e["input"], (str, int, float, bool)):
                found += f" {e['input']!r}"
            msg = f"expected {_WANT[kind]}, found {found}"
        problems.add(pos.at(clean), fmt_loc(clean), msg, fix)
