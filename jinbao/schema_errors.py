"""Pydantic's validation errors, as problems a person can act on: the line of the field, what was
written instead of what pydantic's classes are called, and how to fix it.

Nothing written in a secret field (or anywhere in an SNMP profile) is ever quoted back: see
secret_fields.py.
"""

from __future__ import annotations

import datetime
import difflib
import re
import types
import typing

from pydantic import BaseModel, ValidationError

from . import secret_fields
from .names import name_problem, non_ascii_note
from .problems import ProblemList
from .yamlsrc import Positions, surprising_int

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
    "community": "write a reference such as env:JINBAO_SNMP_COMMUNITY and keep the community itself out of the "
    "inventory (a community in the file is readable by everyone who reads the file or its history)",
    "services": "write icmp, tcp/PORT, udp/PORT or tcp/LOW-HIGH with ports 1-65535, e.g. tcp/443",
    "domain": "write a DNS domain in lower case, e.g. hrss.ah.example",
    "ospf_area": "write auto, a number 0-4294967295 or a dotted area id such as 0.0.0.1",
    "rto": "write a duration with its unit (s, m, h or d), such as 15m, 4h or 2d",
    "rpo": "write a duration with its unit (s, m, h or d), such as 0s, 30m or 1h",
    "loopback": "write true, false or an address of the site's loopback pool",
    "supernet": "use a private block (RFC 1918) such as 10.34.0.0/16",
    "block": "use a private block (RFC 1918) such as 10.35.0.0/16",
    "prefix": "write the network address and its length, such as 10.250.1.0/24",
    "announce": "write the network address and its length, such as 10.200.1.0/24, outside the estate's blocks",
    "via": "write the next hop's IPv4 address (on a subnet the device is connected to), or null0",
    "description": "write plain ASCII, such as a circuit id: AH-HF-0001",
    "auth_key": "write a reference: env:NAME, file:PATH or vault:FILE#KEY",
    "priv_key": "write a reference: env:NAME, file:PATH or vault:FILE#KEY",
    "password": "write a reference: env:NAME, file:PATH or vault:FILE#KEY",
    "ospf_auth_key": "write a reference: env:NAME, file:PATH or vault:FILE#KEY",
    "protocols": "list each protocol once",
    "management": "list each protocol once",
    "kinds": "list each site kind once",
    "sites": "list each site once",
    "roles": "list each role once",
}

_BOUNDS = {
    "greater_than_equal": "below the smallest allowed value,",
    "greater_than": "not above",
    "less_than_equal": "above the largest allowed value,",
    "less_than": "not below",
}

_WANT = {
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
}
# Errors about the value as a whole: reported where a block value starts, not at its key.
_ABOUT_VALUE = set(_WANT) | {"too_short", "too_long"}

KINDS = {
    dict: "a mapping",
    list: "a list",
    str: "text",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "nothing",
    datetime.date: "a date",
    datetime.datetime: "a date and time",
    bytes: "binary data",
}

# Fields in Mbit/s, as FRR takes them; '10G' or '1Gbps' is a common way to write them wrong.
_MBIT_FIELDS = {"bandwidth", "reference_bandwidth"}
# A number written with a leading zero: YAML 1.1 reads 0110 as octal, and 028 as text.
_LEADING_ZERO = re.compile(r"0[0-9_]+")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt])(?:b|bit|bits|bps|bit/s)?\s*$", re.I)
_PER_MBIT = {"k": 0.001, "m": 1, "g": 1000, "t": 1_000_000}


def fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _real_loc(data, loc: tuple, missing: bool = False) -> tuple[tuple, bool]:
    """The parts of pydantic's loc that are keys and indexes of the data, and whether the error
    is about a mapping's key rather than its value.

    Pydantic adds its own parts ('function-after[...]', 'int', '[key]' for union members and
    dict keys); walking the data tells them from names people wrote, even '[/]city'.
    """
    node, real, is_key = data, [], False
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            real.append(part)
        elif part == "[key]":
            is_key = True
        elif missing and isinstance(node, dict) and len(real) == len(loc) - 1:
            real.append(part)  # a missing field: its name, though it was not written
    return tuple(real), is_key


def value_at(data, loc: tuple):
    """What the data holds at loc, or None."""
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """The field names (as written in YAML) of the model that loc leads into, if any."""
    tp: typing.Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            by_name = {f.alias or n: f for n, f in tp.model_fields.items()}
            if part not in by_name:
                return None
            tp = by_name[part].annotation
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return None


def _unwrap(tp):
    """The type under Optional and Annotated: a model, list[...] or dict[...]."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and args:
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
            continue
        return tp


def _close(word: str, options) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


def _found(value, hide: bool) -> str:
    found = KINDS.get(type(value), "something else")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and not hide:
        found += f" {value!r}"
    return found


def schema_problems(
    err: ValidationError, pos: Positions, problems: ProblemList, data=None, model: type[BaseModel] | None = None
) -> None:
    """One problem per pydantic error, at the line of the nearest field that was written."""
    errors = err.errors()
    # '{auth_key:env:X}' is one unknown key and a missing auth_key: one mistake, one problem.
    glued = {
        (tuple(e["loc"][:-1]), str(e["loc"][-1]).partition(":")[0])
        for e in errors
        if e["type"] == "extra_forbidden" and e["loc"] and ":" in str(e["loc"][-1])
    }
    for e in errors:
        kind, value = e["type"], e.get("input")
        if kind == "missing" and e["loc"] and (tuple(e["loc"][:-1]), e["loc"][-1]) in glued:
            continue
        clean, is_key = (
            _real_loc(data, tuple(e["loc"]), kind == "missing") if data is not None else (tuple(e["loc"]), False)
        )
        key = next((p for p in reversed(clean) if isinstance(p, str)), "")
        # A profile's own name is shown (it is referenced by name elsewhere); anything else in
        # a secret place is not.
        hide = secret_fields.in_secret_place(clean) and not (is_key and isinstance(value_at(data, clean), dict))
        msg, fix = _describe(e, kind, value, key, clean, is_key, hide, model)
        if hide and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            msg, fix = secret_fields.scrub(msg, value), secret_fields.scrub(fix, value)
        shown = secret_fields.shown_path(clean, lambda n, c=clean: value_at(data, c[:n]))
        head = str(clean[-1]).partition(":")[0] if clean else ""
        if kind == "extra_forbidden" and ":" in str(clean[-1:]) and (not hide or secret_fields.field_like(head)):
            shown = shown[:-1] + (head + ":…",)
        origin = pos.value_at(clean) if kind in _ABOUT_VALUE else pos.at(clean)
        problems.add(origin, fmt_loc(shown), msg, fix)


def _describe(e, kind, value, key, loc, is_key, hide, model) -> tuple[str, str]:
    msg = e["msg"]
    try:
        fix = _FIXES.get(kind, "correct the value").format(**(e.get("ctx") or {}))
    except (KeyError, IndexError):
        fix = _FIXES.get(kind, "correct the value")
    if hide and kind == "string_type":
        # A secret written as a number, a float, a list...: say what is wanted, never what was found.
        return (
            f"expected a secret reference (env:NAME, file:PATH or vault:FILE#KEY), found {_found(value, True)}",
            "write a reference such as env:JINBAO_SNMP_AUTH_KEY and keep the secret itself out of the "
            "inventory (if a real key was pasted here, change it: it stays in the file's history)",
        )
    if isinstance(value, bool) and kind not in ("bool_type", "bool_parsing", "extra_forbidden", "missing"):
        return _yaml_boolean(kind, value, key)
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        fix = _FIELD_FIXES.get(key, "correct the value")
        if "free text is one printable line" in msg:
            fix = "retype it on one line without that character, as a plain or quoted string (not a '|' or '>' block)"
        elif "control character" in msg:
            fix = "retype it; a tab or an escape sequence was pasted in"
        elif "line break or spaces around it" in msg:
            fix = "write the reference plainly on its key's line (ospf_auth_key: env:NAME), not as a | block"
        elif "reference is unusable" in msg:
            fix = (
                "write the absolute path of the root-only file, such as file:/etc/jinbao/secrets/snmp-auth "
                "(or vault:/etc/jinbao/vault.yml#KEY), or use env:NAME"
            )
        elif msg == "the value is only spaces":
            fix = "write the value itself, or leave the field out where it may be left out"
    elif kind == "string_pattern_mismatch" and hide:
        msg = f"a key here is not a valid {_what_name(loc, key, is_key)} {secret_fields.HIDDEN}"
        fix = (
            "an SNMP profile is a name with a mapping of its fields under it; a secret belongs in the "
            "environment, a file or a vault, named by a reference (env:NAME, file:PATH, vault:FILE#KEY)"
        )
    elif kind == "string_pattern_mismatch":
        # The regex means nothing to an operator; say what form is wanted instead.
        what = _what_name(loc, key, is_key)
        msg, fix = name_problem(value, what, placeholders="{" in (e.get("ctx") or {}).get("pattern", ""))
    elif kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", (e.get("ctx") or {}).get("expected", ""))
        # The guess is one of the allowed values, never what was written.
        guess = _close(str(value).strip().lower(), allowed) if isinstance(value, str) else None
        if guess:
            fix = f"did you mean {guess!r}? ({fix}: {', '.join(allowed)})"
    elif kind == "extra_forbidden":
        fields = _fields_at(model, loc[:-1]) if model is not None and loc else None
        head, colon, _ = str(loc[-1]).partition(":") if loc else ("", "", "")
        guess = _close(str(loc[-1]), fields) if fields and loc else None
        if colon and fields and head in fields and (not hide or secret_fields.field_like(head)):
            # '{name:prov-db1}' is one key 'name:prov-db1' with no value: YAML needs "': '".
            msg = f"'{head}:…' is read as one key with no value: YAML needs a space after ':'"
            fix = f"write '{head}: ' with a space after the colon"
        elif guess:
            fix = f"did you mean {guess!r}? (or remove the field)"
        elif fields:
            fix = f"remove the field or correct its spelling (this mapping takes {', '.join(fields)})"
    elif kind == "too_short" and not value:
        msg = "the list is empty"
    elif kind in _BOUNDS:
        # Pydantic does not say what was written; the value is what a person looks for.
        bound = next(iter((e.get("ctx") or {}).values()), "?")
        msg = f"{value!r} is {_BOUNDS[kind]} {bound}"
    elif kind in _WANT:
        # Pydantic names its own classes ('RawEstate'); say what YAML wrote instead.
        msg = f"expected {_WANT[kind]}, found {_found(value, hide)}"
    if key in _MBIT_FIELDS and kind in ("int_type", "int_parsing", "int_from_float"):
        fix = _mbit_fix(value)
    if kind in ("int_type", "int_parsing") and isinstance(value, str):
        reading = surprising_int(value)
        if reading:
            msg = f"{msg}; {reading}"
        if _LEADING_ZERO.fullmatch(value):
            fix = f"write {value.replace('_', '').lstrip('0') or '0'} without the leading zero"
        elif reading:
            fix = "write the number itself"
    # Free text may well be Chinese: its one-line message already names the character at fault.
    free_text = "free text is one printable line" in msg
    if (
        isinstance(value, str)
        and not value.isascii()
        and not hide
        and kind != "string_pattern_mismatch"
        and not free_text
    ):
        note = non_ascii_note(value)
        msg = f"{msg}; {note}"
    return msg, fix


def _what_name(loc, key, is_key) -> str:
    if is_key and loc and loc[0] == "site_templates":
        return "template name"
    if is_key and loc and loc[0] == "snmp_profiles":
        return "SNMP profile name"
    if key == "names":
        return "site name"
    return key.rstrip("s") or "value"


def _yaml_boolean(kind, value, key) -> tuple[str, str]:
    """YAML 1.1 reads on, off, yes, no, y and n (any case) as booleans: `vlan: on` is true."""
    want = _WANT.get(kind, f"a value for {key}" if key else "a value")
    msg = (
        f"expected {want}, found true/false ({str(value).lower()}): YAML reads unquoted yes, no, on, off, "
        "true and false as booleans"
    )
    if kind in ("int_type", "int_parsing", "greater_than_equal", "less_than_equal"):
        fix = "write the number itself" + (", in Mbit/s (e.g. 1000)" if key in _MBIT_FIELDS else "")
    else:
        fix = "write the value itself; quote it ('on', 'no') if you meant the word"
    return msg, fix


def _mbit_fix(value) -> str:
    m = _RATE.match(value) if isinstance(value, str) else None
    if m:
        mbit = float(m.group(1)) * _PER_MBIT[m.group(2).lower()]
        if mbit >= 1 and mbit == int(mbit):
            return f"the bandwidth is a whole number of Mbit/s: write {int(mbit)} for {value.strip()}"
    return "the bandwidth is a whole number of Mbit/s, e.g. 10000 for 10 Gbit/s"
