"""ca.yml, checked against a schema before the CA or the OCSP responder uses a value of it.

init writes the file, but anyone who can edit it can put "abc", null or -5 where a number of hours goes;
each would surface later as a traceback in the middle of signing a CRL or answering OCSP. Strict types:
YAML's 24 is a number, "24" is not, and true is not 1.
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

URL = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"


class CaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    estate: str = Field(min_length=1, max_length=64)
    ca_key_type: Literal["ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"] = "ecdsa-p384"
    root_validity_days: int = Field(7300, ge=1, le=36500)
    issuing_validity_days: int = Field(3650, ge=1, le=36500)
    crl_validity_hours: int = Field(ge=1, le=24 * 366)
    ocsp_validity_minutes: int = Field(ge=1, le=7 * 24 * 60)
    publish_url: str = Field(max_length=200, pattern=URL)
    ocsp_url: str = Field(max_length=200, pattern=URL)


def parse(data: bytes) -> dict:
    """ca.yml's settings; ValueError naming each wrong key when it is not what init writes."""
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as e:
        raise ValueError(f"not YAML: {e}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(raw, dict):
        raise ValueError("it must map " + ", ".join(CaConfig.model_fields))
    try:
        return CaConfig(**{str(k): v for k, v in raw.items()}).model_dump()
    except ValidationError as e:
        raise ValueError(
            "; ".join(f"{'.'.join(map(str, err['loc'])) or 'ca.yml'}: {err['msg']}" for err in e.errors()[:5])
        ) from None
