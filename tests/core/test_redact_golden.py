"""Every config the repo keeps as a reference goes through the redactor without a secret surviving.

- Golden renderings (tests/golden: netconfig's templates per platform, the lab's node files) hold
  `<secret REF>` markers where a secret is rendered. Each marker is replaced by a random test value,
  as on the way to the device, and the grammar alone (no known values) must mask every one and
  change nothing else: the output is the golden file with `<redacted>` where each marker was.
- Recorded device output and assessors' dumps hold device ciphertexts and clear test secrets: none
  may survive.
"""

from __future__ import annotations

import random
import re
import string

import pytest

from compliance.configtext import decode
from jinbao.redact import REDACTED, redact
from tests.support import REPO
from tests.support.golden import GOLDEN

_MARKER = re.compile(r"<secret ((?:env|file|vault):[^\s<>]+)>")
RENDERED = sorted(p for p in GOLDEN.rglob("*") if p.is_file() and _MARKER.search(p.read_text(errors="replace")))


def _value(rng: random.Random) -> str:
    return rng.choice(string.ascii_letters) + "".join(
        rng.choice(string.ascii_letters + string.digits + "!#$%&*+,.:;=?@^_~-") for _ in range(24)
    )


def test_golden_renderings_with_secrets_exist():
    # Without them the next test would pass on nothing.
    platforms = {p.relative_to(GOLDEN).parts[1] for p in RENDERED if p.relative_to(GOLDEN).parts[0] == "netconfig"}
    assert {"cisco_ios", "frr", "huawei_vrp", "h3c_comware", "linux", "nftables"} <= platforms
    assert any(p.relative_to(GOLDEN).parts[0] == "lab-render" for p in RENDERED)


@pytest.mark.parametrize("path", RENDERED, ids=[str(p.relative_to(GOLDEN)) for p in RENDERED])
def test_every_rendered_secret_is_masked_and_nothing_else(path):
    golden = path.read_text()
    rng = random.Random(str(path.relative_to(GOLDEN)))
    values: dict[str, str] = {}
    filled = _MARKER.sub(lambda m: values.setdefault(m.group(1), _value(rng)), golden)
    out = redact(filled)
    assert not [v for v in values.values() if v in out], out
    assert out == _MARKER.sub(REDACTED, golden)


# Recorded device output and assessors' dumps: the clear test secrets they hold.
KEPT_CONFIGS = {
    "tests/compliance/configs/weak-ios.txt": ["cisco123", "0822455D0A16", "1511021F0725", "045802150C2E", "s3cret"],
    "tests/compliance/configs/weak-frr.txt": ["zebra"],
    "tests/compliance/configs/weak-comware7.txt": ["public", "admin@123"],
    "tests/compliance/configs/weak-comware5-gbk.txt": ["Abc123reversible"],
    "tests/compliance/configs/weak-linux.txt": ["public"],
    "tests/compliance/configs/weak-vrp.txt": ["Yk8^0)", "public"],
    "tests/netconfig/recordings/cisco_ios/show_running-config.txt": [],
    "tests/netconfig/recordings/huawei_vrp/display_current-configuration.txt": [],
    "tests/netconfig/recordings/h3c_comware/display_current-configuration.txt": [],
}
# Ciphertext and hashes as the devices show them: IOS $9$/$8$/$5$, VRP %^%#…%^%# / %@%@…%@%@ /
# $1c$…$, Comware $c$3$… / $h$6$….
_DEVICE_CIPHERTEXT = re.compile(r"\$\d\w?\$\S{6,}|%\^%#\S+|%@%@\S+|%\$%\$\S+")


@pytest.mark.parametrize("rel", sorted(KEPT_CONFIGS))
def test_no_secret_of_a_kept_device_config_survives(rel):
    text, _ = decode((REPO / rel).read_bytes())
    assert _DEVICE_CIPHERTEXT.search(text) or KEPT_CONFIGS[rel], "the file holds no secret to test with"
    for secret in KEPT_CONFIGS[rel]:
        assert secret in text, f"{rel} no longer holds {secret!r}: update the list"
    out = redact(text)
    assert not _DEVICE_CIPHERTEXT.findall(out)
    assert not [s for s in KEPT_CONFIGS[rel] if s in out]
