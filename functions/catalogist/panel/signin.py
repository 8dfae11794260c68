"""Who is asking, before anything else is served: the reviewer (IAP, or the dev sign-in page on a
developer's machine), the browser session, and the CSRF token every POST must carry. Static
assets need no sign-in (the sign-in page has its style); nothing else is served without one."""

from __future__ import annotations

from typing import Any

import flask

from catalogist.panel import words
from catalogist.panel.auth import (
    CSRF_HEADER,
    DEV_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    DevSignIn,
    SignInError,
    csrf_ok,
    csrf_token,
    new_session,
    session_of,
)
from catalogist.panel.context import context, refusal

blueprint = flask.Blueprint("signin", __name__)
OPEN = ("signin.signin", "signin.health", "static")


@blueprint.before_app_request
def signed_in() -> Any:
    if flask.request.endpoint in OPEN:
        return None
    panel = context()
    try:
        headers = {name.lower(): value for name, value in flask.request.headers.items()}
        flask.g.reviewer = panel.sign_in.reviewer(headers, flask.request.cookies)
    except SignInError as refused:
        page = flask.request.method == "GET" and not flask.request.path.startswith("/api/")
        if refused.status == 401 and isinstance(panel.sign_in, DevSignIn) and page:
            return flask.redirect(flask.url_for("signin.signin", next=flask.request.full_path))
        return refusal(refused.status, refused.reason)
    secret = panel.panel.panel_secret
    flask.g.session_id = session_of(secret, flask.request.cookies.get(SESSION_COOKIE, ""))
    if flask.request.method == "POST":
        presented = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get("csrf")
        if not csrf_ok(secret, flask.g.reviewer, flask.g.session_id, presented):
            return refusal(403, "the form is stale or came from another site: reload the page")
    elif not flask.g.session_id:
        flask.g.session_id, flask.g.new_session_cookie = new_session(secret)
    return None


@blueprint.after_app_request
def session_cookie(response: flask.Response) -> flask.Response:
    cookie = getattr(flask.g, "new_session_cookie", "")
    if cookie:
        secure = not isinstance(context().sign_in, DevSignIn)  # behind IAP the panel is only ever HTTPS
        response.set_cookie(
            SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="Strict", secure=secure
        )
    return response


@blueprint.app_context_processor
def page_context() -> dict[str, Any]:
    reviewer = getattr(flask.g, "reviewer", "")
    session_id = getattr(flask.g, "session_id", "")
    secret = context().panel.panel_secret
    csrf = csrf_token(secret, reviewer, session_id) if reviewer and session_id else ""
    return {"reviewer": reviewer, "csrf": csrf, "kinds": words.KINDS}


@blueprint.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    sign_in = context().sign_in
    if not isinstance(sign_in, DevSignIn):
        return refusal(404, "sign in through Identity-Aware Proxy")
    if flask.request.method == "POST":
        email = flask.request.form.get("email", "").strip().lower()
        try:
            cookie = sign_in.cookie_for(email)
        except SignInError as refused:
            return refusal(refused.status, refused.reason)
        target = flask.request.form.get("next") or "/"
        response = flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")
        response.set_cookie(DEV_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="Strict")
        # a new session at every sign-in: a CSRF token of the one before is worth nothing now
        _, session = new_session(context().panel.panel_secret)
        response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, httponly=True, samesite="Strict")
        return response
    return flask.render_template(
        "signin.html", reviewers=sorted(sign_in.reviewers), next=flask.request.args.get("next", "/")
    )


@blueprint.get("/health")
def health() -> Any:
    return {"ok": True}
