"""What a certificate request passes before it is signed, as step-ca has it: validate → modify → enforce.

Each step is a small function of (ca, request) that fills in the request or refuses it with a PkiError that
says what to change. run() takes them in order; the first refusal stops the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from . import checks, clock, keys, profiles
from .certparts import names
from .errors import PkiError


@dataclass
class Request:
    """One certificate request as it moves through the pipeline."""

    profile: profiles.Profile
    device: str | None = None
    person: str | None = None
    email: str | None = None
    csr_pem: bytes | None = None
    key_type: str | None = None
    days: int | None = None
    name: str | None = None  # the CN of an operator or service certificate
    role: str | None = None  # an operator's role, kept in the subject's OU
    # filled by the pipeline
    public_key: object = None
    private_key: object = None  # the subject's key, when the CA makes it for them (never the CA's own)
    requested_names: tuple = ()
    requested_extensions: object = ()  # the CSR's extensionRequest, for only_profile_extensions
    subject: x509.Name | None = None
    sans: tuple = ()
    site: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None


# -- validate: the key to certify -------------------------------------------------------------------
def key_of_request(ca, req: Request) -> None:
    """The CSR's key and the names it asks for, once its signature proves it; or a fresh key of an allowed type."""
    if req.csr_pem is not None:
        csr = _load_csr(req.csr_pem)
        try:
            sig_ok = csr.is_signature_valid
        except Exception:
            sig_ok = False
        if not sig_ok:
            raise PkiError("--csr: the CSR's signature does not verify: it was altered or not signed by its key")
        try:
            req.public_key = csr.public_key()
            exts = csr.extensions
        except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as e:
            raise PkiError(
                f"--csr: the CSR cannot be used ({e}); make a new one with a supported key and each "
                "extension once and well-formed"
            ) from None
        try:
            req.requested_names = tuple(exts.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            req.requested_names = ()
        req.requested_extensions = exts
    else:
        kt = req.profile.default_key_type if req.key_type is None else req.key_type  # '' is not "the default"
        if kt not in req.profile.key_types:
            raise PkiError(
                f"--key-type: profile {req.profile.name} does not allow key type "
                f"{checks.shown(kt) or repr(kt)}; allowed: {', '.join(req.profile.key_types)}"
            )
        req.private_key = keys.generate(kt)
        req.public_key = req.private_key.public_key()


# -- modify: names from the inventory, validity from the profile ---------------------------------------
def subject_kind(ca, req: Request) -> None:
    """A profile is for devices or for persons: a person's certificate recorded as a device's would be renewed,
    listed and deployed as that device's."""
    p = req.profile
    if p.subject != "device" and req.device is not None:
        raise PkiError(
            f"--device: profile {p.name} is for a {p.subject}, not a device; leave out --device or "
            "choose a device profile (server_tls, client_tls, network_device)"
        )
    if p.subject != "person" and (req.person is not None or req.email is not None):
        raise PkiError(
            f"--person/--email: profile {p.name} is for a {p.subject}, not a person; leave them out or "
            "choose a person profile (person_auth, person_sign)"
        )


def subject_names(ca, req: Request) -> None:
    """Subject and SANs from the inventory for a device, from the checked input for a person or a service."""
    p, e = req.profile, ca.estate
    org = (NameOID.ORGANIZATION_NAME, e.title or e.name)
    if p.subject == "device":
        if not req.device:
            raise PkiError(f"profile {p.name} issues to a device: give --device NAME")
        d = e.devices.get(req.device)
        if d is None:
            raise PkiError(
                f"no device {req.device[:80]!r} in estate {e.name}: a certificate is only issued to a "
                "device the inventory has"
            )
        if d.role not in p.device_roles:
            raise PkiError(f"profile {p.name} is not for a {d.role} ({d.name}); it serves: {', '.join(p.device_roles)}")
        req.site = d.site
        ips = [d.mgmt_ip] + ([d.loopback] if d.loopback else []) + [i.ip.ip for i in d.interfaces if i.ip]
        req.subject, req.sans = names(
            f"device {d.name}",
            [org, (NameOID.ORGANIZATIONAL_UNIT_NAME, d.site), (NameOID.COMMON_NAME, d.fqdn)],
            [(x509.DNSName, d.fqdn), *((x509.IPAddress, ip) for ip in dict.fromkeys(ips))],
        )
    elif p.subject == "person":
        if not req.person or not req.email:
            raise PkiError(f"profile {p.name} issues to a person: give --person NAME and --email ADDRESS")
        req.subject, req.sans = names(
            "--person",
            [org, (NameOID.COMMON_NAME, checks.person(req.person))],
            [(x509.RFC822Name, checks.email(req.email))],
        )
    else:
        rdns = [org, (NameOID.COMMON_NAME, req.name or p.description)]
        if p.subject == "operator":
            rdns.append((NameOID.ORGANIZATIONAL_UNIT_NAME, req.role))
        req.subject, req.sans = names("name", rdns, [])


def validity(ca, req: Request) -> None:
    """The profile's validity, inside the issuing CA's own: a certificate that outlived its issuer would be
    rejected by every relying party from that day, and one signed by an expired CA by all of them at once."""
    p = req.profile
    days = (
        p.default_validity_days if req.days is None else checks.days(req.days, p.max_validity_days, f"profile {p.name}")
    )
    iss = ca.issuer.certificate
    now = clock.now()
    if not iss.not_valid_before_utc <= now < iss.not_valid_after_utc:
        raise PkiError(
            f"the issuing CA is valid from {iss.not_valid_before_utc.isoformat()} to "
            f"{iss.not_valid_after_utc.isoformat()}, not now: it signs nothing. Make a new CA ('jinbao pki init')"
        )
    req.not_before = now - clock.CLOCK_SKEW
    req.not_after = req.not_before + timedelta(days=days)
    if req.not_after > iss.not_valid_after_utc:
        if req.days is not None:
            fits = (iss.not_valid_after_utc - req.not_before).days
            raise PkiError(
                f"--days {days}: the certificate would outlive the issuing CA, which expires on "
                f"{iss.not_valid_after_utc.isoformat()}; give at most {fits} days, or leave out --days"
            )
        req.not_after = iss.not_valid_after_utc  # the default: as long as the issuing CA lasts (step-ca clamps too)


# -- enforce: what the profile and the estate allow -------------------------------------------------
def allowed_key(ca, req: Request) -> None:
    kt = keys.key_type_of(req.public_key)
    if kt not in req.profile.key_types:
        raise PkiError(
            f"profile {req.profile.name} does not allow a {kt} key; allowed: {', '.join(req.profile.key_types)}"
        )


def allowed_validity(ca, req: Request) -> None:
    p = req.profile
    days = (req.not_after - req.not_before).days
    if days > p.max_validity_days:
        raise PkiError(f"validity of {days} days exceeds profile {p.name}'s maximum of {p.max_validity_days}")


def only_given_names(ca, req: Request) -> None:
    """A CSR gets the names the inventory gives its subject, never more."""
    allowed = set(req.sans)
    extra = [n for n in req.requested_names if n not in allowed]
    if extra:
        raise PkiError(
            "--csr: the CSR asks for names the inventory does not give this subject: "
            + ", ".join(checks.shown(getattr(n, "value", n)) for n in extra[:5])
            + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        )


def only_profile_extensions(ca, req: Request) -> None:
    """A CSR that asks to be a CA, to sign certificates or CRLs, or for usages its profile does not give is refused,
    not quietly trimmed: whoever made it meant something else than the profile issues, and should hear so."""
    wanted = []
    for ext in req.requested_extensions:
        v = ext.value
        if isinstance(v, x509.BasicConstraints) and v.ca:
            wanted.append("basicConstraints CA:TRUE")
        elif isinstance(v, x509.KeyUsage) and (v.key_cert_sign or v.crl_sign):
            wanted.append("keyUsage keyCertSign/cRLSign")
        elif isinstance(v, x509.ExtendedKeyUsage):
            allowed = {profiles.EKU[u] for u in req.profile.extended_key_usage}
            wanted += [f"extendedKeyUsage {_oid_name(o)}" for o in v if o not in allowed]
        elif isinstance(v, x509.NameConstraints):
            wanted.append("nameConstraints")
    if wanted:
        gives = ", ".join(req.profile.extended_key_usage) or "no extended key usage"
        raise PkiError(
            f"--csr: the CSR asks for {', '.join(wanted[:5])}, which profile {req.profile.name} does not give (it "
            f"issues end-entity certificates with {gives}); make a request without them, or choose the profile "
            "that gives them"
        )


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def inside_estate(ca, req: Request) -> None:
    """Names inside the CA's domain and addresses inside the estate's plan (the issuing CA's name constraints)."""
    estate = ca.estate
    for n in req.sans:
        if isinstance(n, (x509.DNSName, x509.RFC822Name)):
            host = n.value.split("@")[-1]
            if host != estate.domain and not host.endswith("." + estate.domain):
                raise PkiError(f"{n.value} is outside the CA's domain {estate.domain}")
        if isinstance(n, x509.IPAddress) and not any(n.value in net for net in (estate.supernet, estate.mgmt_block)):
            raise PkiError(f"{n.value} is outside the estate's address plan")


VALIDATORS = (key_of_request,)
MODIFIERS = (subject_kind, subject_names, validity)
ENFORCERS = (allowed_key, allowed_validity, only_given_names, only_profile_extensions, inside_estate)


def run(ca, req: Request) -> None:
    for step in (*VALIDATORS, *MODIFIERS, *ENFORCERS):
        step(ca, req)


def _load_csr(data: bytes) -> x509.CertificateSigningRequest:
    for load in (x509.load_pem_x509_csr, x509.load_der_x509_csr):
        try:
            return load(data)
        except ValueError:
            continue
    raise PkiError("--csr: the CSR is malformed: not a PEM or DER PKCS#10 request")
