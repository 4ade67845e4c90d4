"""pki: the programme's own certificate authority (CA认证中心).

Split the way step-ca splits it:
- who may ask: authz.py (operators and their roles, proven by their own key);
- what is recorded: store.py (the certificate database and the hash-chained audit log), with
  audit.py keeping the log's head outside the database, seal.py sealing the tables decisions rest
  on, and replay.py checking them against the log;
- who signs: signer.py (a key file today, an HSM tomorrow).
authority.py runs requests through validate → modify → enforce → sign, with checks.py's small
validators for what people type (and for the small records the CA reads back), config.py checking
ca.yml, crl.py publishing CRLs and judging those on disk, and files.py writing outputs safely.
"""
