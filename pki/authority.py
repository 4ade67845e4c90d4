"""The CA's public face: one Authority per CA folder, each operation a call into the module that holds it.

- bootstrap.py creates the hierarchy;
- gate.py decides who may ask, and logs every refusal;
- policy.py and issuance.py run a request through validate → modify → enforce → sign → record;
- renewal.py, revocation.py (with the CRLs), operators.py and ocsp_signer.py change what the CA has issued;
- queries.py reads it back; audit_verify.py checks it all against the log, from public material only.
context.py opens the CA folder (its layout is described there) into what they all share.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import (
    audit_verify,
    authz,
    bootstrap,
    gate,
    issuance,
    operators,
    profiles,
    queries,
    reconfigure,
    renewal,
    revocation,
    root_ceremony,
)
from .certparts import hexserial
from .clock import CLOCK_SKEW
from .config import parse as config
from .context import CA
from .errors import NotAllowed
from .issuance import Issued, Request
from .ocsp_signer import new_signer
from .revocation import REASONS, REVOCABLE, Revoked

__all__ = [
    "CLOCK_SKEW",
    "REASONS",
    "REVOCABLE",
    "Authority",
    "Issued",
    "Request",
    "Revoked",
    "config",
    "hexserial",
]


class Authority:
    def __init__(self, ca_dir: str | os.PathLike, *, signing: bool = True):
        """Open the CA at ca_dir. signing=False opens no private key until something must be signed: what only
        reads or verifies (verify_audit) then works where the issuing key is absent."""
        self._ca = CA(ca_dir, signing=signing)

    @classmethod
    def _of(cls, ca: CA) -> Authority:
        authority = cls.__new__(cls)
        authority._ca = ca
        return authority

    # What callers and tests read of the CA: its folder, configuration, records and certificates.
    dir = property(lambda self: self._ca.dir)
    cfg = property(lambda self: self._ca.cfg)
    store = property(lambda self: self._ca.store)
    issuer = property(lambda self: self._ca.issuer)
    root_cert = property(lambda self: self._ca.root_cert)
    estate = property(lambda self: self._ca.estate)

    @classmethod
    def init(
        cls,
        ca_dir,
        estate_name: str,
        root_passphrase: bytes,
        key_type: str = "ecdsa-p384",
        force: bool = False,
        admin_name: str = "admin",
        admin_out: Path | None = None,
    ) -> Authority:
        """Create root, issuing CA, OCSP signer, first CRLs and the first CA administrator."""
        return cls._of(bootstrap.init(ca_dir, estate_name, root_passphrase, key_type, force, admin_name, admin_out))

    # -- who asks ----------------------------------------------------------------------------
    def authorize(self, cred: authz.Credential, action: str) -> authz.Operator:
        return gate.authorize(self._ca, cred, action)

    def authorize_deploy(self, cred, cert_pem: bytes, key_pem: bytes) -> authz.Operator:
        """An officer deploys a valid device certificate of this CA with its own key, nothing else."""
        return gate.authorize_deploy(self._ca, cred, cert_pem, key_pem)

    # -- issuing -------------------------------------------------------------------------------
    def issue(
        self,
        cred,
        profile: str,
        *,
        device=None,
        person=None,
        email=None,
        csr_pem=None,
        key_type=None,
        days=None,
        out: Path | None = None,
    ) -> Issued:
        """Issue to a device or a person; with `out`, PREFIX.crt (and .key) are written before the commit."""
        prof = profiles.get(profile)
        op = self.authorize(cred, authz.action_for("issue", prof.name))
        if prof.name in authz.CA_PROFILES:
            with gate.refusals_logged(self._ca, "issue", profile=prof.name):
                raise NotAllowed(
                    f"profile {profile} is kept for the CA itself: use 'jinbao pki operator add' or "
                    "'jinbao pki ocsp renew-signer'",
                    actor=op.name,
                )
        with gate.refusals_logged(self._ca, "issue", profile=prof.name):  # a key that is not the request's to use
            return issuance.issue(
                self._ca,
                Request(prof, device=device, person=person, email=email, csr_pem=csr_pem, key_type=key_type, days=days),
                op.name,
                out=issuance.outputs(out, csr_pem is None),
            )

    def renew(self, cred, serial: str, *, csr_pem=None, key_type=None, out: Path | None = None) -> Issued:
        """A successor with the same profile and names, under exactly the policy that issues that profile."""
        return renewal.renew(self._ca, cred, serial, csr_pem=csr_pem, key_type=key_type, out=out)

    def renew_ocsp_signer(self, cred) -> Issued:
        """Replace the delegated OCSP signer (it lives 60 days; renew it from cron well before)."""
        op = self.authorize(cred, "ocsp_signer")
        return new_signer(self._ca, op.name, "ocsp_signer")

    def add_operator(self, cred, name: str, role: str, out: Path) -> Issued:
        return operators.add_operator(self._ca, cred, name, role, out)

    def recover_admin(self, root_passphrase: bytes, name: str, out: Path) -> Issued:
        """A new CA administrator on the strength of the offline root's passphrase alone."""
        return operators.recover_admin(self._ca, root_passphrase, name, out)

    def adopt_config(self, cred) -> list[str]:
        """A CA administrator makes an edited ca.yml the CA's settings (logged); returns what changed."""
        return reconfigure.adopt(self._ca, cred)

    # -- revoking and CRLs ---------------------------------------------------------------------
    def revoke(self, cred, serial: str, reason: str = "unspecified") -> Revoked:
        """Revoke and publish the CRL in one transaction."""
        return revocation.revoke(self._ca, cred, serial, reason)

    def revoke_operator(self, cred, name: str, reason: str = "unspecified") -> Revoked:
        """Revoke every unrevoked credential an operator ever held."""
        return revocation.revoke_operator(self._ca, cred, name, reason)

    def write_crl(self, actor: str):
        """Regenerate the issuing CA's CRL (on schedule via 'pki crl'; revoke publishes its own)."""
        return revocation.write_crl(self._ca, actor)

    def crl_due(self, within_hours: float) -> bool:
        return revocation.crl_due(self._ca, within_hours)

    def root_crl(self, cred, root_passphrase: bytes) -> None:
        root_ceremony.root_crl(self._ca, cred, root_passphrase)

    def revoke_issuing_ca(self, cred, root_passphrase: bytes, reason: str = "ca_compromise") -> dict:
        """The offline root revokes the issuing CA (its CRL lists it); from then on the CA certifies nothing."""
        return root_ceremony.revoke_issuing_ca(self._ca, cred, root_passphrase, reason)

    # -- reading -------------------------------------------------------------------------------
    def list(self, cred, *, site=None, profile=None, status=None, device=None) -> list[dict]:
        return queries.list_certs(self._ca, cred, site=site, profile=profile, status=status, device=device)

    def show(self, cred, serial: str) -> dict:
        return queries.show(self._ca, cred, serial)

    def expiring(self, cred, days: int) -> dict[str, list[dict]]:
        """Valid certificates that expire within `days`, grouped by site."""
        return queries.expiring(self._ca, cred, days)

    def audit_log(self, cred) -> list[dict]:
        return queries.audit_log(self._ca, cred)

    def verify_audit(self, cred, checkpoint: Path | None = None) -> tuple[int, list[str]]:
        """Check the log, the tables, the published CRLs (and the auditor's checkpoint) from public material only.
        Returns (entries, problems)."""
        return audit_verify.verify_audit(self._ca, cred, checkpoint)
