"""identity's OpenID Connect adapter (services/identity/adapters/oidc_provider.py) against real
providers on loopback (tests/e2e/oidc_provider.py): the whole code flow with PKCE, and each
check of the ID token with a token the provider really issued. No broker, no database.

The browser's part is one form post to the provider's authorization URL (its form names the
subject); everything else is the adapter as identity runs it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from pydantic import SecretStr

from services.identity.adapters.oidc_provider import OidcProvider as Adapter
from services.identity.adapters.oidc_provider import ProviderRefusal
from services.identity.domain.single_sign_on import SsoRefusal
from services.identity.domain.tokens import new_token
from services.identity.settings import ProviderSettings
from tests.support.oidc import OidcProvider, running_provider

REDIRECT_URI = "http://127.0.0.1:9/sign-in/microsoft/callback"


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OidcProvider, OidcProvider]]:
    logs: Path = tmp_path_factory.mktemp("oidc")
    with running_provider("microsoft", logs / "one.log") as one, running_provider("google", logs / "other.log") as other:
        yield one, other


def adapter(provider: OidcProvider, timeout: float = 5) -> Adapter:
    return Adapter(ProviderSettings(provider.name, provider.issuer, provider.client_id, SecretStr("s3cret")),
                   REDIRECT_URI, timeout)


def authorized(provider: OidcProvider, claims: dict[str, Any]) -> tuple[str, str, str, str]:
    """A subject with ``claims`` authorizes at the provider: (code, state, nonce, verifier)."""
    subject = f"s-{uuid.uuid4().hex[:10]}"
    provider.set_user(subject, {"email": f"{subject}@example.com", "email_verified": True, **claims})
    state, nonce, verifier = new_token(), new_token(), new_token(48)
    url = adapter(provider).authorization_url(state, nonce, verifier)
    answer = requests.post(url, data={"sub": subject}, allow_redirects=False, timeout=10)
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0], state, nonce, verifier


def refusal(provider: OidcProvider, **claims: Any) -> ProviderRefusal:
    code, _, nonce, verifier = authorized(provider, claims)
    with pytest.raises(ProviderRefusal) as refused:
        adapter(provider).signed_in_claims(code, verifier, nonce)
    return refused.value


def test_the_authorization_url_asks_for_the_code_with_an_s256_challenge_state_and_nonce(providers):
    url = adapter(providers[0]).authorization_url("the-state", "the-nonce", "v" * 43)
    query = parse_qs(urlparse(url).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["the-state"] and query["nonce"] == ["the-nonce"]
    assert query["code_challenge"] != ["v" * 43] and query["redirect_uri"] == [REDIRECT_URI]
    assert "openid" in query["scope"][0].split()


def test_a_good_answer_gives_the_validated_claims(providers):
    code, _, nonce, verifier = authorized(providers[0], {"email": "ada@example.com"})
    claims = adapter(providers[0]).signed_in_claims(code, verifier, nonce)
    assert claims["email"] == "ada@example.com" and claims["email_verified"] is True
    assert claims["nonce"] == nonce and claims["iss"] == providers[0].issuer


def test_a_token_issued_for_another_application_is_refused_naming_who_tried(providers):
    refused = refusal(providers[0], aud="another-application", email="bob@example.com")
    assert refused.refusal is SsoRefusal.WRONG_AUDIENCE
    assert refused.claims is not None and refused.claims["email"] == "bob@example.com"


def test_an_expired_id_token_is_refused(providers):
    assert refusal(providers[0], exp=int(time.time()) - 3600).refusal is SsoRefusal.TOKEN_EXPIRED


def test_a_token_of_another_issuer_is_refused(providers):
    assert refusal(providers[0], iss="https://issuer.elsewhere.example").refusal is SsoRefusal.WRONG_ISSUER


def test_a_token_of_another_sign_in_is_refused_by_its_nonce(providers):
    assert refusal(providers[0], nonce="the nonce of another sign-in").refusal is SsoRefusal.NONCE_MISMATCH


def test_the_code_is_useless_without_the_pkce_verifier(providers):
    code, _, nonce, _ = authorized(providers[0], {})
    with pytest.raises(ProviderRefusal) as refused:
        adapter(providers[0]).signed_in_claims(code, new_token(48), nonce)
    assert refused.value.refusal is SsoRefusal.PROVIDER_ERROR


def test_a_code_works_once(providers):
    code, _, nonce, verifier = authorized(providers[0], {})
    adapter(providers[0]).signed_in_claims(code, verifier, nonce)
    with pytest.raises(ProviderRefusal) as refused:
        adapter(providers[0]).signed_in_claims(code, verifier, nonce)
    assert refused.value.refusal is SsoRefusal.PROVIDER_ERROR


def test_a_token_signed_by_another_providers_key_is_refused(providers):
    one, other = providers
    code, _, nonce, verifier = authorized(other, {})
    foreign = adapter(other)
    discovery = foreign.discovery()
    token = foreign._session(discovery).fetch_token(discovery.token_endpoint, code=code, code_verifier=verifier)
    with pytest.raises(ProviderRefusal) as refused:
        adapter(one).validated_claims(token["id_token"], nonce, adapter(one).discovery())
    assert refused.value.refusal in (SsoRefusal.BAD_SIGNATURE, SsoRefusal.INVALID_ID_TOKEN)
    assert refused.value.claims is None  # an unverified token names nobody


def test_an_unreachable_provider_is_a_provider_error(providers):
    gone = OidcProvider("microsoft", "http://127.0.0.1:9", "portal-test-microsoft")
    with pytest.raises(ProviderRefusal) as refused:
        adapter(gone, timeout=2).authorization_url("s", "n", "v" * 43)
    assert refused.value.refusal is SsoRefusal.PROVIDER_ERROR
