"""The CA's clock: whole seconds in UTC, and the skew it allows relying parties."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

# Relying parties' clocks run a little fast or slow: certificates and CRLs start this much in the past.
CLOCK_SKEW = timedelta(minutes=5)


def timestamp() -> float:
    """Seconds since the epoch, as the audit log and revocations record them."""
    return time.time()


def now() -> datetime:
    return datetime.fromtimestamp(timestamp(), UTC).replace(microsecond=0)
