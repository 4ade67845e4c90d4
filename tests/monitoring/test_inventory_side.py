"""Inventory-side monitoring: thresholds over the class defaults, and v2c credentials by reference."""

from __future__ import annotations

import secrets

import pytest

from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.model import MonitoringSettings, SecretRef, SnmpProfile, Thresholds
from jinbao.schema_snmp import RawThresholds
from jinbao.target import Target
from monitoring import poller, thresholds
from monitoring.profiles import profile_of

LAB = load_estate("lab")


def test_the_inventory_and_the_profiles_name_the_same_thresholds():
    assert set(RawThresholds.model_fields) == set(Thresholds.model_fields)


def test_the_most_specific_level_wins_and_each_replaces_only_what_it_names():
    d = LAB.devices["hefei-wan1"]
    prof = profile_of(d)
    assert prof is not None and prof.thresholds.cpu_pct is not None
    m = MonitoringSettings(
        thresholds=Thresholds(cpu_pct=prof.thresholds.cpu_pct - 10, memory_pct=50),
        sites={d.site: Thresholds(cpu_pct=prof.thresholds.cpu_pct - 20)},
        devices={d.name: Thresholds(memory_pct=60), "other": Thresholds(cpu_pct=1)},
    )
    est = LAB.model_copy(update={"monitoring": m})
    th = thresholds.effective(est, d, prof)
    assert th.cpu_pct == prof.thresholds.cpu_pct - 20  # the site's
    assert th.memory_pct == 60  # the device's
    assert th.link_utilisation_pct == prof.thresholds.link_utilisation_pct  # the class's
    assert thresholds.source(est, d, "cpu_pct") == f"monitoring.sites.{d.site}"
    assert thresholds.source(est, d, "link_utilisation_pct") == "class default"
    # A device of another site keeps the estate-wide limit.
    other = next(x for x in LAB.devices.values() if x.site != d.site and profile_of(x) == prof)
    assert thresholds.effective(est, other, prof).cpu_pct == prof.thresholds.cpu_pct - 10
    assert thresholds.effective(LAB, d, prof) == prof.thresholds  # no monitoring: section


def test_v2c_credentials_come_from_the_reference_and_never_show(monkeypatch):
    community = secrets.token_hex(8)
    monkeypatch.setenv("JINBAO_TEST_COMMUNITY", community)
    prof = SnmpProfile(
        name="v2c-x", version="v2c", community=SecretRef(ref="env:JINBAO_TEST_COMMUNITY"), insecure_because="test"
    )
    est = LAB.model_copy(update={"snmp_profiles": {**LAB.snmp_profiles, "v2c-x": prof}})
    t = Target(name="prov-app1", platform="linux", host="127.0.0.1", user="", snmp_profile="v2c-x")
    creds = poller.credentials(est, t)
    assert creds.version == "v2c" and creds.community == community and not creds.v3
    assert community not in repr(creds)
    monkeypatch.delenv("JINBAO_TEST_COMMUNITY")
    with pytest.raises(JinbaoError):
        poller.credentials(est, t)
