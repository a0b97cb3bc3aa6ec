"""Notify's use cases: each takes the unit of work, checks the caller's scope, and commits."""
