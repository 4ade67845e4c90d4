"""Secret-looking values in device text are redacted whatever the platform writes around them."""

from __future__ import annotations

import pytest

from jinbao.redact import REDACTED, Redactor


@pytest.mark.parametrize(
    "line",
    [
        "snmp-server host 10.1.1.1 s3cretComm",
        "snmp-server host 10.1.1.1 traps s3cretComm",
        "snmp-server host 10.1.1.1 informs version 2c s3cretComm udp-port 162",
        "snmp-server host 10.1.1.1 version 1 s3cretComm",
        "snmp-server community s3cretComm RO",
    ],
)
def test_a_community_is_redacted_wherever_ios_writes_it(line):
    out = Redactor({})(line)
    assert "s3cretComm" not in out and REDACTED in out, out


def test_a_v3_trap_target_keeps_its_user_name():
    line = "snmp-server host 10.1.1.1 version 3 priv jinbao-mon"
    assert Redactor({})(line) == line
