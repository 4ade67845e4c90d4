"""One key, one operator: no public key ever backs the credentials of two operators (or two roles).

An operator proves who they are by holding a key. If one key backed two credentials, whoever holds it would act
under two names and two roles, and the audit log's separation of duties would mean nothing. So every
operator credential the CA issues (operator add, renewal, admin recovery) carries a key that no other operator
credential in the store carries, valid, expired or revoked alike, nor the CA's own certificates (issuing CA,
root, OCSP signer). The exception is the holder's own line: step-ca's `renew` keeps the key (its `rekey`
changes it), so a credential renewed with its predecessor's key stays allowed.

Nor does an operator's key certify anything else: a device or staff certificate with it would put the operator's
key on a server, where whoever runs that server could act as the operator. So an operator credential's key is
unique in the whole store, and every other certificate is refused the key of any operator credential.

A device's or a person's key is certified for that subject only: certified for another device too, it would give
whoever runs the first device the second one's names.

Nor is a key certified again once a certificate of it was revoked for key_compromise: the revocation said someone
else may hold it, and a new certificate (issued or renewed, for that subject or another) would hand them a valid one.
"""

from __future__ import annotations

from cryptography import x509

from . import checks
from .errors import NotAllowed
from .keys import spki


def holder_of(ca, db, key: bytes, own: set[str], everywhere: bool = True) -> str | None:
    """What already carries `key`, other than the serials in `own`: 'certificate S (…)' or None; among every
    certificate, or (everywhere=False) the CA's own. Runs inside the caller's transaction, under the write lock,
    so two issuances with one key cannot both pass."""
    for which, cert in (("the issuing CA", ca.issuer.certificate), ("the root CA", ca.root_cert)):
        if spki(cert) == key:
            return which
    rows = db.execute(
        "SELECT c.serial, c.profile, c.pem, o.name FROM certs c LEFT JOIN operators o ON o.serial = c.serial"
        + ("" if everywhere else " WHERE c.profile IN ('operator', 'ocsp_signer')")
    )
    for r in rows:
        if r["serial"] in own:
            continue
        try:
            theirs = spki(x509.load_pem_x509_certificate(r["pem"].encode()))
        except ValueError:
            continue  # a row the CA did not write whole: its seal check refuses to build on it, audit verify names it
        if theirs == key:
            return f"certificate {r['serial']} ({r['profile']}{', operator ' + r['name'] if r['name'] else ''})"
    return None


def refuse_shared_key(ca, db, new_serial: str, name: str, actor: str, own: set[str] = frozenset()) -> None:
    """Refuse (NotAllowed, logged with the actor) the credential `new_serial` for operator `name` if its key is
    already another credential's. `own`: the serials of the holder's own line that may share it."""
    row = db.execute("SELECT pem FROM certs WHERE serial = ?", (new_serial,)).fetchone()
    key = spki(x509.load_pem_x509_certificate(row["pem"].encode()))
    if (other := holder_of(ca, db, key, set(own) | {new_serial})) is not None:
        raise NotAllowed(
            f"the key offered for operator {name}'s credential is already the key of {other}: one key never backs "
            f"two operators' credentials (whoever holds it would act under both names). {name} makes a new key "
            "of their own and a request from it",
            actor=actor,
        )


def refuse_operator_key(ca, db, new_serial: str, key, actor: str) -> None:
    """Refuse a certificate that is not an operator credential if its key is one's (or the CA's own)."""
    if (other := holder_of(ca, db, spki(key), {new_serial}, everywhere=False)) is not None:
        raise NotAllowed(
            f"the request's key is already the key of {other}: the CA's own keys and operators' keys certify "
            "nothing else (whoever ran the device would hold them). Make a new key for this certificate",
            actor=actor,
        )


# Reasons that say the key itself is in other hands (RFC 5280 5.3.1); superseded or cessation_of_operation do not.
COMPROMISED = ("key_compromise", "ca_compromise", "aa_compromise")


def refuse_compromised_key(ca, db, new_serial: str, key, actor: str) -> None:
    """Refuse (NotAllowed, logged with the actor) certifying a key that a certificate revoked as compromised
    carries. Inside the caller's transaction, so a revocation that commits first is seen."""
    key = spki(key)
    rows = db.execute(
        "SELECT serial, revoke_reason, pem FROM certs WHERE revoked_at IS NOT NULL AND revoke_reason IN "
        f"({', '.join('?' * len(COMPROMISED))}) AND serial != ?",
        (*COMPROMISED, new_serial),
    )
    for r in rows:
        try:
            theirs = spki(x509.load_pem_x509_certificate(r["pem"].encode()))
        except ValueError:
            continue  # a row the CA did not write whole: audit verify names it
        if theirs == key:
            raise NotAllowed(
                f"the request's key is the key of certificate {r['serial']}, revoked for {r['revoke_reason']}: a "
                "compromised key is never certified again. Make a new key and a new request from it",
                actor=actor,
            )


def refuse_another_subjects_key(ca, db, new_serial: str, key, device: str | None, subject: str, actor: str) -> None:
    """Refuse (NotAllowed, logged with the actor) a device or staff certificate whose key another subject's
    certificate already carries: prov-app1's key certified for prov-db1 gives whoever runs prov-app1 prov-db1's
    names, which 'only_given_names' exists to prevent. The same subject may keep its key (a renewal from the same
    request). Compared with every certificate the CA recorded, valid or not: the key is known to that other
    subject's holder either way."""
    key = spki(key)
    mine = ("device", device) if device else ("subject", subject)
    rows = db.execute(
        "SELECT serial, device, subject, pem FROM certs "
        "WHERE profile NOT IN ('operator', 'ocsp_signer') AND serial != ?",
        (new_serial,),
    )
    for r in rows:
        if (("device", r["device"]) if r["device"] else ("subject", r["subject"])) == mine:
            continue
        try:
            theirs = spki(x509.load_pem_x509_certificate(r["pem"].encode()))
        except ValueError:
            continue  # a row the CA did not write whole: audit verify names it
        if theirs == key:
            other = r["device"] or r["subject"]
            raise NotAllowed(
                f"the request's key is already the key of certificate {r['serial']} ({checks.shown(other)}): one key "
                "is certified for one subject, or whoever holds it for the other would hold these names too. Make "
                "a new key on the device and a request from it",
                actor=actor,
            )
