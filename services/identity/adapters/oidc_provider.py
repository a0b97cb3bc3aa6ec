"""An OpenID Connect provider (Microsoft Entra ID, Google) as identity talks to it, through
Authlib: the discovery document and the provider's keys (fetched with a timeout, kept for a
while), the authorization URL (code flow, PKCE ``S256``, ``state``, ``nonce``), the token
exchange, and the ID token's signature and claims (iss, aud, exp, nonce) checked with
Authlib's ``CodeIDToken`` over joserfc.

Every call here is HTTP: the use cases call it with no database transaction open. Nothing
here logs a code, a token, the verifier or the client secret.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from services.identity.domain.single_sign_on import SsoRefusal
from services.identity.settings import ProviderSettings

# Authlib's debug logs carry request bodies; the portal's logs never do.
logging.getLogger("authlib").setLevel(logging.WARNING)

SCOPE = "openid email profile"
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60  # clocks of the portal and the provider may differ a little
DISCOVERY_KEPT_SECONDS = 3600
KEYS_KEPT_SECONDS = 600


class ProviderRefusal(Exception):
    """The provider's answer is not acceptable. ``claims`` are the ID token's claims when its
    signature was good (so the refusal can name who tried), else None."""

    def __init__(self, refusal: SsoRefusal, claims: Mapping[str, Any] | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.claims = claims


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


class _Kept:
    """Documents fetched from providers, each kept for a while (per identity process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, max_age: float) -> Any:
        with self._lock:
            kept = self._values.get(key)
        return kept[1] if kept and time.monotonic() - kept[0] < max_age else None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._values[key] = (time.monotonic(), value)


_KEPT = _Kept()


class OidcProvider:
    def __init__(self, settings: ProviderSettings, redirect_uri: str, timeout: float) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self.timeout = timeout

    # ---- documents --------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderRefusal(SsoRefusal.PROVIDER_ERROR) from error
        if not isinstance(document, dict):
            raise ProviderRefusal(SsoRefusal.PROVIDER_ERROR)
        return document

    def discovery(self) -> Discovery:
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        kept = _KEPT.get(url, DISCOVERY_KEPT_SECONDS)
        if kept is not None:
            return kept
        document = self._get_json(url)
        try:
            found = Discovery(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                token_auth_methods=tuple(document.get("token_endpoint_auth_methods_supported")
                                         or ["client_secret_basic"]),
            )
        except KeyError as error:
            raise ProviderRefusal(SsoRefusal.PROVIDER_ERROR) from error
        # The document must speak for the configured issuer (OpenID Connect Discovery §4.3).
        if found.issuer.rstrip("/") != self.settings.issuer:
            raise ProviderRefusal(SsoRefusal.WRONG_ISSUER)
        _KEPT.put(url, found)
        return found

    def _keys(self, discovery: Discovery, fresh: bool = False) -> KeySet:
        kept = None if fresh else _KEPT.get(discovery.jwks_uri, KEYS_KEPT_SECONDS)
        if kept is not None:
            return kept
        try:
            keys = KeySet.import_key_set(self._get_json(discovery.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as error:
            raise ProviderRefusal(SsoRefusal.PROVIDER_ERROR) from error
        _KEPT.put(discovery.jwks_uri, keys)
        return keys

    # ---- the flow ---------------------------------------------------------------------------

    def _session(self, discovery: Discovery) -> OAuth2Session:
        auth_method = "client_secret_basic" if "client_secret_basic" in discovery.token_auth_methods \
            else "client_secret_post"
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret.get_secret_value(),
            scope=SCOPE,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
        )

    def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        discovery = self.discovery()
        url, _ = self._session(discovery).create_authorization_url(
            discovery.authorization_endpoint, state=state, nonce=nonce, code_verifier=code_verifier)
        return str(url)

    def signed_in_claims(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the authorization code and return the ID token's claims once its
        signature, issuer, audience, expiry and nonce are good; else :class:`ProviderRefusal`."""
        discovery = self.discovery()
        try:
            token = self._session(discovery).fetch_token(
                discovery.token_endpoint, grant_type="authorization_code", code=code,
                code_verifier=code_verifier, timeout=self.timeout)
        except (OAuthError, requests.RequestException, ValueError) as error:
            raise ProviderRefusal(SsoRefusal.PROVIDER_ERROR) from error
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderRefusal(SsoRefusal.INVALID_ID_TOKEN)
        return self.validated_claims(id_token, nonce, discovery)

    def validated_claims(self, id_token: str, nonce: str, discovery: Discovery) -> dict[str, Any]:
        decoded = self._decode(id_token, discovery)
        claims = CodeIDToken(
            decoded.claims, decoded.header,
            options={"iss": {"essential": True, "value": discovery.issuer},
                     "aud": {"essential": True, "value": self.settings.client_id},
                     "exp": {"essential": True}},
            params={"nonce": nonce, "client_id": self.settings.client_id},
        )
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except ExpiredTokenError as error:
            raise ProviderRefusal(SsoRefusal.TOKEN_EXPIRED, decoded.claims) from error
        except ClaimError as error:
            raise ProviderRefusal(_CLAIM_REFUSALS.get(error.claim, SsoRefusal.INVALID_ID_TOKEN),
                                  decoded.claims) from error
        except JoseError as error:
            raise ProviderRefusal(SsoRefusal.INVALID_ID_TOKEN, decoded.claims) from error
        return dict(claims)

    def _decode(self, id_token: str, discovery: Discovery) -> Any:
        """The token with a good signature by one of the provider's keys (fetched again once
        when the key is unknown: providers rotate their keys)."""
        for fresh in (False, True):
            try:
                return jwt.decode(id_token, self._keys(discovery, fresh=fresh), algorithms=ALGORITHMS)
            except (JoseError, ValueError) as error:
                if fresh:
                    refusal = SsoRefusal.BAD_SIGNATURE if _signature_problem(error) else SsoRefusal.INVALID_ID_TOKEN
                    raise ProviderRefusal(refusal) from error
        raise AssertionError("unreachable")


_CLAIM_REFUSALS = {
    "iss": SsoRefusal.WRONG_ISSUER,
    "aud": SsoRefusal.WRONG_AUDIENCE,
    "azp": SsoRefusal.WRONG_AUDIENCE,
    "exp": SsoRefusal.TOKEN_EXPIRED,
    "nonce": SsoRefusal.NONCE_MISMATCH,
}


def _signature_problem(error: Exception) -> bool:
    return getattr(error, "error", "") in ("bad_signature", "invalid_key_id", "missing_key")
