"""What the switch answers itself: the ALS (parties, participants) and /services.

``GET /parties`` carries no FSPIOP-Destination: the ALS finds the payee DFSP from the
party fixtures (or its oracle) and forwards the request there, as Mojaloop's ALS does;
the DFSP's ``PUT /parties`` then goes straight to the PISP. ``/participants`` is the
oracle (``CONSENT`` and ``THIRD_PARTY_LINK`` registrations: POST, GET and DELETE, each
answered with ``PUT /participants/{Type}/{ID}``, an unknown one with 3200, a
registration naming the hub, no participant or another than its sender with 3100, a change
to an entry another participant holds with 3000; an answer
carries the request's ``related`` ids, which put it in the registering consent's journal
conversation: the path id of an account outlives that consent, and links nothing);
``/services`` lists the participants offering a service. The switch's transfer timeout
(``hub_transfers``) keeps its timers here.
"""

from __future__ import annotations

import dataclasses

from multidict import CIMultiDict, CIMultiDictProxy

from tpsim.config_participants import Kind
from tpsim.mojaloop.errors import ClientError, IdNotFound, PartyNotFound, ValidationError
from tpsim.mojaloop.message import DESTINATION, Effects, Message
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.dispatch import HandlerTable, dispatch
from tpsim.mojaloop.roles.hub_transfers import PREFIX, HubTransfers
from tpsim.mojaloop.wire.jws import SIGNATURE
from tpsim.mojaloop.wire.models import ParticipantsTypeIDSubIDPostRequest

SERVICE_KINDS = {
    "THIRD_PARTY_DFSP": Kind.DFSP,
    "PISP": Kind.PISP,
    "AUTH_SERVICE": Kind.AUTH_SERVICE,
}


class HubServices:
    """The switch's own services, registered in the router under the hub's name."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        self.fsp_id = ctx.hub_name
        self.transfers = HubTransfers(ctx)
        self._handlers: HandlerTable = {
            ("GET", "/parties/{Type}/{ID}"): self.get_party,
            ("GET", "/parties/{Type}/{ID}/{SubId}"): self.get_party,
            ("GET", "/services/{ServiceType}"): self.get_services,
            ("POST", "/participants/{Type}/{ID}"): self.post_participant,
            ("GET", "/participants/{Type}/{ID}"): self.get_participant,
            ("DELETE", "/participants/{Type}/{ID}"): self.delete_participant,
        }

    def handle(self, message: Message) -> Effects:
        return dispatch(self._handlers, message, fsp_id=self.fsp_id)

    def on_timer(self, key: str) -> Effects:
        return self.transfers.on_timer(key) if key.startswith(PREFIX) else Effects()

    def get_party(self, message: Message, params: dict[str, str]) -> Effects:
        id_type, identifier, sub_id = params["Type"], params["ID"], params.get("SubId")
        party = self.ctx.state.find_party(id_type, identifier, sub_id)
        owner = party.fsp_id if party else self.ctx.state.oracle.get((id_type, identifier))
        # Never to the hub itself: it would take the lookup again, and again (an entry a
        # --state file kept from before registrations were checked).
        if owner is None or owner == self.fsp_id:
            suffix = f"/{sub_id}" if sub_id else ""
            raise PartyNotFound(f"no DFSP has registered {id_type} {identifier}{suffix}")
        return Effects(messages=[forwarded(message, owner)])

    def get_services(self, message: Message, params: dict[str, str]) -> Effects:
        kind = SERVICE_KINDS.get(params["ServiceType"])
        if kind is None:
            raise ValidationError(
                f"{params['ServiceType']!r} is not a ServiceType; use one of"
                f" {', '.join(SERVICE_KINDS)}",
                field="ServiceType",
            )
        # Every DFSP of the scheme offers Third Party services: the simulated ones link
        # accounts themselves, and an external DFSP is in the scheme to be tested doing so.
        providers = self.ctx.config.ids(kind)
        return self._reply(message, {"providers": providers})

    def post_participant(self, message: Message, params: dict[str, str]) -> Effects:
        """Register the sender for the path's id. A participant registers only itself
        (Mojaloop's ALS asks the same of ``POST /participants``: "all Participant's FSPs
        match the FSPIOP-Source"), and a later registration of the same id replaces the
        earlier one (a relinked account) only when the same participant sends it."""
        request: ParticipantsTypeIDSubIDPostRequest = message.model()
        fsp_id = request.fspId
        self._check_registered(fsp_id)
        if fsp_id != message.source:
            raise ValidationError(
                f"fspId {fsp_id!r} is not the sender {message.source!r}: a participant"
                " registers only itself",
                field="fspId",
            )
        self._check_holder(message, params, "replace")
        self.ctx.state.oracle[(params["Type"], params["ID"])] = fsp_id
        return self._reply(message, {"fspId": fsp_id})

    def get_participant(self, message: Message, params: dict[str, str]) -> Effects:
        return self._reply(message, {"fspId": self._registered(params)})

    def delete_participant(self, message: Message, params: dict[str, str]) -> Effects:
        """Remove a registration. "The Account Lookup System should verify that it is the
        Party's current FSP that is deleting the FSP information", and confirms with
        ``PUT /participants/{Type}/{ID}`` whose fspId "should be empty" (FSPIOP v1.1)."""
        self._registered(params)
        self._check_holder(message, params, "delete")
        del self.ctx.state.oracle[(params["Type"], params["ID"])]
        return self._reply(message, {})

    def _check_registered(self, fsp_id: str) -> None:
        """Refuse (3100) an fspId the ALS could not forward a lookup to: the hub itself (the
        lookup would come back to the ALS, for ever) or no participant of the scheme."""
        if fsp_id == self.fsp_id:
            raise ValidationError(
                f"fspId {fsp_id!r} is the switch itself: register the participant that"
                " holds the id",
                field="fspId",
            )
        if not self._participant(fsp_id):
            raise ValidationError(
                f"fspId {fsp_id!r} is not a participant of this scheme", field="fspId"
            )

    def _check_holder(self, message: Message, params: dict[str, str], verb: str) -> None:
        """Refuse (3000) a change to an entry another participant holds: otherwise any
        participant could re-point a consent's or an account's lookups to itself, or
        unlink them. An entry naming the hub or no participant (kept in a --state file from
        before registrations were checked) has no holder to ask, and anyone may fix it."""
        holder = self.ctx.state.oracle.get((params["Type"], params["ID"]))
        if holder is None or holder == message.source or not self._participant(holder):
            return
        raise ClientError(
            f"{params['Type']} {params['ID']} is registered by {holder}: only {holder}"
            f" may {verb} it"
        )

    def _participant(self, fsp_id: str) -> bool:
        return fsp_id != self.fsp_id and self.ctx.config.participant(fsp_id) is not None

    def _registered(self, params: dict[str, str]) -> str:
        """The fspId registered for the path's Type and ID, or 3200."""
        fsp_id = self.ctx.state.oracle.get((params["Type"], params["ID"]))
        if fsp_id is None:
            raise IdNotFound(f"the oracle has no {params['Type']} {params['ID']}")
        return fsp_id

    def _reply(self, message: Message, body: dict[str, object]) -> Effects:
        """``PUT`` ``body`` on the request's path to its source, in the request's
        conversation: its path id (``THIRD_PARTY_LINK/{address}``) only tags it, and the
        answer (an address and an fspId) names no consent of its own."""
        reply = self.ctx.message(
            "PUT", message.path, to=message.source, body=dict(body), related=message.related
        )
        return Effects(messages=[reply])


def forwarded(message: Message, to: str) -> Message:
    """``message`` as sent, re-addressed to ``to``: what the switch does when it finds a
    request's owner itself (the ALS's ``GET /parties``; a hub-hosted consent's DELETE,
    linking patterns §4.2). Its source is unchanged, so answers and errors go to it.

    Re-addressed, it loses the sender's ``FSPIOP-Signature``: the signature protects the
    FSPIOP-Destination the sender wrote (or its absence), which no longer holds, and a
    recipient checking it (``wire.jws.verify``; Mojaloop's ``jwsValidator``) would refuse
    the request as tampered with (3105). Nobody may sign again in the sender's name, and
    Mojaloop's own signer never signs a request without a body (``DELETE /consents/{ID}``)
    anyway, so the recipient gets what a Mojaloop sender sends: no signature."""
    headers = CIMultiDict(message.headers)
    if message.destination != to:
        headers.popall(SIGNATURE, None)
    headers[DESTINATION] = to
    return dataclasses.replace(message, headers=CIMultiDictProxy(headers))
