"""Notify's pure rules: access, periods, report and Backup Radar content, templates, messages, SSRF, retries."""
