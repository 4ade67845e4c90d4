"""Resolve secret references (env:NAME, file:PATH, vault:FILE#KEY) at the moment of use.

The inventory holds only references; values live in the environment, in root-only files or in
an Ansible Vault. Nothing here logs or stores a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from .errors import SecretError
from .model import Estate, SecretRef


def resolve(ref: SecretRef | str) -> str:
    """Return the secret a reference points at, or raise SecretError saying what is missing."""
    text = ref.ref if isinstance(ref, SecretRef) else ref
    kind, _, rest = text.partition(":")
    if kind == "env":
        value = os.environ.get(rest)
        if not value:
            raise SecretError(f"secret {text}: environment variable {rest} is not set")
        return value
    if kind == "file":
        p = Path(rest)
        if not p.is_file():
            raise SecretError(f"secret {text}: no such file")
        return p.read_text().strip()
    if kind == "vault":
        return _from_vault(text, *rest.split("#", 1))
    raise SecretError(f"secret {text}: unknown reference kind {kind!r} (use env:, file: or vault:)")


def _from_vault(text: str, path: str, key: str) -> str:
    pw_file = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    if not pw_file or not Path(pw_file).is_file():
        raise SecretError(f"secret {text}: set ANSIBLE_VAULT_PASSWORD_FILE to read the vault")
    import yaml
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(Path(pw_file).read_bytes().strip()))])
    try:
        data = yaml.safe_load(vault.decrypt(Path(path).read_bytes()))
    except Exception as e:
        raise SecretError(f"secret {text}: cannot decrypt {path}: {type(e).__name__}") from None
    if not isinstance(data, dict) or key not in data:
        raise SecretError(f"secret {text}: the vault has no key {key!r}")
    return str(data[key])


# How a rendered config holds a secret: the reference, never the value. Files on disk, goldens and
# diffs carry these; resolve_secrets() fills them in only on the way to a device.
_MARKER = re.compile(r"<secret ((?:env|file|vault):[^\s<>]+)>")


def marker(ref: SecretRef | str) -> str:
    """The placeholder a rendered config carries for a secret."""
    return f"<secret {ref.ref if isinstance(ref, SecretRef) else ref}>"


def markers(text: str) -> list[str]:
    """The references a rendered text holds, in order of first use."""
    return list(dict.fromkeys(_MARKER.findall(text)))


def resolve_from(ref: str, env_file: Path | None) -> str:
    """Resolve ref, where an env: reference may also be answered by an env-style file of values.

    A lab gives unset env: references values of its own without exporting them into every
    process: the file holds NAME=value lines, root-only, and is itself only a path. The file
    wins over the environment: it holds what the devices were actually given."""
    kind, _, var = ref.partition(":")
    if kind == "env" and env_file is not None and env_file.is_file():
        for line in env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and name == var:
                return value
    return resolve(ref)


def resolve_secrets(text: str, lookup: Callable[[str], str] = resolve) -> str:
    """The text with every secret marker replaced by its value (lookup(ref); by default the
    reference is resolved). Call it only on the way to a device, never before writing a file.

    A value with whitespace or a control character is refused: in a config it would end the
    line or the token and smuggle in commands of its own (a newline starts a new one)."""

    def value(m: re.Match[str]) -> str:
        v = lookup(m.group(1))
        if not v or any(c.isspace() or not c.isprintable() for c in v):
            raise SecretError(
                f"secret {m.group(1)}: its value is empty or holds whitespace or a control character, "
                "which a device config cannot carry; set a value of printable characters without spaces"
            )
        return v

    return _MARKER.sub(value, text)


def estate_refs(estate: Estate) -> list[str]:
    """Every secret reference the estate holds (SNMP keys, administrator passwords, the OSPF key)."""
    refs = [r.ref for p in estate.snmp_profiles.values() for r in (p.auth_key, p.priv_key, p.community) if r]
    mp = estate.management_plane
    if mp is not None:
        refs += [u.password.ref for u in mp.users]
        refs += [mp.ospf_auth_key.ref] if mp.ospf_auth_key else []
    return list(dict.fromkeys(refs))
