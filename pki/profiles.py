"""Certificate profiles (pki/profiles/*.yml). A profile not listed there does not exist: deny by default.

A profile is policy: whoever edits one decides what the CA signs. So a profile file (or its folder) that anyone
may write is not read, as ssh will not read such a config, and a profile is checked for what no edit may make
it say: a certificate that signs certificates or CRLs, an OCSP signer that is not the CA's own, a validity
beyond what relying parties accept (825 days), a default outside its own bounds."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import PkiError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
MAX_VALIDITY_DAYS = 825  # the longest any relying party of the estate accepts (CA/B Forum's old ceiling)

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

    @model_validator(mode="after")
    def _within_bounds(self) -> Profile:
        wrong = []
        if {"key_cert_sign", "crl_sign"} & set(self.key_usage):
            wrong.append("key_usage: key_cert_sign and crl_sign are the CA's own; no profile gives them")
        if ("ocsp_signing" in self.extended_key_usage or self.ocsp_nocheck) and self.subject != "service":
            wrong.append("extended_key_usage ocsp_signing (and ocsp_nocheck) belong to the CA's OCSP signer only")
        if not 1 <= self.max_validity_days <= MAX_VALIDITY_DAYS:
            wrong.append(f"max_validity_days: from 1 to {MAX_VALIDITY_DAYS}")
        if not 1 <= self.default_validity_days <= self.max_validity_days:
            wrong.append("default_validity_days: from 1 to max_validity_days")
        if self.default_key_type not in self.key_types:
            wrong.append("default_key_type: one of key_types")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    _not_writable_by_others(PROFILE_DIR)
    out = {}
    for f in sorted(PROFILE_DIR.glob("*.yml")):
        _not_writable_by_others(f)
        try:
            raw = yaml.safe_load(f.read_text())
            if not isinstance(raw, dict):
                raise ValueError("it must map description, subject, key_types, ... (see the other profiles)")
            out[f.stem] = Profile(name=f.stem, **{str(k): v for k, v in raw.items()})
        except ValidationError as e:
            why = "; ".join(f"{'.'.join(map(str, x['loc'])) or f.name}: {x['msg']}" for x in e.errors()[:5])
            raise PkiError(f"profile {f}: {why}; the CA signs nothing until it is put right") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark else ""
            raise PkiError(
                f"profile {f}: not YAML ({getattr(e, 'problem', None) or 'unreadable'}{where}); the CA signs nothing "
                "until it is put right"
            ) from None
        except (ValueError, TypeError) as e:
            raise PkiError(f"profile {f}: {str(e)[:300]}; the CA signs nothing until it is put right") from None
    return out


def _not_writable_by_others(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & 0o002 or path.is_symlink():
        raise PkiError(
            f"{path} is {'a symlink' if path.is_symlink() else 'writable by anyone'}: a profile is the CA's policy, "
            f"and the CA reads none that others may have changed. Run 'chmod o-w {path}' (and replace a link with "
            "the file), then check the profile against the one you deployed"
        )


def get(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        raise PkiError(f"no certificate profile {name!r}; profiles: {', '.join(sorted(profiles))}")
    return profiles[name]
