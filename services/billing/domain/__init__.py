"""Billing's pure rules: money, periods, the price book, compositions, statuses, forecasts, run plans."""
