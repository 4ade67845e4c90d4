"""What is recorded: certificates, revocations, operators and the audit log, in one SQLite file.

All of the CA's SQL lives in this package; the rest of pki/ asks for what it needs by name.
- transactions.py: the connection, one writer at a time, everything of a change or nothing;
- seal.py: the CA's signature over the tables its decisions rest on, checked and renewed by each transaction;
- settings.py: ca.yml's settings as the CA recorded them (sealed with the counters);
- head.py: audit.head, the log's newest entry kept outside the database, and whether the two agree;
- records.py: certificates, revocations, operators and counters;
- audit_log.py: the hash-chained, signed, append-only log;
- reader.py: the OCSP responder's read-only view;
- schema.py: the tables and triggers;
- migrate.py: bringing a database made by earlier code up to the current schema.
"""

from __future__ import annotations

from .audit_log import AuditLog
from .reader import Reader
from .records import Certificates, Operators, Tables
from .schema import GENESIS, entry_hash
from .transactions import Transactions, utc

__all__ = ["GENESIS", "Reader", "Store", "Tables", "entry_hash", "utc"]


class Store(Transactions, AuditLog, Certificates, Operators):
    """The CA database: Store(path, head=head.Head, signer=the issuing CA's signer, config=ca.yml's settings)."""
