"""Authentication and authorisation of a request: who is calling, and may they?

Every authenticated request is checked against identity (``check_session``), with a
cache of a few seconds so a page's burst of requests costs one check; a revoked session
leaves the cache at once (:class:`SessionCache`). The signed-in
user becomes the request's :class:`Caller`, which travels with every RPC the request
makes; services re-check scope themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from contracts.context import Caller
from contracts.errors import NotAuthenticated, PasswordExpired, PermissionDenied
from contracts.identity import EngineIdentity, Principal
from contracts.vocabulary import TenantKind
from gateway.deps import Rpc
from gateway.errors import REFUSED_BEARER

SESSION_CACHE_SECONDS = 3.0
SESSION_CACHE_SIZE = 10_000
# How long a revocation keeps a check that began before it from being cached: longer than
# the longest RPC deadline the gateway's settings allow (300 s).
REVOCATION_MARK_SECONDS = 330.0
ANNOUNCEMENT_WAIT_SECONDS = 2.0
# The web console holds the same session token in an HttpOnly cookie; a request that
# authenticates by that cookie must prove with X-CSRF-Token that it comes from a console
# page before it may change anything (docs/console.md). Bearer tokens need no such proof.
SESSION_COOKIE = "portal_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionCache:
    """(token hash, client address) → principal, for a few seconds; thread-safe.

    Identity announces revoked sessions (``sessions_revoked``; :mod:`gateway.revocations`
    drops them here), and a route that revokes drops them itself at once. The TTL is the
    backstop for revocations this instance did not hear of (its feed was disconnected).
    """

    def __init__(self, ttl: float = SESSION_CACHE_SECONDS, size: int = SESSION_CACHE_SIZE) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[tuple[str, str | None], tuple[float, Principal]] = OrderedDict()
        self._engines: dict[tuple[str, str], tuple[float, EngineIdentity]] = {}
        # When each user's sessions were last revoked, and when everything was: a check
        # that began before either must not put its (possibly stale) answer in the cache.
        self._revoked_at: dict[uuid.UUID, float] = {}
        self._cleared_at = float("-inf")
        self._lock = threading.Lock()
        # When identity's announcement of each user's latest revocation reached this instance.
        self._announced_at: dict[uuid.UUID, float] = {}
        self._announced = threading.Condition(self._lock)

    def get(self, key: tuple[str, str | None]) -> Principal | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return item[1]

    def put(self, key: tuple[str, str | None], principal: Principal, checked_since: float) -> None:
        """Cache identity's answer to a check that began at ``checked_since`` (monotonic)."""
        with self._lock:
            revoked_at = self._revoked_at.get(principal.user.id, self._cleared_at)
            if checked_since <= max(revoked_at, self._cleared_at):
                return
            self._items[key] = (time.monotonic() + self.ttl, principal)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def revoke(self, user_id: uuid.UUID, session_ids: Collection[uuid.UUID] | None = None,
               announced: bool = False) -> None:
        """Forget ``user_id``'s sessions (only ``session_ids`` when given): they are checked
        with identity again on their next request. ``announced``: identity's event said so."""
        with self._lock:
            now = time.monotonic()
            self._revoked_at[user_id] = now
            if announced:
                self._announced_at[user_id] = now
                self._announced.notify_all()
            if len(self._revoked_at) > self.size:  # only checks still under way need the marks
                self._revoked_at = _recent(self._revoked_at, now)
                self._announced_at = _recent(self._announced_at, now)
            gone = [key for key, (_, principal) in self._items.items() if principal.user.id == user_id
                    and (session_ids is None or principal.session_id in session_ids)]
            for key in gone:
                del self._items[key]

    def wait_announced(self, user_id: uuid.UUID, since: float, timeout: float) -> bool:
        """Wait until identity's announcement of a revocation of ``user_id`` made after
        ``since`` (monotonic) has reached this instance; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._announced:
            while self._announced_at.get(user_id, float("-inf")) < since:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._announced.wait(left)
            return True

    def clear(self) -> None:
        """Forget every session (revocations may have been missed)."""
        with self._lock:
            self._items.clear()
            self._cleared_at = time.monotonic()

    def get_engine(self, key: tuple[str, str]) -> EngineIdentity | None:
        with self._lock:
            item = self._engines.get(key)
            return item[1] if item and item[0] >= time.monotonic() else None

    def put_engine(self, key: tuple[str, str], identity: EngineIdentity) -> None:
        with self._lock:
            if len(self._engines) > self.size:
                self._engines.clear()
            self._engines[key] = (time.monotonic() + self.ttl, identity)


def _recent(marks: dict[uuid.UUID, float], now: float) -> dict[uuid.UUID, float]:
    return {user: at for user, at in marks.items() if now - at < REVOCATION_MARK_SECONDS}


@contextmanager
def revoking(request: Request, user_id: uuid.UUID, session_ids: Collection[uuid.UUID] | None = None
             ) -> Iterator[None]:
    """Around the RPC by which a request revokes sessions of ``user_id`` (identity then
    announces ``sessions_revoked``). Once it has succeeded, this instance forgets the sessions,
    so that the very next request checks them again, and the answer waits (at most
    :data:`ANNOUNCEMENT_WAIT_SECONDS`) until the announcement has come back through the
    broker: by then every other instance has been sent it too."""
    since = time.monotonic()
    yield
    forget_sessions(request, user_id, since, session_ids)


def forget_sessions(request: Request, user_id: uuid.UUID, since: float,
                    session_ids: Collection[uuid.UUID] | None = None) -> None:
    """After identity revoked sessions of ``user_id`` (an RPC started at monotonic ``since``):
    forget them here and wait for the announcement, as :func:`revoking` does. For a request
    that learns whose sessions ended only from the answer (a password reset)."""
    cache: SessionCache = request.app.state.session_cache
    cache.revoke(user_id, session_ids)
    feed = request.app.state.revocation_feed
    if feed is not None and feed.connected.is_set():
        cache.wait_announced(user_id, since, ANNOUNCEMENT_WAIT_SECONDS)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    """The session's synchronizer token: a one-way MAC of the session token, so it is bound
    to the session, needs no storage, and shown in a page it does not reveal the session."""
    return hmac.new(session_token.encode(), b"portal-console-csrf-v1", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), csrf_token_for(session_token).encode())


def request_token(request: Request) -> str | None:
    """The bearer token, else the console's session cookie (with CSRF proof on unsafe methods)."""
    token = bearer_token(request)
    if token is not None:
        return token
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(cookie, request.headers.get(CSRF_HEADER)):
        raise PermissionDenied(f"a browser session must send the {CSRF_HEADER} header of its page",
                               {"reason": "csrf_token_missing_or_wrong"})
    return cookie


def _check_token(request: Request, check: Callable[[str], Any], token: str) -> Any:
    """Identity's answer for ``token`` (``check`` is one of its checks); a refusal marks the
    request for the ``invalid_token`` challenge (gateway.errors)."""
    try:
        return check(token)
    except NotAuthenticated:
        setattr(request.state, REFUSED_BEARER, True)
        raise


async def _principal(request: Request, rpc: Rpc) -> Principal:
    """The session's principal: from the cache without leaving the event loop, or else from
    identity in a worker thread (the RPC blocks). A plain ``def`` dependency would hand every
    request to a worker thread, a hand-off that cost more than the cache lookup."""
    token = request_token(request)
    if token is None:
        raise NotAuthenticated("sign in first (Authorization: Bearer <token>)")
    caller: Caller = request.state.caller
    cache: SessionCache = request.app.state.session_cache
    key = (token_key(token), caller.ip)
    principal = cache.get(key)
    if principal is None:
        checked_since = time.monotonic()
        reply = await run_in_threadpool(_check_token, request, rpc.identity.check_session, token)
        principal = Principal.from_wire(reply)
        cache.put(key, principal, checked_since)
    user = principal.user
    request.state.principal = principal
    request.state.caller = caller.model_copy(update={
        "user_id": user.id, "tenant_id": user.tenant_id, "email": user.email, "role": user.role,
        "tenant_kind": user.tenant_kind, "permissions": user.permissions, "session_id": principal.session_id,
        "accessible_accounts": None if user.accessible_accounts == "all" else list(user.accessible_accounts),
    })
    return principal


async def signed_in(request: Request, rpc: Rpc) -> Principal:
    """Any valid session, even one whose password has expired (it may change it)."""
    return await _principal(request, rpc)


async def authorised(request: Request, rpc: Rpc) -> Principal:
    """A valid session that may do more than change its expired password."""
    principal = await _principal(request, rpc)
    if principal.password_expired:
        raise PasswordExpired("your password has expired; change it to continue")
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]
Authorised = Annotated[Principal, Depends(authorised)]


def is_administrator(principal: Principal) -> bool:
    return principal.user.role == "administrator"


def require_permission(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: an administrator, or a custom user granted ``permission``.

    The checks on a principal are ``async``: they never block, and FastAPI runs a plain
    ``def`` dependency in a worker thread, a hand-off that cost more than the check."""

    async def dependency(principal: Authorised) -> Principal:
        if is_administrator(principal) or permission in principal.user.permissions:
            return principal
        raise PermissionDenied(f"you need the '{permission}' permission")

    return dependency


async def require_administrator(principal: Authorised) -> Principal:
    if not is_administrator(principal):
        raise PermissionDenied("only an administrator may do this")
    return principal


Administrator = Annotated[Principal, Depends(require_administrator)]


def engine(request: Request, rpc: Rpc) -> EngineIdentity:
    """The backup engine, by the API key an operator issued (``Authorization: Bearer bre_…``)."""
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated("an engine key is required (Authorization: Bearer <key>)")
    cache: SessionCache = request.app.state.session_cache
    key = (token_key(token), "engine")
    cached = cache.get_engine(key)
    identity = cached or EngineIdentity.from_wire(_check_token(request, rpc.identity.check_engine_key, token))
    if cached is None:
        cache.put_engine(key, identity)
    request.state.caller = request.state.caller.model_copy(update={"engine_key_id": identity.key_id,
                                                                   "is_system": False})
    return identity


Engine = Annotated[EngineIdentity, Depends(engine)]


async def require_operator(principal: Authorised) -> Principal:
    if principal.user.tenant_kind != TenantKind.OPERATOR or not is_administrator(principal):
        raise PermissionDenied("only an operator may do this")
    return principal


Operator = Annotated[Principal, Depends(require_operator)]
