"""Monitoring: SNMP polling of the estate per device class, with thresholds and alerts (issue 11)."""
