"""Who is asking: a reviewer signed in through Identity-Aware Proxy, or, on a developer's
machine, through a dev sign-in; and the CSRF token every POST must carry.

Deployed, IAP sits in front of the panel and signs each request's `x-goog-iap-jwt-assertion`
(ES256). The panel checks that signature against Google's published keys (fetched once an
hour), the audience (`/projects/NUMBER/global/backendServices/ID` or
`/projects/NUMBER/apps/PROJECT`), the issuer and the expiry, then the email against the allow-list
of reviewers. A request without a valid assertion gets 401, a valid one from someone not on
the list 403; no page, photo or API answer is served before this check.

Locally there is no IAP: the dev sign-in lets a listed reviewer pick their email, kept in a
signed cookie. It refuses to exist where Cloud Run runs the process (`K_SERVICE` set), so a
misconfigured deployment cannot fall back to it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from google.auth import exceptions as google_exceptions
from google.auth import jwt
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from catalogist.errors import SettingsError

IAP_HEADER = "x-goog-iap-jwt-assertion"
IAP_CERTS_URL = "https://www.gstatic.com/iap/verify/public_key"
IAP_ISSUER = "https://cloud.google.com/iap"
DEV_COOKIE = "catalogist_reviewer"
SESSION_COOKIE = "catalogist_session"
SESSION_SECONDS = 12 * 3600  # a working day: the dev sign-in and the session (CSRF) cookies expire
CSRF_HEADER = "x-csrf-token"
CERTS_MAX_AGE_SECONDS = 3600.0


class SignInError(Exception):
    """The request may not see the panel; `status` is 401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SignIn(Protocol):
    def reviewer(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        """The reviewer's email; `SignInError` when the request is not from one."""
        ...


@dataclass
class Certificates:
    """Google's IAP signing keys, fetched on first use and again once they are an hour old.
    Shared by every request thread."""

    url: str = IAP_CERTS_URL
    fetch: Callable[[str], Mapping[str, str]] = field(default=lambda url: requests.get(url, timeout=10).json())
    _keys: Mapping[str, str] = field(default_factory=dict)
    _fetched_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Mapping[str, str]:
        with self._lock:
            if not self._keys or time.monotonic() - self._fetched_at > CERTS_MAX_AGE_SECONDS:
                self._keys = dict(self.fetch(self.url))
                self._fetched_at = time.monotonic()
            return self._keys


@dataclass
class IapSignIn:
    audience: str
    reviewers: frozenset[str]
    certificates: Certificates = field(default_factory=Certificates)

    def reviewer(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        assertion = headers.get(IAP_HEADER, "")
        if not assertion:
            raise SignInError(401, "sign in through Identity-Aware Proxy: the request carries no IAP assertion")
        try:
            claims = jwt.decode(assertion, certs=self.certificates.current(), audience=self.audience)
        except (ValueError, google_exceptions.GoogleAuthError) as error:
            raise SignInError(401, f"the IAP assertion is not valid: {error}") from None
        if claims.get("iss") != IAP_ISSUER:
            raise SignInError(401, f"the assertion was issued by {claims.get('iss')!r}, not IAP")
        email = str(claims.get("email", "")).lower()
        if email not in self.reviewers:
            raise SignInError(403, f"{email or 'this account'} is not on the list of reviewers")
        return email


@dataclass
class DevSignIn:
    """For the local stack only: whoever opens the panel picks a listed reviewer."""

    reviewers: frozenset[str]
    secret: str
    on_cloud_run: bool = False

    def __post_init__(self) -> None:
        if self.on_cloud_run:
            raise SettingsError(
                "CATALOGIST_PANEL_AUTH=dev is for a developer's machine; on Cloud Run (K_SERVICE is set) "
                "the panel signs in through IAP: set CATALOGIST_PANEL_AUTH=iap and CATALOGIST_IAP_AUDIENCE"
            )

    def reviewer(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        cookie = cookies.get(DEV_COOKIE, "")
        if not cookie:
            raise SignInError(401, "not signed in")
        try:
            email = str(URLSafeTimedSerializer(self.secret, salt="dev-sign-in").loads(cookie, max_age=SESSION_SECONDS))
        except SignatureExpired:
            raise SignInError(401, "the sign-in has expired: sign in again") from None
        except BadSignature:
            raise SignInError(401, "the sign-in cookie is not valid") from None
        if email not in self.reviewers:
            raise SignInError(403, f"{email} is not on the list of reviewers")
        return email

    def cookie_for(self, email: str) -> str:
        if email not in self.reviewers:
            raise SignInError(403, f"{email} is not on the list of reviewers")
        return URLSafeTimedSerializer(self.secret, salt="dev-sign-in").dumps(email)


def new_session(secret: str) -> tuple[str, str]:
    """A fresh browser session: (its id, the signed cookie that carries it)."""
    session_id = secrets.token_urlsafe(24)
    return session_id, URLSafeTimedSerializer(secret, salt="panel-session").dumps(session_id)


def session_of(secret: str, cookie: str) -> str:
    """The session id a cookie carries; "" when there is none, it is forged, or it expired."""
    if not cookie:
        return ""
    try:
        return str(URLSafeTimedSerializer(secret, salt="panel-session").loads(cookie, max_age=SESSION_SECONDS))
    except BadSignature:  # SignatureExpired is one too
        return ""


def csrf_token(secret: str, reviewer: str, session_id: str) -> str:
    """Bound to the reviewer, the browser session and the panel's secret: a page of the panel
    carries it, another site cannot know it, and a new sign-in (a new session) changes it."""
    return hmac.new(secret.encode(), f"csrf:{reviewer}:{session_id}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, reviewer: str, session_id: str, presented: Any) -> bool:
    return (
        bool(session_id)
        and isinstance(presented, str)
        and hmac.compare_digest(presented, csrf_token(secret, reviewer, session_id))
    )
