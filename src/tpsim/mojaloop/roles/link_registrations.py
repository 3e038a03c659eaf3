"""A simulated DFSP's THIRD_PARTY_LINK entries at the ALS: registered for each consent its
auth-service verified, removed when the consent ends (linking patterns §3.6, §4; digest
§2.2). ``roles/linking.py`` owns one and calls it; the consents are ``roles/consent_book.py``'s.

    VERIFIED (linking.py: ``register``)      POST /participants/THIRD_PARTY_LINK/{address}
                                             per scope → ALS
    PUT /participants/THIRD_PARTY_LINK/{a}   all answered → PATCH /consents/{ID} VERIFIED
    PUT /participants/THIRD_PARTY_LINK/{a}/error
                                             the consent fails: PUT /consents/{ID}/error
                                             6000 (reference 7214) → PISP; PATCH
                                             /consents/{ID} REVOKED → the auth-service
    none in registration_timeout_s           the same failure (``give_up``; linking.py's
                                             timer, or its recovery after a restart)
    every revocation (linking.py: ``remove``)
                                             DELETE /participants/THIRD_PARTY_LINK/{a} → ALS
                                             for each link made, and for each the ALS
                                             confirms later

The ALS answers ``POST`` and ``DELETE /participants/THIRD_PARTY_LINK/{address}`` alike with
``PUT /participants/THIRD_PARTY_LINK/{address}`` (fspId empty for a deletion) or its
``/error``, which names no request; the hub's ALS only (anyone else is refused 3200). The
requests this DFSP has yet to hear answered are kept per address, oldest first (kind
``{fspId}/link-requests``: ``(method, consentId, sent at)``), and each answer is the oldest
one's, each registration answered in the order it was sent.
A refused deletion belongs to the consent whose links were being removed, never to another
consent linking the same account meanwhile. The ALS holds one entry per address, so a link
is removed only when no other live consent of this DFSP links the same account.

An answer may be lost (a rule's ``drop``; a restart while a rule's ``delay_s`` held it) or
come after later ones, so the oldest registration is not always the one answered. A
confirmation naming this DFSP says, whichever registration it answers, that the ALS now
holds the address for this DFSP: every consent linking the address has that link made, and
the link is removed again when it answers a registration this DFSP sent and no live
consent of this DFSP holds the address (they ended while the ALS registered it). It is
taken for the oldest registration a linking consent awaits, else for the oldest of any: the
registration a lost answer leaves unanswered is a dead consent's, not a live one's. A
request no answer came for is forgotten once ``registration_timeout_s + retention_s`` old
(as the consent that failed for want of it is), when the address is next asked about: the
ALS takes that later request after it, so the later one's answer decides, and an answer to
a request forgotten (or to none) is ignored. The requests are durable records: after a
restart the consents still linking are given up (``linking.py``; the answers a rule was
delaying died with the process), and the registrations they sent stay awaited without
standing in the way of the next consents'.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tpsim.core.records import Records
from tpsim.mojaloop.errors import AccountLinksNotRegistered
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import downstream_error
from tpsim.mojaloop.roles.consent_book import ConsentBook, links_sent, path, unique
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.states import LinkEvent, LinkState
from tpsim.mojaloop.wire.models.common import PartyIdType
from tpsim.mojaloop.wire.models.linking import CredentialStatus

_LINK = PartyIdType.THIRD_PARTY_LINK.value
# An ALS request awaiting its answer: (method, consentId, when it was sent).
Request = tuple[str, str, datetime]
_UNDATED = datetime.min.replace(tzinfo=UTC)  # a request kept by a tpsim that did not date them


class LinkRegistrations:
    """The THIRD_PARTY_LINK requests one simulated DFSP sends the ALS, and their answers."""

    def __init__(self, ctx: RoleContext, book: ConsentBook) -> None:
        self.ctx, self.book = ctx, book
        # Per address, the ALS requests not answered yet, oldest first.
        self._asked: Records[tuple[Request, ...]] = ctx.records("link-requests")

    def register(self, consent: Consent) -> list[Message]:
        """``POST /participants/THIRD_PARTY_LINK/{address}`` to the ALS for each address
        ``consent`` awaits (its ``pending`` ones, set when it was verified)."""
        return [self._ask("POST", address, consent.consent_id) for address in consent.pending]

    def remove(self, consent: Consent) -> list[Message]:
        """The ALS deletions of the links made for ``consent`` (revoked): a link the ALS has
        yet to confirm stays ``pending``, and is deleted once it is (``put_participant``)."""
        return self._unlinks(consent, _made(consent))

    # -- PUT /participants/THIRD_PARTY_LINK/{address} → PATCH VERIFIED -----------------

    def put_participant(self, message: Message, params: dict[str, str]) -> Effects:
        self.ctx.check_from_als(message, params)
        if params["Type"] != PartyIdType.THIRD_PARTY_LINK:
            return Effects()  # nothing of ours
        address = params["ID"]
        fsp_id = (message.body or {}).get("fspId")
        if not fsp_id:
            # A deletion confirmed (its fspId left empty): nothing more to do.
            self._answered(address, "DELETE")
            return Effects()
        request = self._answered(address, "POST")
        if fsp_id != self.ctx.fsp_id:
            return Effects()  # the ALS holds the address for another DFSP: no link of ours
        return Effects(messages=self._held(address, request))

    def _held(self, address: str, request: Request | None) -> list[Message]:
        """The ALS holds ``address`` for this DFSP (it confirmed ``request``): the link is
        made for every consent linking the address, each linked once it awaits no other
        (``PATCH`` VERIFIED to its PISP), and for ``request``'s consent if it ended
        meanwhile; a registration this DFSP asked for is removed again when no live
        consent holds it."""
        answered = self._registering(request, address)
        if answered is not None and answered.finalised:  # revoked, or failed, meanwhile
            answered.pending.remove(address)
            self.book.keep(answered)
        messages = []
        for consent in self._linking(address):
            consent.pending.remove(address)
            self.book.keep(consent)  # changed: keep it again
            if consent.pending:
                continue
            consent.advance(LinkEvent.LINKED)
            patch = {"credential": {"status": CredentialStatus.VERIFIED.value}}
            messages.append(self.ctx.message("PATCH", path(consent), to=consent.pisp, body=patch))
        if request is not None and not self._kept(address):
            messages.append(self._ask("DELETE", address, request[1]))
        return messages

    def put_participant_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The ALS refused a THIRD_PARTY_LINK: the consent awaiting it fails, the PISP is
        told (7214 under the reference profile) and the links already made are removed.
        A refused deletion leaves nothing to undo (the journal holds it): it is the oldest
        request about the address, and its consent ended already; another consent
        registering the same address meanwhile is not the one refused."""
        self.ctx.check_from_als(message, params)
        if params["Type"] != PartyIdType.THIRD_PARTY_LINK:
            return Effects()
        consent = self._registering(self._answered(params["ID"], None), params["ID"])
        if consent is None:
            return Effects()
        if consent.finalised:  # revoked or failed meanwhile; this link was never made
            consent.pending.remove(params["ID"])
            self.book.keep(consent)
            return Effects()
        consent.advance(LinkEvent.REFUSED)
        linked = _made(consent)
        # The links still awaited are deleted as the ALS confirms them (put_participant).
        consent.pending.remove(params["ID"])
        consent.ended = downstream_error(AccountLinksNotRegistered, "the ALS", message)
        told = self.book.error(consent, consent.ended)
        # The refused address too when the ALS (the hub's: tpsim's own) names this DFSP
        # for it: made for a consent revoked meanwhile, and kept for this one (_unlinks).
        refused = params["ID"]
        if self.ctx.state.oracle.get((_LINK, refused)) == self.ctx.fsp_id:
            linked.append(refused)
        return Effects(messages=[told, *self._undo(consent, linked)])

    def give_up(self, consent: Consent, why: str) -> list[Message]:
        """Stop waiting for the ALS to confirm ``consent``'s links (``why``: no answer in
        time, or tpsim restarted): it fails as when the ALS refuses one, the PISP told
        (6000, reference 7214), and the links undone (``abandon``). A confirmation coming
        later removes its link unless a live consent holds it, and the confirmation of
        another consent linking the same account is that consent's (``put_participant``)."""
        consent.advance(LinkEvent.REFUSED)
        consent.ended = AccountLinksNotRegistered(
            f"the ALS did not confirm THIRD_PARTY_LINK {', '.join(consent.pending)} of consent"
            f" {consent.consent_id} ({why}): link the accounts again"
        )
        return [self.book.error(consent, consent.ended), *self.abandon(consent)]

    def abandon(self, consent: Consent) -> list[Message]:
        """``consent`` failed (abandoned, or not confirmed in time) while the ALS
        registered its links: what undoes them (``_undo``)."""
        return self._undo(consent, _made(consent))

    def _undo(self, consent: Consent, linked: list[str]) -> list[Message]:
        """``consent``, failed while its links were being made, is unpublished (the payer
        side must not find a consent that never linked), its ``linked`` addresses removed
        from the ALS (those still awaited once it confirms them: ``put_participant``), and
        the auth-service, which holds it verified, told it is revoked: neither may go on."""
        self.book.unpublish(consent)
        messages = self._unlinks(consent, linked)
        now = self.ctx.clock.now()
        messages.append(self.book.revocation(consent, consent.auth_service, at=now))
        return messages

    # -- the requests awaiting the ALS's answer -----------------------------------------

    def _unlinks(self, consent: Consent, addresses: list[str]) -> list[Message]:
        """``DELETE /participants/THIRD_PARTY_LINK/{address}`` to the ALS for each of
        ``addresses`` that no other live consent of ours links: the ALS holds one entry per
        address, which a consent of another PISP to the same account still needs."""
        return [
            self._ask("DELETE", address, consent.consent_id)
            for address in addresses
            if not self._kept(address, but=consent.consent_id)
        ]

    def _kept(self, address: str, *, but: str = "") -> bool:
        """Whether a live consent of this DFSP (other than ``but``) links ``address``."""
        return any(
            c.dfsp == self.ctx.fsp_id and c.consent_id != but and links_sent(c)
            for _, c in self.ctx.state.consents.covering(address)
        )

    def _linking(self, address: str) -> list[Consent]:
        """This DFSP's consents linking ``address``, in the order they were first kept."""
        covering = sorted(self.ctx.state.consents.covering(address), key=lambda found: found[0])
        return [
            c
            for _, c in covering
            if c.dfsp == self.ctx.fsp_id and c.state is LinkState.LINKING and address in c.pending
        ]

    def _ask(self, method: str, address: str, consent_id: str) -> Message:
        """``method /participants/THIRD_PARTY_LINK/{address}`` to the ALS for consent
        ``consent_id`` (POST registers this DFSP, DELETE removes it), kept until the ALS
        answers it; the requests about ``address`` no answer came for in
        ``registration_timeout_s + retention_s`` are forgotten meanwhile."""
        now = self.ctx.clock.now()
        behaviour = self.ctx.config.behaviour
        wait = behaviour.linking.registration_timeout_s + behaviour.retention_s
        since = now - timedelta(seconds=wait)
        awaited = [r for r in self._requests(address) if r[2] > since]
        self._keep(address, [*awaited, (method, consent_id, now)])
        body = {"fspId": self.ctx.fsp_id} if method == "POST" else None
        return self.ctx.message(
            method,
            f"/participants/{_LINK}/{address}",
            to=self.ctx.hub_name,
            body=body,
            related=(consent_id,),
        )

    def _answered(self, address: str, method: str | None) -> Request | None:
        """The request about ``address`` the ALS has answered, forgotten now: the oldest
        unanswered ``method`` (a confirmation says which: a deletion's fspId is empty) -
        for a registration, the oldest a consent linking the address awaits if any - or
        the oldest of any (an error names neither); None when none is awaited."""
        asked = self._requests(address)
        found = [i for i, r in enumerate(asked) if method in (None, r[0])]
        if not found:
            return None
        linking = [i for i in found if method == "POST" and self._linking_by(asked[i], address)]
        request = asked.pop((linking or found)[0])
        self._keep(address, asked)
        return request

    def _requests(self, address: str) -> list[Request]:
        """The requests about ``address`` awaiting an answer, oldest first (one kept by a
        tpsim that did not date them is as old as can be)."""
        kept: tuple[tuple[Any, ...], ...] = self._asked.get(address) or ()
        return [(r[0], r[1], r[2] if len(r) > 2 else _UNDATED) for r in kept]

    def _keep(self, address: str, requests: list[Request]) -> None:
        if requests:
            self._asked.put(address, tuple(requests))
        else:
            self._asked.drop(address)

    def _linking_by(self, request: Request, address: str) -> bool:
        """Whether ``request`` is the registration of ``address`` a linking consent awaits."""
        consent = self._registering(request, address)
        return consent is not None and consent.state is LinkState.LINKING

    def _registering(self, request: Request | None, address: str) -> Consent | None:
        """The consent whose registration of ``address`` ``request`` is, when it still
        awaits it: linking, or revoked or failed while it was (unpublished then); None for
        a deletion, or for an answer this DFSP did not wait for."""
        if request is None or request[0] != "POST":
            return None
        consent = self.book.consent(request[1])
        return consent if consent is not None and address in consent.pending else None


def _made(consent: Consent) -> list[str]:
    """The addresses the ALS has confirmed for ``consent`` (those it no longer awaits)."""
    return [a for a in unique(consent.scopes) if a not in consent.pending]
