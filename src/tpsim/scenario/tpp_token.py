"""The built-in TPP's tokens from a simulated bank's OAuth 2.0 server, for every PSD2
dialect whose API takes a bearer token (UK Open Banking, STET): the token request's
parameters, the request itself, and what the TPP remembers of the answer; and, for every
PSD2 dialect, the step's header overrides (``overridden``) and the request sent with them
(``tpp_request``).

One TPP plays every dialect: the built-in config's ``tpp-one`` (secret
``tpp-one-secret``, redirect URIs under ``https://tpp.example/``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import Field

from tpsim.scenario.base import ScenarioModel
from tpsim.scenario.browser import FORM
from tpsim.scenario.harness import Answer
from tpsim.scenario.session import Session

CLIENT_ID = "tpp-one"
CLIENT_SECRET = "tpp-one-secret"  # noqa: S105 - the built-in config's TPP
REDIRECT = "https://tpp.example/cb"  # under tpp-one's registered redirect URIs
CLIENT, PSU = "client", "psu"  # the token words


class TokenParams(ScenarioModel):
    """``POST {base}/token``: a client-credentials token (sets ``${client_token}``), or,
    with ``code``, the code exchanged for the PSU's token (sets ``${psu_token}``). ``form``
    is merged into the form (null removes a field), to send any request. Each dialect
    names its own subclass (its default scope)."""

    bank: str = "dfspa"
    grant_type: str = "client_credentials"
    scope: str | None = Field(None, description="client_credentials: the scope")
    code: str | None = Field(None, description="authorization_code: the code (${auth_code})")
    redirect_uri: str = Field(REDIRECT, description="authorization_code: the redirect URI")
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    auth: Literal["basic", "post"] = Field(
        "basic", description="client_secret_basic or client_secret_post"
    )
    form: dict[str, str | None] = Field(default_factory=dict)


async def request_token(
    session: Session, params: TokenParams, base: str
) -> tuple[Answer, dict[str, Any]]:
    """``POST {base}/token`` as ``params`` say: the answer, and what was sent (for the
    step's report)."""
    form: dict[str, str | None] = {"grant_type": params.grant_type, "scope": params.scope}
    if params.grant_type == "authorization_code":
        form |= {"scope": None, "code": params.code, "redirect_uri": params.redirect_uri}
    headers = {"Content-Type": FORM}
    if params.auth == "basic":
        pair = f"{params.client_id}:{params.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form |= {"client_id": params.client_id, "client_secret": params.client_secret}
    sent = {k: v for k, v in (form | params.form).items() if v is not None}
    path = f"{base}/token"
    answer = await session.pisp.request(
        "POST",
        session.target.url + path,
        data=urlencode(sent).encode(),
        headers=headers,
    )
    return answer, {"method": "POST", "path": path, "headers": headers, "body": sent}


def overridden(
    sent: dict[str, str], overrides: Mapping[str, str | None]
) -> tuple[dict[str, str], list[str]]:
    """The built-in TPP's headers with a step's ``headers:`` applied (any casing; null
    removes one), and the names removed, which the HTTP client must not add back."""
    removed: list[str] = []
    for name, value in overrides.items():
        sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
        if value is None:
            removed.append(name)
        else:
            sent[name] = value
    return sent, removed


async def tpp_request(
    session: Session,
    method: str,
    path: str,
    body: Any,
    data: bytes | None,
    headers: tuple[dict[str, str], list[str]],
) -> tuple[Answer, dict[str, Any]]:
    """``data`` (the step's ``body``, encoded) sent to tpsim's ``path`` with ``headers``
    (``overridden``'s: sent, and removed): the answer, and what was sent for the step's
    report."""
    sent, removed = headers
    answer = await session.pisp.request(
        method,
        session.target.url + path,
        data=data,
        headers=sent,
        skip=removed,
    )
    return answer, {"method": method, "path": path, "headers": sent, "body": body}


def learn_token(
    session: Session,
    params: TokenParams,
    answer: Answer,
    *,
    client_tokens: dict[str, str],
    psu_tokens: dict[str, str],
    psu_for: Callable[[], str],
) -> None:
    """Remember the token ``answer`` gives: the bank's client token (``${client_token}``),
    or the PSU's for the resource ``psu_for()`` names (``${psu_token}``)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    token = body.get("access_token")
    if answer.status != 200 or not isinstance(token, str):
        return
    if params.grant_type == "client_credentials":
        client_tokens[params.bank] = token
        session.variables.set("client_token", token)
    elif params.grant_type == "authorization_code":
        psu_tokens[psu_for()] = token
        session.variables.set("psu_token", token)
