"""Metadata normalisation: dates, outlets, categories."""
