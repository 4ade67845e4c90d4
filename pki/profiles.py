"""Certificate profiles (pki/profiles/*.yml). A profile not listed there does not exist: deny by default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import PkiError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

KeyType = Literal["ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"]
EKU = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "ipsec_ike": ObjectIdentifier("1.3.6.1.5.5.7.3.17"),  # id-kp-ipsecIKE, RFC 4945
}
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    subject: Literal["device", "person", "service", "operator"]
    device_roles: tuple[str, ...] = ()
    key_types: tuple[KeyType, ...]
    default_key_type: KeyType
    max_validity_days: int
    default_validity_days: int
    key_usage: tuple[Literal[KEY_USAGES], ...]  # type: ignore[valid-type]
    extended_key_usage: tuple[Literal[tuple(EKU)], ...]  # type: ignore[valid-type]
    ocsp_nocheck: bool = False


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    out = {}
    for f in sorted(PROFILE_DIR.glob("*.yml")):
        try:
            out[f.stem] = Profile(name=f.stem, **yaml.safe_load(f.read_text()))
        except ValidationError as e:
            raise PkiError(f"profile {f}: {e}") from None
    return out


def get(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        raise PkiError(f"no certificate profile {name!r}; profiles: {', '.join(sorted(profiles))}")
    return profiles[name]
