"""'audit verify': is the CA what its log says? Every check here needs only public material: the issuing CA's
and the root's certificates verify the log's signatures, its head, the seal and the published CRLs. No private
key is opened, so an auditor can run it where the issuing key is absent."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from . import audit, authz, crl, folder, replay
from .gate import authorize
from .signer import Verifier


def verify_audit(ca, cred, checkpoint: Path | None = None) -> tuple[int, list[str]]:
    """Recompute the chain, check every signature, the append-only triggers and the head anchored outside
    the database; check the tables against the CA's seal and against a replay of the log, and the
    published CRLs against the CA's keys and its record (and the auditor's own checkpoint, if given; it is
    advanced when all is well). Returns (entries, problems)."""
    authorize(ca, cred, "audit")
    issuing = Verifier(ca.issuer.certificate)
    with ca.store.transaction(migrate_schema=False) as db:  # no writer is between writing the head file and committing
        rows = ca.store.audit_entries(db)
        problems = [
            f"trigger {t} is missing or altered: the audit table is no longer append-only"
            for t in ca.store.missing_triggers()
        ]
        problems += audit.Head(ca.dir, issuing).problems((rows[-1]["seq"], rows[-1]["hash"]) if rows else None)
        problems += ca.store.check_seal(db, issuing.verify)
        problems += ca.store.config_problems(db, ca.cfg)
        problems += replay.mismatches(ca.store.replay_tables(db), rows)
        problems += published_problems(ca, ca.store.meta(db))
        problems += relabelled(ca.store.named_rows(db))
    problems = audit.chain_problems(rows, issuing.verify) + problems + folder.problems(ca.dir)
    if checkpoint is not None:
        problems += audit.checkpoint_problems(
            Path(checkpoint), authz.fingerprint(issuing.certificate), rows, advance=not problems
        )
    return len(rows), problems


def relabelled(rows) -> list[str]:
    """Rows whose subject or device is not what the CA signed into the certificate: renewals and the one-key-per-
    subject check read the signed names, but a relabelled row still misleads whoever lists the CA."""
    out = []
    for serial, subject, device, pem in rows:
        try:
            signed = x509.load_pem_x509_certificate(pem.encode()).subject
        except ValueError:
            continue  # a PEM the CA did not write: the replay names the certificate by its fingerprint
        cn = signed.get_attributes_for_oid(NameOID.COMMON_NAME)
        if subject != signed.rfc4514_string() or (device and not (cn and str(cn[0].value).startswith(device + "."))):
            out.append(
                f"certificate {serial}: ca.db says subject {subject!r}, device {device!r}, but the CA signed it for "
                f"{signed.rfc4514_string()!r}: the row was changed outside the CA"
            )
    return out


def published_problems(ca, meta: dict) -> list[str]:
    """Are the CRLs on disk the ones the CA signed last? The next 'jinbao pki crl' (--root) replaces one that
    is not."""
    found = (
        crl.problem(ca.dir / "crl" / "issuing.crl", ca.issuer.certificate, meta.get("crl_number"), "jinbao pki crl"),
        crl.problem(ca.dir / "crl" / "root.crl", ca.root_cert, meta.get("root_crl_number"), "jinbao pki crl --root"),
    )
    return [p for p in found if p]
