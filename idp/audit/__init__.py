"""Append-only, hash-chained record of security-relevant events."""
