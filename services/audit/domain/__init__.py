"""Audit's pure rules: what each event makes of an entry, the hash chain, CSV, retention."""
