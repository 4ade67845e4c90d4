"""The estate's YAML for monitoring: SNMP profiles and the thresholds over the classes' defaults.

SNMPv3 authPriv with SHA and AES is the estate's rule. v2c and v1 send their community in clear
text, MD5 and DES are broken, authNoPriv sends every value in clear: each is allowed only where
the profile says why (`insecure_because:`), so nobody weakens monitoring by a typo and an
auditor finds every exception with its reason. `jinbao monitor posture` lists them all.
These rules are checked as each file is read (profile_problems), with the schema's own errors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from .schema_base import Percent, SecretRefStr, Text, _number

OPT_IN = "insecure_because"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RawSnmpProfile(_Strict):
    # 3 is SNMPv3 (USM). v2c and v1 send a community in clear text and are allowed only with
    # `insecure_because:` saying why (checks/snmp.py); `monitor posture` lists every such profile.
    version: Literal[3, "v2c", "v1"]
    user: Annotated[str, Field(min_length=1, max_length=32)] | None = None  # RFC 3414: SnmpAdminString (1..32)
    security_level: Literal["authPriv", "authNoPriv"] = "authPriv"
    auth_protocol: Literal["sha", "sha256", "sha512", "md5"] = "sha"
    priv_protocol: Literal["aes", "aes256", "des"] = "aes"
    auth_key: SecretRefStr | None = None
    priv_key: SecretRefStr | None = None
    community: SecretRefStr | None = None
    # The explicit opt-in for anything weaker than SNMPv3 authPriv with SHA and AES: who accepted
    # it and why (an appliance that speaks nothing better), read by auditors and by posture.
    insecure_because: Text | None = None


class RawThresholds(_Strict):
    """Monitoring limits (docs/monitoring.md); each one given replaces the device class's default."""

    link_utilisation_pct: Percent | None = None
    cpu_pct: Percent | None = None
    memory_pct: Percent | None = None
    disk_pct: Percent | None = None
    ups_runtime_min: Annotated[float, BeforeValidator(_number), Field(gt=0, le=1440)] | None = None
    ups_load_pct: Percent | None = None
    temperature_c: Annotated[float, BeforeValidator(_number), Field(ge=-40, le=100)] | None = None
    humidity_pct: Percent | None = None


class RawMonitoring(_Strict):
    """Thresholds over the device classes' defaults: estate-wide, per site, per device (the most
    specific wins)."""

    # How often `jinbao monitor run` polls (seconds); its --interval overrides it.
    interval_s: Annotated[int, Strict(), Field(ge=10, le=3600)] = 60
    thresholds: RawThresholds = RawThresholds()
    sites: dict[Text, RawThresholds] = {}
    devices: dict[Text, RawThresholds] = {}


def weaknesses(p: RawSnmpProfile) -> list[str]:
    """What makes a profile weaker than SNMPv3 authPriv with SHA and AES (empty: nothing)."""
    if p.version != 3:
        return [f"SNMP{p.version} (community in clear text)"]
    out = []
    if p.security_level == "authNoPriv":
        out.append("authNoPriv (values in clear text)")
    if p.auth_protocol == "md5":
        out.append("MD5 authentication")
    if p.security_level == "authPriv" and p.priv_protocol == "des":
        out.append("DES privacy")
    return out


# (the field it is about, a message, the fix, the check): pydantic cannot say "required when
# version is 3", so these follow the schema, each at the line of its field.
Finding = tuple[str, str, str, str]


def profile_problems(p: RawSnmpProfile) -> list[Finding]:
    out: list[Finding] = []
    if p.version == 3:
        if p.community is not None:
            out.append(
                (
                    "community",
                    "an SNMPv3 profile has no community (it authenticates a user with keys)",
                    "remove community, or set version: v2c if the device really speaks only v2c",
                    "schema",
                )
            )
        need = ["user", "auth_key"] + (["priv_key"] if p.security_level == "authPriv" else [])
        for f in need:
            if getattr(p, f) is None:
                out.append(
                    (f, f"Field required: an SNMPv3 {p.security_level} profile needs {f}", f"add {f}:", "schema")
                )
    else:
        if p.community is None:
            out.append(
                (
                    "community",
                    f"Field required: an SNMP{p.version} profile needs its community",
                    "add community: env:NAME, a reference to the community (never the community itself)",
                    "schema",
                )
            )
        for f in ("user", "auth_key", "priv_key"):
            if getattr(p, f) is not None:
                out.append(
                    (
                        f,
                        f"an SNMP{p.version} profile has no {f} (only SNMPv3 has users and keys)",
                        f"remove {f}, or set version: 3 and drop community",
                        "schema",
                    )
                )
    weak = weaknesses(p)
    if weak and not p.insecure_because:
        at = {"SNMP": "version", "authNoPriv": "security_level", "MD5": "auth_protocol", "DES": "priv_protocol"}
        field = next(f for k, f in at.items() if weak[0].startswith(k))
        out.append(
            (
                field,
                f"{', '.join(weak)}: weaker than SNMPv3 authPriv with SHA and AES, and not accepted explicitly",
                f"use version: 3 with SHA and AES, or accept it with {OPT_IN}: <who accepted it, and why> "
                "(jinbao monitor posture lists every such profile)",
                "design",
            )
        )
    elif p.insecure_because and not weak:
        out.append(
            (
                OPT_IN,
                "this profile is SNMPv3 authPriv with SHA and AES: there is nothing to accept",
                f"remove {OPT_IN}",
                "design",
            )
        )
    return out
