"""Tenancy's pure rules: the tenant tree, account lifecycles, roll-ups, task states, plans."""
