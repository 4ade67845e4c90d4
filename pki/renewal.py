"""Renewing: a successor with the same profile and names, under exactly the policy that issues that profile."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from . import authz, checks, clock, issuance, keyreuse, profiles
from .certparts import common_name
from .errors import NotAllowed, PkiError
from .gate import authenticate, refusals_logged
from .issuance import Issued, Request
from .ocsp_signer import new_signer
from .queries import existing


def renew(ca, cred, serial: str, *, csr_pem=None, key_type=None, out: Path | None = None) -> Issued:
    """An operator renews their own current credential whatever their role (step-ca's renewal: the current
    credential is the proof), with a fresh key or, from their own request, the same one. No one renews someone
    else's: a successor issued under the holder's name to whoever asked would let that person act as the
    holder (EJBCA and step-ca alike: a lost credential is revoked, and its holder enrolled again)."""
    with refusals_logged(ca, "renew", serial=serial[:64]):
        op = authenticate(ca, cred, "renew")
        old = existing(ca, serial)
        if old["profile"] == "operator" and old["serial"] != op.serial:
            raise NotAllowed(_not_yours(ca, op, old), actor=op.name)
        if old["profile"] != "operator":
            authz.require(op, authz.action_for("renew", old["profile"]))
        return successor(ca, op, old, csr_pem, key_type, out)


def _not_yours(ca, op: authz.Operator, old) -> str:
    who = common_name(old["pem"])
    holder = ca.store.operator(old["serial"])
    if who == op.name:
        return (
            f"certificate {old['serial']} is an earlier credential of yours, already renewed; renew the one "
            f"you act with ({op.serial})"
        )
    role = holder["role"] if holder else "ROLE"
    return (
        f"certificate {old['serial']} is operator {who}'s credential: only {who} renews it, acting with it (--as). "
        f"No one renews another operator's credential, since the new one would go to whoever asked under {who}'s "
        f"name. If {who} lost it or it expired, a CA administrator revokes it ('jinbao pki operator revoke {who} "
        f"--reason key_compromise') and enrolls the holder under a new name ('jinbao pki operator add NEW-NAME "
        f"--role {role} --out PREFIX'); both steps are in the audit log"
    )


def successor(ca, op: authz.Operator, old, csr_pem, key_type, out) -> Issued:
    cert = x509.load_pem_x509_certificate(old["pem"].encode())
    # step-ca's authorizeRenewal: a revoked certificate is never renewed, nor an expired one; asking is a
    # refusal on the record (someone may be holding a compromised key).
    if old["revoked_at"] is not None:
        raise NotAllowed(
            f"certificate {old['serial']} is revoked ({old['revoke_reason']}); it cannot be renewed. "
            "Issue a new one with 'jinbao pki issue'",
            actor=op.name,
        )
    if cert.not_valid_after_utc <= clock.now():
        raise NotAllowed(
            f"certificate {old['serial']} expired on {cert.not_valid_after_utc.isoformat()}; it "
            "cannot be renewed. Issue a new one with 'jinbao pki issue'",
            actor=op.name,
        )
    prof = profiles.get(old["profile"])
    if prof.name == "ocsp_signer":
        return new_signer(ca, op.name, "renew", renewed_from=old["serial"])
    req = Request(prof, device=old["device"], csr_pem=csr_pem, key_type=key_type)
    if prof.subject == "device":
        # the device as the CA signed it, not as the row says: a device column edited from prov-app1 to prov-db1
        # would renew prov-app1's key under prov-db1's names
        signed = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        d = ca.estate.devices.get(old["device"] or "")
        if d is None or d.fqdn != signed:
            raise NotAllowed(
                f"ca.db's record of certificate {old['serial']} names device {checks.shown(old['device'])}, but the "
                f"CA signed it for {checks.shown(signed)}: ca.db was changed outside the CA, or the device was "
                "renamed in the inventory. Nothing is renewed; issue a new certificate for the device",
                actor=op.name,
            )
    operator = None
    if prof.subject == "person":
        req.person = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        req.email = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value[0].value
    elif prof.subject == "operator":
        operator = ca.store.operator(old["serial"])
        if operator is None:
            raise PkiError(
                f"certificate {old['serial']} is no longer an operator's credential (it was renewed); "
                "renew the current one"
            )
        # name and role as the CA signed them into the credential, not as a row says
        req.name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        req.role = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value

    def then(db, new):
        # Checked again under the lock: a revocation that landed while the successor was signed wins.
        if ca.store.is_revoked(db, old["serial"]):
            raise NotAllowed(f"certificate {old['serial']} was revoked meanwhile; it cannot be renewed", actor=op.name)
        if operator and not ca.store.replace_credential(db, old["serial"], new):
            raise PkiError(f"operator {operator['name']}'s credential was renewed meanwhile; nothing was issued")
        if operator:
            # the holder's own line may keep its key (step-ca's renew); no one else's
            own = set(ca.store.credentials(db, old["serial"]))
            keyreuse.refuse_shared_key(ca, db, new, operator["name"], op.name, own)

    return issuance.issue(
        ca,
        req,
        op.name,
        action="renew",
        renewed_from=old["serial"],
        out=issuance.outputs(out, csr_pem is None),
        then=then,
    )
