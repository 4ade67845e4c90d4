"""Counters into rates: wrap, reboots and discontinuities, kept apart from the SNMP code to be tested alone."""

from __future__ import annotations

COUNTER32 = 2**32
COUNTER64 = 2**64
TIMETICKS = 2**32  # sysUpTime, hundredths of a second: it wraps after 497 days


def delta(previous: int, current: int, modulus: int) -> int:
    """How far a counter moved, across one wrap if it went backwards (RFC 2578: counters wrap
    to zero at their maximum). More than one wrap between two polls cannot be seen; the caller
    bounds what is plausible."""
    return current - previous if current >= previous else current + modulus - previous


def rate_bps(
    previous: int, current: int, seconds: float, speed_mbps: int | None = None, modulus: int = COUNTER64
) -> float | None:
    """Bits per second between two octet-counter samples, or None when there is no honest rate.

    None when no time passed, or when the counter went backwards and the wrapped delta would mean
    more than twice the interface's speed: then the counter was reset (an agent restart or a
    counter discontinuity), not wrapped, and any number would be made up."""
    if seconds <= 0:
        return None
    d = delta(previous, current, modulus)
    bps = d * 8 / seconds
    if current < previous and speed_mbps and bps > 2 * speed_mbps * 1_000_000:
        return None
    return bps


def utilisation_pct(bps: float | None, speed_mbps: int | None) -> float | None:
    if bps is None or not speed_mbps:
        return None
    return 100.0 * bps / (speed_mbps * 1_000_000)


def rebooted(previous_ticks: int | None, current_ticks: int, seconds: float) -> bool:
    """Whether the agent (or the device) restarted since the last poll, `seconds` ago.

    It did when sysUpTime went back, or when it grew by clearly less than the time that passed
    (it restarted between the polls and has been up longer than it was at the last one). A
    sysUpTime that wrapped at 2^32 ticks also goes back; it is told apart by arithmetic: after a
    wrap, the wrapped delta matches the time that passed."""
    if previous_ticks is None:
        return False
    grew = delta(previous_ticks, current_ticks, TIMETICKS) / 100.0
    # Slack for the poll's own latency and the agent's clock against ours.
    slack = max(10.0, seconds * 0.05)
    if current_ticks < previous_ticks:
        return abs(grew - seconds) > slack  # a wrap grows by the time that passed; a restart does not
    return seconds - grew > slack
