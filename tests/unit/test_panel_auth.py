"""Sign-in to the panel: IAP assertions checked with real ES256 signatures, the dev sign-in that
refuses Cloud Run, and CSRF tokens."""

import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.auth import crypt, jwt

from catalogist.errors import SettingsError
from catalogist.panel.auth import IAP_HEADER, Certificates, DevSignIn, IapSignIn, SignInError, csrf_ok, csrf_token

AUDIENCE = "/projects/123456/global/backendServices/987"
REVIEWERS = frozenset({"ana@shop.example"})


def key_pair(kid: str) -> tuple[crypt.ES256Signer, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return crypt.ES256Signer.from_string(pem, key_id=kid), public.decode()


@pytest.fixture
def iap():
    signer, public = key_pair("iap-key-1")
    fetched = []

    def fetch(url):
        fetched.append(url)
        return {"iap-key-1": public}

    return IapSignIn(AUDIENCE, REVIEWERS, Certificates(fetch=fetch)), signer, fetched


def assertion(signer, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://cloud.google.com/iap",
        "aud": AUDIENCE,
        "email": "ana@shop.example",
        "sub": "accounts.google.com:1",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(signer, payload).decode()


def test_a_reviewer_signed_by_iap_is_let_in_and_the_keys_are_fetched_once(iap):
    sign_in, signer, fetched = iap

    for _ in range(3):
        assert sign_in.reviewer({IAP_HEADER: assertion(signer)}, {}) == "ana@shop.example"

    assert fetched == ["https://www.gstatic.com/iap/verify/public_key"]


@pytest.mark.parametrize(
    ("claims", "status", "words"),
    [
        ({"aud": "/projects/1/global/backendServices/other"}, 401, "not valid"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, 401, "not valid"),
        ({"iss": "https://accounts.google.com"}, 401, "not IAP"),
        ({"email": "mallory@elsewhere.example"}, 403, "not on the list"),
    ],
)
def test_assertions_that_do_not_hold_are_refused(iap, claims, status, words):
    sign_in, signer, _ = iap

    with pytest.raises(SignInError) as refused:
        sign_in.reviewer({IAP_HEADER: assertion(signer, **claims)}, {})

    assert refused.value.status == status and words in refused.value.reason


def test_no_assertion_or_a_forged_one_is_401(iap):
    sign_in, _, _ = iap
    forger, _ = key_pair("iap-key-1")  # right key id, wrong key

    for headers in ({}, {IAP_HEADER: assertion(forger)}, {IAP_HEADER: "not.a.jwt"}):
        with pytest.raises(SignInError) as refused:
            sign_in.reviewer(headers, {})
        assert refused.value.status == 401


def test_the_dev_sign_in_refuses_to_exist_on_cloud_run():
    with pytest.raises(SettingsError, match="K_SERVICE"):
        DevSignIn(REVIEWERS, "secret", on_cloud_run=True)


def test_the_dev_sign_in_takes_only_its_own_signed_cookie_of_a_listed_reviewer():
    sign_in = DevSignIn(REVIEWERS, "secret")
    cookie = sign_in.cookie_for("ana@shop.example")

    assert sign_in.reviewer({}, {"catalogist_reviewer": cookie}) == "ana@shop.example"
    for cookies in (
        {},
        {"catalogist_reviewer": cookie + "x"},
        {"catalogist_reviewer": DevSignIn(REVIEWERS, "other").cookie_for("ana@shop.example")},
    ):
        with pytest.raises(SignInError):
            sign_in.reviewer({}, cookies)
    with pytest.raises(SignInError) as refused:
        sign_in.cookie_for("mallory@elsewhere.example")
    assert refused.value.status == 403


def test_a_csrf_token_belongs_to_one_reviewer_one_session_and_one_secret():
    token = csrf_token("secret", "ana@shop.example", "session-1")

    assert csrf_ok("secret", "ana@shop.example", "session-1", token)
    assert not csrf_ok("secret", "bo@shop.example", "session-1", token)
    assert not csrf_ok("secret", "ana@shop.example", "session-2", token)
    assert not csrf_ok("other", "ana@shop.example", "session-1", token)
    assert not csrf_ok("secret", "ana@shop.example", "session-1", None)
    assert not csrf_ok("secret", "ana@shop.example", "", csrf_token("secret", "ana@shop.example", ""))
