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
from cryptography.x509.oid import NameOID

from . import checks
from .errors import NotAllowed
from .keys import key_hash

# Profiles whose certificates are the CA's own or its operators' credentials.
OWN = ("operator", "ocsp_signer")


def holder_of(ca, db, key_sha256: str, own: set[str], everywhere: bool = True) -> str | None:
    """What already carries the key whose SubjectPublicKeyInfo hashes to key_sha256, other than the serials in
    `own`: 'certificate S (…)' or None; among every certificate, or (everywhere=False) the CA's own. An index lookup
    inside the caller's transaction, under the write lock, so two issuances with one key cannot both pass."""
    for which, cert in (("the issuing CA", ca.issuer.certificate), ("the root CA", ca.root_cert)):
        if key_hash(cert) == key_sha256:
            return which
    for r in ca.store.with_key(db, key_sha256):
        if r["serial"] in own or not (everywhere or r["profile"] in OWN):
            continue
        return f"certificate {r['serial']} ({r['profile']}{', operator ' + r['operator'] if r['operator'] else ''})"
    return None


def refuse_shared_key(ca, db, new_serial: str, name: str, actor: str, own: set[str] = frozenset()) -> None:
    """Refuse (NotAllowed, logged with the actor) the credential `new_serial` for operator `name` if its key is
    already another credential's. `own`: the serials of the holder's own line that may share it."""
    key = ca.store.cert_key(db, new_serial)
    if (other := holder_of(ca, db, key, set(own) | {new_serial})) is not None:
        raise NotAllowed(
            f"the key offered for operator {name}'s credential is already the key of {other}: one key never backs "
            f"two operators' credentials (whoever holds it would act under both names). {name} makes a new key "
            "of their own and a request from it",
            actor=actor,
        )


def refuse_operator_key(ca, db, new_serial: str, key, actor: str) -> None:
    """Refuse a certificate that is not an operator credential if its key is one's (or the CA's own)."""
    if (other := holder_of(ca, db, key_hash(key), {new_serial}, everywhere=False)) is not None:
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
    for r in ca.store.with_key(db, key_hash(key)):
        if r["serial"] != new_serial and r["revoked_at"] is not None and r["revoke_reason"] in COMPROMISED:
            raise NotAllowed(
                f"the request's key is the key of certificate {r['serial']}, revoked for {r['revoke_reason']}: a "
                "compromised key is never certified again. Make a new key and a new request from it",
                actor=actor,
            )


def refuse_another_subjects_key(ca, db, new_serial: str, key, cn: str | None, actor: str) -> None:
    """Refuse (NotAllowed, logged with the actor) a device or staff certificate whose key another subject's
    certificate already carries: prov-app1's key certified for prov-db1 gives whoever runs prov-app1 prov-db1's
    names, which 'only_given_names' exists to prevent. The same subject may keep its key (a renewal from the same
    request). Compared with every certificate the CA recorded, valid or not: the key is known to that other
    subject's holder either way. A subject is its CN as signed (a device's name, a person's)."""
    for r in ca.store.with_key(db, key_hash(key)):
        if r["serial"] == new_serial or r["profile"] in OWN:
            continue
        # whose it is as the CA signed it, not as the row says: an edited device column must not pass one
        # subject's key off as another's (the rows of one key are few; parsing them costs nothing)
        if _cn_of_pem(r["pem"]) == cn:
            continue
        other = r["device"] or r["subject"]
        raise NotAllowed(
            f"the request's key is already the key of certificate {r['serial']} ({checks.shown(other)}): one key "
            "is certified for one subject, or whoever holds it for the other would hold these names too. Make "
            "a new key on the device and a request from it",
            actor=actor,
        )


def cn_of(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _cn_of_pem(pem: str) -> str | None:
    try:
        return cn_of(x509.load_pem_x509_certificate(pem.encode()))
    except ValueError:
        return None  # a row the CA did not write whole: it is never someone's own


def same_key(ca, db, serials: list[str], now: float) -> list:
    """The live certificates (not expired, and not revoked as compromised already) that carry the key of any of
    `serials`, other than those: what a key_compromise revocation revokes with them, since whoever stole the key
    holds every certificate of it. One revoked for a weaker reason is among them: its reason is raised. Rows, an
    index lookup per key."""
    out, seen = [], set(serials)
    for key in dict.fromkeys(ca.store.cert_key(db, s) for s in serials):
        for r in ca.store.with_key(db, key) if key else ():
            if r["serial"] in seen or r["not_after"] <= now or r["revoke_reason"] in COMPROMISED:
                continue
            seen.add(r["serial"])
            out.append(r)
    return out
