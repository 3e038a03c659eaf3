"""Who calls the token endpoint: client authentication by ``client_secret_basic`` or
``client_secret_post`` (RFC 6749 2.3.1), or a public client naming itself (2.3, 3.2.1).

A client uses one method per request (RFC 6749 2.3): a secret in both the header and the
form, or in neither when the client has one, is refused. Every refusal is
``invalid_client`` with 401 and a Basic ``WWW-Authenticate`` challenge (RFC 6749 5.2 wants
it when the client tried Basic; HTTP wants it on every 401, RFC 9110 15.5.2).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus

from tpsim.auth.oauth_errors import OAuthError
from tpsim.auth.oauth_model import OAuthClient

__all__ = ["authenticate"]


def authenticate(
    clients: Mapping[str, OAuthClient],
    form: Mapping[str, str],
    authorization: str | None,
    *,
    realm: str,
) -> OAuthClient:
    """The client that sends ``form`` with the ``Authorization`` header ``authorization``,
    or ``OAuthError`` invalid_client."""
    challenge = f'Basic realm="{realm}"'
    basic = None if authorization is None else _basic(authorization, challenge)
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and posted_secret is not None:
        raise _refused(
            "send the client secret once: in the Authorization header or in the form, not both",
            challenge,
        )
    if basic is not None and posted_id is not None and posted_id != basic[0]:
        raise _refused(
            "client_id in the form is not the client of the Authorization header", challenge
        )
    client_id, secret = basic if basic is not None else (posted_id, posted_secret)
    if not client_id:
        raise _refused(
            "authenticate the client: HTTP Basic with client_id and client_secret, or both in"
            " the form",
            challenge,
        )
    client = clients.get(client_id)
    if client is None:
        raise _refused(
            f"client_id {client_id!r} is not a client registered at this bank", challenge
        )
    _check_secret(client, secret, challenge)
    return client


def _check_secret(client: OAuthClient, secret: str | None, challenge: str) -> None:
    if client.client_secret is None:
        if secret:
            raise _refused(
                f"client {client.client_id} is a public client: send client_id without a secret",
                challenge,
            )
        return
    if secret is None:
        raise _refused(
            f"client {client.client_id} has a secret: send it (HTTP Basic or client_secret)",
            challenge,
        )
    if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
        raise _refused(f"wrong client_secret for client {client.client_id}", challenge)


def _basic(authorization: str, challenge: str) -> tuple[str, str]:
    """(client id, secret) of a Basic header: each form-urlencoded before the base64
    (RFC 6749 2.3.1), so a secret may hold a colon."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _refused(
            f"the token endpoint takes HTTP Basic client authentication, not {scheme!r}",
            challenge,
        )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _refused(
            "the Authorization header is not Basic base64(client_id:client_secret)", challenge
        )
    return unquote_plus(client_id), unquote_plus(secret)


def _refused(description: str, challenge: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401, www_authenticate=challenge)
