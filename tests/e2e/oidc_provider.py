"""A real OpenID Connect provider on loopback for the Microsoft and Google sign-in tests.

``python -m tests.e2e.oidc_provider PORT`` serves oidc-provider-mock (Authlib's server side on
Flask): discovery, JWKS, an authorization form where the browser names the subject, the token
endpoint, RS256-signed ID tokens with the request's nonce. Two of these, on two ports, stand in
for Microsoft and Google (tests/e2e/conftest.py ``oidc_providers``).

Two things on top of the package:

- PKCE is enforced: the code flow must send an ``S256`` challenge and the token request the
  matching verifier (the package accepts a flow without one).
- A test chooses a subject's claims before the browser signs in (``PUT /users/<sub>``). Every
  claim outside the standard scope claims goes into the ID token as given and wins over the
  provider's own, so a test can have a token really issued with another ``aud``, a past
  ``exp`` or ``email_verified: false``; identity's validation sees what a misbehaving or
  hostile provider would send.
"""

from __future__ import annotations

import sys
from typing import Any

import oidc_provider_mock._app as mock_app
import werkzeug.serving
from authlib.oauth2.rfc7636 import CodeChallenge

# code -> (challenge, method); the package's stored authorization code has no place for them.
_CHALLENGES: dict[str, tuple[str | None, str | None]] = {}


class _StoredChallenge(CodeChallenge):
    def get_authorization_code_challenge(self, authorization_code: Any) -> str | None:
        return _CHALLENGES.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        return _CHALLENGES.get(authorization_code.code, (None, None))[1]


class _PkceAuthorizationCodeGrant(mock_app.AuthorizationCodeGrant):
    def __init__(self, request: Any, server: Any) -> None:
        super().__init__(request, server)
        _StoredChallenge(required=True)(self)

    def save_authorization_code(self, code: str, request: Any) -> None:
        super().save_authorization_code(code, request)
        data = request.payload.data
        _CHALLENGES[code] = (data.get("code_challenge"), data.get("code_challenge_method"))


def main() -> None:
    port = int(sys.argv[1])
    # The package registers its grant by this module-level name when the app is set up.
    mock_app.AuthorizationCodeGrant = _PkceAuthorizationCodeGrant  # type: ignore[misc]
    app = mock_app.app(require_nonce=True)
    werkzeug.serving.run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
