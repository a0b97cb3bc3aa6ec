"""Notify's pure rules: report periods and retry back-off."""
