"""The local test-mode payment processor: a hosted card form and a card-token store.

It stands where a real processor (Stripe, Adyen, Braintree) stands, on its own origin and
port: the console frames its card form, the cardholder types the card there, and the
processor answers the console with a token. Only that token reaches the gateway and
billing; the card number stays here and is not even kept here (only its brand, last four
digits, expiry and a fingerprint). Billing's ``LocalTestProcessor`` adapter reads the same
store to describe and charge a token, as a real processor's API would.
"""
