"""The delegated OCSP signer: a certificate the CA issues to itself, its key kept in the CA folder."""

from __future__ import annotations

from . import files, issuance, profiles
from .issuance import Issued, Request


def new_signer(ca, actor: str, action: str, renewed_from: str | None = None) -> Issued:
    """The signer's key goes into the CA folder, before the commit, and is never handed to anyone. The CA
    records which signer is in use: 'ocsp serve' switches to it, and 'revoke' keeps it from being revoked."""
    req = Request(profiles.get("ocsp_signer"), name=f"jinbao {ca.cfg['estate']} OCSP responder")
    out = files.Outputs(ca.dir / "ocsp" / "ocsp", in_place=True)

    def in_use(db, serial):
        ca.store.set_ocsp_signer(db, serial)

    issued = issuance.issue(ca, req, actor, action, renewed_from, out=out, then=in_use)
    return Issued(issued.serial, issued.cert, None, issued.profile)
