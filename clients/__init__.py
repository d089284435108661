"""Relying parties: the registry, validation of their metadata, and their policies."""
