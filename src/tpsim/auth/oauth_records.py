"""Where the authorisation server keeps what it issued: pending authorisation requests,
codes, access and refresh tokens, and which tokens came from which grant.

Each is a ``core.records.Records`` of the bank's store, ended at its expiry, so it is
dropped ``retention`` later (an expired token is still told apart from an unknown one
meanwhile) and a store that outlives a restart keeps them. Codes and tokens are kept by
the SHA-256 of their value: a state file, a debugger or a log of the store shows no
bearer secret. Live records are bounded by their rate times their lifetime.

    {ns}/pending   pending id        PendingAuthorization
    {ns}/codes     sha256(code)      CodeGrant (kept once used, to catch its reuse)
    {ns}/access    sha256(token)     AccessToken
    {ns}/refresh   sha256(token)     RefreshGrant
    {ns}/grants    grant id          the record keys of every token issued from the grant
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tpsim.auth.oauth_model import AccessToken, CodeGrant, PendingAuthorization, RefreshGrant
from tpsim.core.records import Records

if TYPE_CHECKING:
    from tpsim.core.clock import Clock
    from tpsim.core.store import Store

__all__ = ["OAuthRecords", "key_of", "new_secret"]


def new_secret() -> str:
    """A code or token value: 256 random bits, base64url (RFC 6749 10.10 wants them
    unguessable, so not the injected id generator)."""
    return secrets.token_urlsafe(32)


def key_of(secret: str) -> str:
    """The key a code or token is kept under. A value a client sent may hold lone
    surrogates (a header's bytes that are no UTF-8, as the edge decodes them): they are
    hashed too, and match no secret tpsim made (the token is unknown), never an error."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class OAuthRecords:
    """The server's records of namespace ``ns`` in ``store`` (see the module docstring)."""

    def __init__(
        self, store: Store, ns: str, clock: Clock, *, retention: timedelta, max_ended: int
    ) -> None:
        def records(kind: str) -> Records[Any]:
            return Records(
                store, f"{ns}/{kind}", retention=retention, max_ended=max_ended, clock=clock
            )

        self.pending: Records[PendingAuthorization] = records("pending")
        self.codes: Records[CodeGrant] = records("codes")
        self.access: Records[AccessToken] = records("access")
        self.refresh: Records[RefreshGrant] = records("refresh")
        self._grants: Records[tuple[str, ...]] = records("grants")

    @staticmethod
    def keep(records: Records[Any], key: str, record: Any, until: datetime) -> None:
        """Keep ``record`` until ``until`` (and ``retention`` after)."""
        records.put(key, record)
        records.end(key, at=until)

    def issued(self, grant_id: str, access: str, refresh: str, until: datetime) -> None:
        """Tokens (record keys) issued from grant ``grant_id``: revoked with it."""
        before = self._grants.get(grant_id) or ()
        self.keep(self._grants, grant_id, (*before, access, refresh), until)

    def revoke(self, grant_id: str) -> None:
        """Forget every token issued from grant ``grant_id`` (a reused code, RFC 6749
        4.1.2)."""
        for key in self._grants.pop(grant_id) or ():
            self.access.drop(key)
            self.refresh.drop(key)
