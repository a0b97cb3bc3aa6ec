"""Identity's pure rules: permissions, password and IP policies, throttling, tokens and TOTP."""
