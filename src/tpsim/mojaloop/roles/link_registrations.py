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
``/error``, which names no request: the requests this DFSP has yet to hear answered are kept
per address, oldest first (kind ``{fspId}/link-requests``: ``(method, consentId)`` pairs),
and each answer is the oldest one's, each registration answered in the order it was sent.
A refused deletion belongs to the consent whose links were being removed, never to another
consent linking the same account meanwhile. The ALS holds one entry per address, so a link
is removed only when no other live consent of this DFSP links the same account.
"""

from __future__ import annotations

from tpsim.core.records import Records
from tpsim.mojaloop.errors import AccountLinksNotRegistered
from tpsim.mojaloop.message import Effects, Message
from tpsim.mojaloop.roles.common import downstream_error
from tpsim.mojaloop.roles.consent_book import ConsentBook, links_sent, path, unique
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.states import LinkEvent
from tpsim.mojaloop.wire.models.common import PartyIdType
from tpsim.mojaloop.wire.models.linking import CredentialStatus

_LINK = PartyIdType.THIRD_PARTY_LINK.value


class LinkRegistrations:
    """The THIRD_PARTY_LINK requests one simulated DFSP sends the ALS, and their answers."""

    def __init__(self, ctx: RoleContext, book: ConsentBook) -> None:
        self.ctx, self.book = ctx, book
        # Per address, the ALS requests not answered yet: (method, consentId), oldest first.
        self._asked: Records[tuple[tuple[str, str], ...]] = ctx.records("link-requests")

    def register(self, consent: Consent) -> list[Message]:
        """``POST /participants/THIRD_PARTY_LINK/{address}`` to the ALS for each address
        ``consent`` awaits (its ``pending`` ones, set when it was verified)."""
        return [self._ask("POST", address, consent) for address in consent.pending]

    def remove(self, consent: Consent) -> list[Message]:
        """The ALS deletions of the links made for ``consent`` (revoked): a link the ALS has
        yet to confirm stays ``pending``, and is deleted once it is (``put_participant``)."""
        return self._unlinks(consent, _made(consent))

    # -- PUT /participants/THIRD_PARTY_LINK/{address} → PATCH VERIFIED -----------------

    def put_participant(self, message: Message, params: dict[str, str]) -> Effects:
        if params["Type"] != PartyIdType.THIRD_PARTY_LINK:
            return Effects()  # nothing of ours
        address = params["ID"]
        if not (message.body or {}).get("fspId"):
            # A deletion confirmed (its fspId left empty): nothing more to do.
            self._answered(address, "DELETE")
            return Effects()
        consent = self._registering(self._answered(address, "POST"), address)
        if consent is None:
            return Effects()
        consent.pending.remove(address)
        self.book.keep(consent)  # changed: keep it again
        if consent.finalised:  # revoked, or failed, while the ALS registered the link
            return Effects(messages=self._unlinks(consent, [address]))
        if consent.pending:
            return Effects()
        consent.advance(LinkEvent.LINKED)
        patch = {"credential": {"status": CredentialStatus.VERIFIED.value}}
        return Effects(
            messages=[self.ctx.message("PATCH", path(consent), to=consent.pisp, body=patch)]
        )

    def put_participant_error(self, message: Message, params: dict[str, str]) -> Effects:
        """The ALS refused a THIRD_PARTY_LINK: the consent awaiting it fails, the PISP is
        told (7214 under the reference profile) and the links already made are removed.
        A refused deletion leaves nothing to undo (the journal holds it): it is the oldest
        request about the address, and its consent ended already; another consent
        registering the same address meanwhile is not the one refused."""
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
        (6000, reference 7214), and the links undone (``abandon``); a confirmation coming
        later removes its link (``put_participant``)."""
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
        kept = {
            s["address"]
            for c in self.ctx.state.consents
            if c.consent_id != consent.consent_id and c.dfsp == self.ctx.fsp_id and links_sent(c)
            for s in c.scopes
        }
        return [
            self._ask("DELETE", address, consent) for address in addresses if address not in kept
        ]

    def _ask(self, method: str, address: str, consent: Consent) -> Message:
        """``method /participants/THIRD_PARTY_LINK/{address}`` to the ALS for ``consent``
        (POST registers this DFSP, DELETE removes it), kept until the ALS answers it."""
        asked = self._asked.get(address) or ()
        self._asked.put(address, (*asked, (method, consent.consent_id)))
        body = {"fspId": self.ctx.fsp_id} if method == "POST" else None
        return self.ctx.message(
            method,
            f"/participants/{_LINK}/{address}",
            to=self.ctx.hub_name,
            body=body,
            related=(consent.consent_id,),
        )

    def _answered(self, address: str, method: str | None) -> tuple[str, str] | None:
        """The request about ``address`` the ALS has answered, forgotten now: the oldest
        unanswered ``method`` (a confirmation says which: a deletion's fspId is empty), or
        the oldest of any (an error names neither); None when none is awaited."""
        asked = list(self._asked.get(address) or ())
        found = next((i for i, (m, _) in enumerate(asked) if method in (None, m)), None)
        if found is None:
            return None
        request = asked.pop(found)
        if asked:
            self._asked.put(address, tuple(asked))
        else:
            self._asked.drop(address)
        return request

    def _registering(self, request: tuple[str, str] | None, address: str) -> Consent | None:
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
