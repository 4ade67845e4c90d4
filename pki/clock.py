"""The CA's clock: whole seconds in UTC, and the skew it allows relying parties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Relying parties' clocks run a little fast or slow: certificates and CRLs start this much in the past.
CLOCK_SKEW = timedelta(minutes=5)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
