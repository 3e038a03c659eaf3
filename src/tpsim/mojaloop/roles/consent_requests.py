"""A simulated DFSP's consent requests (linking patterns §3.3-3.4, §5.2-5.3; digest §2.2, §4.5).

    POST  /consentRequests       scopes, callbackUri and channels checked → PUT
                                 /consentRequests/{ID} WEB (authUri: tpsim's login page) or
                                 OTP (sent "by SMS": journaled out-of-band, admin API)
    login page (roles/psu.py)    approve → a secret in the redirect to the callbackUri;
                                 deny → PUT /consentRequests/{ID}/error 6102 at once
    PATCH /consentRequests/{ID}  the right authToken in time → grant (POST /consents,
                                 roles/linking.py); wrong → 6203 with the attempts left;
                                 expired or too many → 6203 and the request is closed
                                 (reference: the first wrong one, 7205, as thirdparty-sdk)
    GET   /consentRequests/{ID}  PUT /consentRequests/{ID} as it stands, or its error

A rule (``Message.rule``, issue 15) that matched the ``POST`` may force the channel and fix
the OTP or WEB secret; one that matched the ``POST`` or the ``PATCH`` may fix the consentId
the grant issues.

Every step is one transition of its table (``roles/states.py``); terminal states are final
and checked only in ``ConsentRequest.advance``, which re-raises the error that ended the
request. A repeated ``POST`` is answered from ``core.idempotency`` (FSPIOP §3.2.5).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tpsim.auth.psu import MAX_WRONG_PASSWORDS, WrongPassword
from tpsim.config_settings import LinkingConfig, Profile
from tpsim.core.bank import User
from tpsim.core.errors import KeyReused
from tpsim.core.idempotency import Idempotency
from tpsim.core.records import Records, evolvable
from tpsim.core.rules import MessageOutcome
from tpsim.core.states import next_state
from tpsim.errors import LoginRefused
from tpsim.mojaloop.errors import (
    BadCallbackUri,
    ConsentNotGranted,
    ConsentRequestNotFound,
    FspiopError,
    InvalidAuthToken,
    ModifiedRequest,
    UnsupportedAuthChannels,
    UnsupportedScopes,
)
from tpsim.mojaloop.message import Effects, Message, make_headers
from tpsim.mojaloop.roles.callback_uri import callback_uri_problem, with_query
from tpsim.mojaloop.roles.common import format_datetime
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.state import Account
from tpsim.mojaloop.roles.states import (
    CONSENT_REQUEST_TERMINAL,
    CONSENT_REQUEST_TRANSITIONS,
    CrEvent,
    CrState,
)
from tpsim.mojaloop.wire.models.linking import (
    ConsentRequestChannelType,
    ConsentRequestsIDPatchRequest,
    ConsentRequestsPostRequest,
)


class Grant(Protocol):
    """Issue the consent of a granted request (``Linking.grant``): ``POST /consents``."""

    def __call__(
        self,
        pisp: str,
        consent_request_id: str,
        scopes: list[dict[str, Any]],
        *,
        consent_id: str | None = None,
    ) -> Effects: ...


@evolvable  # kept in --state files: fields added since read back at their defaults
@dataclass(slots=True)
class ConsentRequest:
    request_id: str
    pisp: str
    request: ConsentRequestsPostRequest  # POST /consentRequests as received
    # As sent (echoed byte for byte in PUT /consentRequests/{ID}), then as the user approved
    # them: the scopes the consent is granted for and the credential signs.
    scopes: list[dict[str, Any]]
    state: CrState = CrState.RECEIVED
    channel: ConsentRequestChannelType | None = None
    token: str | None = None  # the OTP or web secret the PATCH must carry
    expires_at: datetime | None = None
    attempts: int = 0
    wrong_passwords: int = 0  # on the login page (``auth.psu.MAX_WRONG_PASSWORDS``)
    ended: FspiopError | None = None
    # Fixed by a rule: the OTP or WEB secret to issue, the consentId to grant.
    secret: str | None = None
    consent_id: str | None = None

    @property
    def user_id(self) -> str:
        return self.request.userId

    @property
    def callback_uri(self) -> str:
        return self.request.callbackUri

    def advance(self, event: CrEvent) -> None:
        """Apply ``event`` or raise: a closed request re-raises the error that closed it."""
        self.state = next_state(
            CONSENT_REQUEST_TRANSITIONS,
            CONSENT_REQUEST_TERMINAL,
            self.state,
            event,
            what=f"consent request {self.request_id}",
            ended=self.ended,
        )


@dataclass(frozen=True, slots=True)
class LoginView:
    """What the login page shows: who asks whom for which accounts."""

    request_id: str
    dfsp: str
    pisp: str
    user_id: str
    user_name: str
    state: CrState
    accounts: list[tuple[dict[str, Any], Account | None]]  # (scope, the account)


class PasswordsExhausted(WrongPassword):
    """The last wrong password allowed: the request is closed; ``effects`` tell the PISP."""

    def __init__(self, redirect: str, effects: Effects) -> None:
        detail = f"{MAX_WRONG_PASSWORDS} wrong passwords: the request is denied"
        super().__init__(detail, left=0, redirect=redirect)
        self.effects = effects


class ConsentRequests:
    """Consent requests of one simulated DFSP; ``grant`` issues the consent."""

    def __init__(self, ctx: RoleContext, grant: Grant) -> None:
        self.ctx = ctx
        self._grant = grant
        # Forgotten the retention after they end, or after their OTP or secret expired.
        self._requests: Records[ConsentRequest] = ctx.records("consent-requests")
        # (source, body as sent) of each request id, and the last callback it was given.
        self._seen: Idempotency[Message] = Idempotency(ctx.records("consent-requests-seen"))

    @property
    def _settings(self) -> LinkingConfig:
        return self.ctx.config.behaviour.linking

    # -- POST / GET /consentRequests --------------------------------------------------

    def post(self, message: Message, params: dict[str, str]) -> Effects:
        request: ConsentRequestsPostRequest = message.model()
        repeated = self._repeated(request.consentRequestId, message)
        if repeated is not None:
            return repeated
        scopes = list((message.body or {})["scopes"])
        req = ConsentRequest(request.consentRequestId, message.source, request, scopes)
        rule = _outcome(message)
        req.secret, req.consent_id = rule.secret, rule.consent_id
        self._requests.put(req.request_id, req)
        try:
            channel = self._check(req, forced=rule.channel)
        except FspiopError as exc:
            req.advance(CrEvent.INVALID)
            return self._end(req, exc)
        req.channel = channel
        if channel is ConsentRequestChannelType.WEB:
            req.advance(CrEvent.WEB)
            # A user who never comes to the login page does not keep the request for ever.
            waits = timedelta(seconds=self._settings.web.secret_ttl_s)
            self._forget(req, at=self.ctx.clock.now() + waits)
            return self._answer(req)
        req.advance(CrEvent.OTP)
        req.token = req.secret or self._settings.otp.fixed or f"{secrets.randbelow(10**6):06d}"
        req.expires_at = self.ctx.clock.now() + timedelta(seconds=self._settings.otp.ttl_s)
        self._forget(req, at=req.expires_at)
        effects = self._answer(req)
        effects.out_of_band.append(self._note(req, "SMS", {"otp": req.token}))
        return effects

    def get(self, message: Message, params: dict[str, str]) -> Effects:
        req = self._own(params["ID"], message.source)
        if req.ended is not None:
            return Effects(messages=[self._error(req, req.ended)])
        return Effects(messages=[self._put(req)])

    def _repeated(self, request_id: str, message: Message) -> Effects | None:
        """FSPIOP §3.2.5: the same request again gets the last callback again; another
        request under the same id is refused. None for a request not seen before."""
        try:
            seen = self._seen.check(
                request_id, (message.source, message.body), now=self.ctx.clock.now()
            )
        except KeyReused:
            raise ModifiedRequest(
                f"consent request {request_id} was already received with a different"
                " body; use a new consentRequestId"
            ) from None
        if seen is None:
            return None
        return Effects(messages=[seen.answer] if seen.answer else [])

    def _check(self, req: ConsentRequest, *, forced: str | None) -> ConsentRequestChannelType:
        """The channel to authenticate over, or the coded reason to refuse the request."""
        self._check_scopes(req)
        problem = callback_uri_problem(req.callback_uri, self._settings.callback_uri_allowlist)
        if problem is not None:
            raise BadCallbackUri(problem, field="callbackUri")
        if forced is not None:
            # A rule's channel is used even when the PISP did not offer it: a sandbox rule
            # exists to make the DFSP do what a test needs (issue 15).
            return ConsentRequestChannelType(forced)
        offered = self._channels(req.user_id)
        channel = next((c for c in offered if c in req.request.authChannels), None)
        if channel is None:
            raise UnsupportedAuthChannels(
                f"{self.ctx.fsp_id} authenticates {req.user_id} over {', '.join(offered)} only",
                field="authChannels",
            )
        return ConsentRequestChannelType(channel)

    def _check_scopes(self, req: ConsentRequest) -> None:
        """Every scope names an account of the user here and actions this DFSP grants."""
        mine = {a.address for a in self.ctx.state.accounts.held_by(self.ctx.fsp_id, req.user_id)}
        supported = self._settings.scope_actions
        for i, scope in enumerate(req.request.scopes):
            if scope.address not in mine:
                raise UnsupportedScopes(
                    f"{scope.address} is not an account of {req.user_id} at {self.ctx.fsp_id}",
                    field=f"scopes.{i}.address",
                )
            refused = [a.value for a in scope.actions if a not in supported]
            if refused:
                raise UnsupportedScopes(
                    f"{self.ctx.fsp_id} does not grant {', '.join(refused)};"
                    f" it grants {', '.join(supported)}",
                    field=f"scopes.{i}.actions",
                )

    def _channels(self, user_id: str) -> list[str]:
        user = self._user(user_id)
        if user is not None and user.channels:
            return list(user.channels)
        return list(self._settings.auth_channels)

    # -- PATCH /consentRequests/{ID} ----------------------------------------------------

    def patch(self, message: Message, params: dict[str, str]) -> Effects:
        req = self._own(params["ID"], message.source)
        patch: ConsentRequestsIDPatchRequest = message.model()
        req.consent_id = _outcome(message).consent_id or req.consent_id
        self._approved_by_rule(req, patch.authToken)
        event, error = self._judge(req, patch.authToken)
        if event is CrEvent.ACCEPTED:
            # Issued first: a rule's consent_id already issued is refused while the request
            # still waits (never GRANTED without a consent behind it).
            granted = self._grant(req.pisp, req.request_id, req.scopes, consent_id=req.consent_id)
            req.advance(event)
            self._forget(req, at=self.ctx.clock.now())
            return granted
        req.advance(event)
        assert error is not None  # noqa: S101 - every other verdict carries its error
        req.attempts += 1
        if event is CrEvent.REFUSED:
            return Effects(messages=[self._error(req, error)])
        return self._end(req, error)

    def _approved_by_rule(self, req: ConsentRequest, token: str) -> None:
        """A WEB secret fixed by a rule, sent before anyone signed in, stands for the
        user's approval of every requested account: Mojaloop's hub test collection sends
        its fixed secret without a browser (issue 15)."""
        if req.state is not CrState.AUTHENTICATING or req.secret is None:
            return
        if not hmac.compare_digest(token.encode(), req.secret.encode()):
            return
        req.advance(CrEvent.APPROVED)
        req.token = req.secret
        req.expires_at = self.ctx.clock.now() + timedelta(seconds=self._settings.web.secret_ttl_s)

    @property
    def _attempts_allowed(self) -> int:
        """How many authTokens a request may be sent. The reference DFSP (thirdparty-sdk
        ``dfspLinking.model.ts`` ``onValidateAuthToken``) fails the request on the first
        wrong one with 7205 (digest §2.2 #5)."""
        if self.ctx.profile is Profile.REFERENCE:
            return 1
        return self._settings.max_attempts

    def _judge(self, req: ConsentRequest, token: str) -> tuple[CrEvent, InvalidAuthToken | None]:
        what = "OTP" if req.channel is ConsentRequestChannelType.OTP else "secret"
        if req.token is not None and req.expires_at is not None:
            if self.ctx.clock.now() >= req.expires_at:
                return CrEvent.EXPIRED, InvalidAuthToken(
                    f"the {what} expired at {format_datetime(req.expires_at)};"
                    " start again with a new consent request",
                    field="authToken",
                )
            if hmac.compare_digest(token.encode(), req.token.encode()):
                return CrEvent.ACCEPTED, None
        why = f"wrong {what}" if req.token is not None else "the user has not signed in yet"
        allowed = self._attempts_allowed
        left = allowed - req.attempts - 1
        if left <= 0:
            times = f", {allowed} times" if allowed > 1 else ""
            closed = f"{why}{times}: the consent request is closed"
            return CrEvent.LOCKED, InvalidAuthToken(closed, field="authToken")
        return CrEvent.REFUSED, InvalidAuthToken(
            f"{why}; {left} attempt(s) left", field="authToken"
        )

    # -- the login page ------------------------------------------------------------------

    def login_view(self, request_id: str) -> LoginView:
        req = self._find(request_id)
        user = self._user(req.user_id)
        accounts = self.ctx.state.accounts
        return LoginView(
            request_id=req.request_id,
            dfsp=self.ctx.fsp_id,
            pisp=req.pisp,
            user_id=req.user_id,
            user_name=(user.name if user and user.name else req.user_id),
            state=req.state,
            accounts=[(s, accounts.get(s["address"])) for s in req.scopes],
        )

    def approve(self, request_id: str, password: str, addresses: list[str]) -> tuple[str, Effects]:
        """The user signed in and approved ``addresses``: the redirect URL and what to journal."""
        req = self._open(request_id)
        expected = self._password(req.user_id)
        if not hmac.compare_digest(password.encode(), expected.encode()):
            raise self._wrong_password(req)
        chosen = [s for s in req.scopes if s["address"] in addresses]
        if not chosen:
            raise LoginRefused("choose at least one account to link", http_status=400)
        req.advance(CrEvent.APPROVED)
        req.scopes = chosen
        req.token = req.secret or secrets.token_urlsafe(24)
        req.expires_at = self.ctx.clock.now() + timedelta(seconds=self._settings.web.secret_ttl_s)
        self._forget(req, at=req.expires_at)
        url = with_query(
            req.callback_uri, {"consentRequestId": req.request_id, "secret": req.token}
        )
        return url, Effects(out_of_band=[self._note(req, "REDIRECT", {"location": url})])

    def _wrong_password(self, req: ConsentRequest) -> WrongPassword:
        """Count a wrong password; the last one allowed closes the request as a denial
        would (the PISP gets 6102), the refusal carrying the redirect and its effects."""
        req.wrong_passwords += 1
        left = MAX_WRONG_PASSWORDS - req.wrong_passwords
        self._requests.put(req.request_id, req)
        if left > 0:
            return WrongPassword(f"wrong password; {left} attempt(s) left", left=left)
        url, effects = self._closed(
            req, CrEvent.LOCKED, f"{MAX_WRONG_PASSWORDS} wrong passwords on the login page"
        )
        return PasswordsExhausted(url, effects)

    def deny(self, request_id: str) -> tuple[str, Effects]:
        """The user denied: the request ends and the PISP is told at once (6102)."""
        return self._closed(
            self._open(request_id), CrEvent.DENIED, "the user denied the consent request"
        )

    def _closed(self, req: ConsentRequest, event: CrEvent, why: str) -> tuple[str, Effects]:
        """End ``req`` at the login page (denied, or too many wrong passwords): the PISP is
        told at once (6102), the browser goes back with ``error=access_denied``."""
        req.advance(event)
        effects = self._end(req, ConsentNotGranted(why))
        url = with_query(
            req.callback_uri, {"consentRequestId": req.request_id, "error": "access_denied"}
        )
        effects.out_of_band.append(self._note(req, "REDIRECT", {"location": url}))
        return url, effects

    def _open(self, request_id: str) -> ConsentRequest:
        req = self._find(request_id)
        if req.state is not CrState.AUTHENTICATING:
            raise LoginRefused(
                f"consent request {request_id} is not waiting for a sign-in (it is"
                f" {req.state.value})",
                http_status=409,
            )
        return req

    def _password(self, user_id: str) -> str:
        user = self._user(user_id)
        return user.password if user and user.password else self._settings.web.password

    # -- the admin API -----------------------------------------------------------------

    def otp(self, request_id: str) -> dict[str, Any] | None:
        """The OTP of an OTP consent request as the user received it (None otherwise)."""
        req = self._requests.get(request_id)
        if req is None or req.expires_at is None:
            return None
        if req.channel is not ConsentRequestChannelType.OTP:
            return None
        return {
            "consentRequestId": req.request_id,
            "fspId": self.ctx.fsp_id,
            "userId": req.user_id,
            "otp": req.token,
            "expiresAt": format_datetime(req.expires_at),
            "attemptsLeft": max(self._attempts_allowed - req.attempts, 0),
            "state": req.state.value,
        }

    def withdraw(self, cause: str) -> list[str]:
        """End each request still open, FAILED with ``cause``, telling nobody: tpsim no
        longer plays this DFSP (a restart's config). The ids of those ended."""
        ended, now = [], self.ctx.clock.now()
        for req in [r for r in self._requests if r.state not in CONSENT_REQUEST_TERMINAL]:
            req.advance(CrEvent.WITHDRAWN)
            req.ended = ConsentNotGranted(f"{cause}: link the accounts again")
            self._requests.put(req.request_id, req)
            self._forget(req, at=now)
            ended.append(req.request_id)
        return ended

    # -- helpers -------------------------------------------------------------------------

    def _find(self, request_id: str) -> ConsentRequest:
        req = self._requests.get(request_id)
        if req is None:
            raise ConsentRequestNotFound(f"{self.ctx.fsp_id} has no consent request {request_id}")
        return req

    def _own(self, request_id: str, pisp: str) -> ConsentRequest:
        req = self._requests.get(request_id)
        if req is None or req.pisp != pisp:
            raise ConsentRequestNotFound(
                f"{self.ctx.fsp_id} has no consent request {request_id} from {pisp}"
            )
        return req

    def _user(self, user_id: str) -> User | None:
        return self.ctx.state.bank.user(self.ctx.fsp_id, user_id)

    def _answer(self, req: ConsentRequest) -> Effects:
        return self._last(req, self._put(req))

    def _end(self, req: ConsentRequest, error: FspiopError) -> Effects:
        req.ended = error
        return self._last(req, self._error(req, error))

    def _last(self, req: ConsentRequest, callback: Message) -> Effects:
        """Send ``callback``, the one a repeat of the POST gets from now on; a request
        that has ended is forgotten once the retention has passed."""
        self._seen.answer(req.request_id, callback)
        if req.state in CONSENT_REQUEST_TERMINAL:
            self._forget(req, at=self.ctx.clock.now())
        return Effects(messages=[callback])

    def _forget(self, req: ConsentRequest, *, at: datetime) -> None:
        """Forget ``req`` (and the POST that made it) the retention after ``at``: when it
        ended, or when its OTP or secret expires unused."""
        self._seen.end(req.request_id, at=at)
        self._requests.end(req.request_id, at=at)

    def _put(self, req: ConsentRequest) -> Message:
        assert req.channel is not None  # noqa: S101 - chosen before the first PUT
        body: dict[str, Any] = {
            "scopes": req.scopes,
            "authChannels": [req.channel.value],
            "callbackUri": req.callback_uri,
        }
        if req.channel is ConsentRequestChannelType.WEB:
            body["authUri"] = f"{self.ctx.public_url}/login/{self.ctx.fsp_id}/{req.request_id}"
        return self.ctx.message("PUT", f"/consentRequests/{req.request_id}", to=req.pisp, body=body)

    def _error(self, req: ConsentRequest, error: FspiopError) -> Message:
        return self.ctx.error(f"/consentRequests/{req.request_id}", error, to=req.pisp)

    def _note(self, req: ConsentRequest, kind: str, body: dict[str, Any]) -> Message:
        """What the DFSP tells its user outside the API (journaled, never sent)."""
        headers = make_headers(
            {"FSPIOP-Source": self.ctx.fsp_id, "FSPIOP-Destination": req.user_id}
        )
        note = {"consentRequestId": req.request_id, **body}
        if req.expires_at is not None:
            note["expiresAt"] = format_datetime(req.expires_at)
        return Message(kind, f"/users/{req.user_id}", headers, note)


_NO_RULE = MessageOutcome()


def _outcome(message: Message) -> MessageOutcome:
    """What a rule that matched ``message`` asks of this DFSP (nothing when none did)."""
    return message.rule.outcome if message.rule is not None else _NO_RULE
