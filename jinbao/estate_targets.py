"""The estate itself as a source of targets (`jinbao.targets` entry point `estate`).

`estate:province` names every device of the province by its inventory management address, as
production reaches it from the management zone's jump host. The inventory holds no credentials,
so how to log in comes from the environment, by reference as everywhere else:

- `JINBAO_SSH_USER`: the login (default `jinbao`);
- `JINBAO_SSH_KEY`: the private key's path (never its bytes); without it, ssh-agent's keys;
- `JINBAO_SSH_PASSWORD`: a secret reference (`env:…`, `file:…`, `vault:…`) for platforms that
  log in by password;
- `JINBAO_KNOWN_HOSTS`: pinned host keys; with it, an unknown host key is refused.

The lab's own source (`lab:<id>`) differs only in where its addresses are reachable from.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import JinbaoError
from .estate import load_estate
from .target import Target


def _path(var: str) -> Path | None:
    value = os.environ.get(var)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise JinbaoError(f"${var} names {path}, which is not a file: point it at the file, or unset it")
    return path


def targets(ref: str) -> dict[str, Target]:
    """Every device of estate ref (a name under inventory/ or a folder) as a Target."""
    if not ref:
        raise JinbaoError("estate: needs an estate, e.g. estate:province")
    estate = load_estate(ref)
    user = os.environ.get("JINBAO_SSH_USER") or "jinbao"
    key, known = _path("JINBAO_SSH_KEY"), _path("JINBAO_KNOWN_HOSTS")
    password = os.environ.get("JINBAO_SSH_PASSWORD") or None
    return {
        name: Target(
            name=name,
            platform=d.platform,
            host=str(d.mgmt_ip),
            user=user,
            identity_file=key,
            password_ref=password,
            known_hosts=known,
            snmp_profile=d.snmp_profile,
        )
        for name, d in sorted(estate.devices.items())
    }
