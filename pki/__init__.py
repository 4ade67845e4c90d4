"""pki: the programme's own certificate authority (CA认证中心).

Split the way step-ca splits it:
- who may ask: authz.py (operators and their roles, proven by their own key), and gate.py, where
  every operation is authorized and every refusal logged;
- what is recorded: the store/ package (the certificate database and the hash-chained audit log,
  and all of the CA's SQL), with store/seal.py sealing the tables decisions rest on, store/settings.py
  recording ca.yml's settings under that seal, store/head.py keeping the log's head outside the database
  (a ca.db or audit.head put back alone stops the CA), audit.py checking the log, and replay.py checking
  the tables against the log;
- who signs: signer.py (a key file today, an HSM tomorrow). A signer signs certificates, CRLs, OCSP
  responses and the log; it never hands out its key, and verifying needs only its certificate.
authority.py is the public face. A request runs through policy.py (validate → modify → enforce) and
issuance.py (sign → record); bootstrap.py, renewal.py, revocation.py, root_ceremony.py (what only the
offline root does), operators.py, ocsp_signer.py, reconfigure.py (adopting an edited ca.yml), queries.py
and audit_verify.py hold the other operations, over the CA folder context.py opens (once folder.py finds
no one else can change it). Beside them: checks.py's small validators for what
people type (and for the small records the CA reads back), config.py checking ca.yml, crl.py
publishing CRLs (after the commit) and judging those on disk, files.py writing outputs safely, and
faults.py, where tests kill the CA mid-operation. cli.py assembles the `jinbao pki` commands from the
cli_*.py modules.
"""
