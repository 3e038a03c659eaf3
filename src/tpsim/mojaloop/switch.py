"""The switch's decisions, sans-IO: where a message goes and what follows its delivery.

Mojaloop's switch routes by ``FSPIOP-Destination`` only (thirdparty-api-svc never reads
the body to route); a message without one goes to the hub's own services. ``Switch``
turns a message into ``Step``s for a driver to carry out, in order, and turns what a
transport reports back (``DeliveryResult``) into the next steps:

    route(message)        known destination    → Deliver(participant, message as sent)
                          unknown destination  → Record(DROPPED), the hub's 3201 callback
                          POST /transfers whose payerFsp is not its FSPIOP-Source, or
                          not a DFSP           → Record(DROPPED), the hub's 3100 callback
                                                 (central-ledger's prepare validation)
    settle(deliver, result)
                          Handled(effects)     → Record(DELIVERED), Apply(effects)
                          Raised(error)        → Record(DELIVERED, error), that role's callback
                          Answered(2xx)        → Record(SENT)
                          Answered(4xx)        → Record(SENT), the hub's 3000 callback
                          Answered(other)      → Record(SENT), the hub's 1001 callback
                          Unreachable(why)     → Record(SENT, why), the hub's 1001 callback
    reject(message, error, sender)
                          → ErrorCallback(PUT …/error to the source), or Unanswered when
                            none applies (an error callback, no source, an unknown source)

A transfer to a payee DFSP tpsim does not simulate is held by the hub until the payee
answers or the transfer expires (``roles.hub_transfers``, Mojaloop's timeout handler):

    POST /transfers to an external payee      → Apply(hub, its timer), Deliver; one
                                                expired already (or a resend of one the
                                                hub expired): Record(DROPPED), 3303; its
                                                transferId reused: Record(DROPPED), 3106;
                                                a resend: Record(DROPPED), and once the
                                                payee answered, Apply(hub, that answer)
    settle: its delivery failed                → Record(SENT, why): still held, it ends at
                                                 its expiration (no 1001 to the payer)
    PUT /transfers/{ID}[/error] from the payee → in time, to the payer: Apply(hub, cancel),
                                                 Deliver; at or after the expiration:
                                                 Record(DROPPED), 3303 to the payee
    … from another external participant, or    → Record(DROPPED), 3100 to its sender
      from the payee to another than the payer

The hub decides before a rule of the receiver does: a payee's answer taken in time ends
the hold even when a rule then has the payer refuse it (a rule's ``sync`` error refuses
the answer at the HTTP edge, before the switch took it: the hold stays).

Forwarding to an external participant applies the switch's header transform
(``wire.headers.forward_headers``); a simulated participant gets the message as sent.

Message rules (config ``rules:``, issue 15) are evaluated here and nowhere else: ``route``
asks ``Rules.for_message`` about each message on its way to a simulated participant (hub
services and auth-service included) and attaches the rule it finds (``Message.rule``; the
roles read what they decide: channel, secret, consent_id). Then:

    error              the participant does not handle it: Record(DELIVERED, rule), and the
                       ``PUT …/error`` with the rule's code from that participant to the
                       source (``sync_refusal`` lets the HTTP edge answer it at once instead)
    settle(Handled)    the participant's answers (and a raised error's callback) are
                       changed: drop → Record(DROPPED) each (a POST /transfers to an
                       external payee held by the hub all the same: its expiry frees the
                       payer's funds); override → body fields set
                       (refused, answer unchanged and the refusal journaled, when the body
                       would break the route's OpenAPI and the rule is not ``unchecked``);
                       reorder → reversed; duplicate → each sent N more times; delay_s →
                       Later(answer, at) for the driver to route on the clock

Each answer a rule touched carries ``MessageRule(name, MessageOutcome())``: its hops name
the rule (``Record.rule``) and whoever receives it has nothing to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tpsim.config_participants import Kind
from tpsim.config_settings import Profile
from tpsim.core.clock import Clock
from tpsim.core.rules import MessageOutcome, MessageRule, Rules
from tpsim.core.values import evolve
from tpsim.journal import Hop
from tpsim.mojaloop.errors import (
    ClientError,
    DestinationCommunicationError,
    DestinationFspError,
    FspiopError,
    ValidationError,
    coded,
)
from tpsim.mojaloop.message import Effects, Message, make_headers
from tpsim.mojaloop.registry import External, Participant, Registry, Simulated
from tpsim.mojaloop.roles.common import error_callback
from tpsim.mojaloop.roles.hub_transfers import HubTransfers
from tpsim.mojaloop.rules import MessageFacts, overridden, rule_error
from tpsim.mojaloop.steps import (
    Answered,
    Apply,
    Deliver,
    DeliveryResult,
    ErrorCallback,
    Handled,
    Later,
    Raised,
    Record,
    Step,
    SyncRefusal,
    Unanswered,
    Unreachable,
)
from tpsim.mojaloop.wire import headers as wire_headers
from tpsim.mojaloop.wire import routes

_MARK = MessageOutcome()  # what an answer a rule touched carries: nothing left to apply


@dataclass(frozen=True, slots=True)
class Switch:
    """Routing decisions over one scheme's ``registry``; ``clock`` dates what the hub writes,
    ``rules`` (the config's ``rulebook()``) say what simulated participants do differently,
    ``transfers`` holds transfers to external payees until they end (None: not held)."""

    registry: Registry
    hub_name: str
    clock: Clock
    profile: Profile = Profile.SPEC
    rules: Rules = field(default_factory=Rules)
    transfers: HubTransfers | None = None

    def route(self, message: Message) -> list[Step]:
        """Where ``message`` goes: its ``FSPIOP-Destination``, else the hub's services."""
        target = message.destination or self.hub_name
        participant = self.registry.get(target)
        if participant is None:
            refusal = DestinationFspError(
                f"{target!r} is not a participant of this scheme; send to one the config"
                " names (participants)",
                field="FSPIOP-Destination",
            )
            dropped = self.record(Hop.DROPPED, message, error=f"unknown destination {target!r}")
            return [dropped, *self.reject(message, refusal)]
        route = message.route
        if route is not None and message.method == "POST" and route.template == "/transfers":
            invalid = self._unprepared(message)
            if invalid is not None:
                dropped = self.record(Hop.DROPPED, message, error=invalid.detail)
                return [dropped, *self.reject(message, invalid)]
        # The hub's transfer timeout takes its view first: what it decides about a transfer
        # does not depend on what the receiver (or a rule of its) then does with it.
        held: list[Step] = []
        if self.transfers is not None and route is not None and route.resource == "transfers":
            held, forward = self._held(message, participant, self.transfers)
            if not forward:
                return held
        if isinstance(participant, Simulated):
            message = self._ruled(message, participant.fsp_id)
            rule = message.rule
            if rule is not None and rule.outcome.error_code is not None:
                return [*held, *self._refused_by_rule(message, rule, participant.fsp_id)]
        return [*held, Deliver(participant, self._as_sent_to(participant, message))]

    def sync_refusal(self, message: Message) -> SyncRefusal | None:
        """The error the HTTP edge answers ``message`` with instead of accepting it: that of
        the first rule matching it whose error is ``sync`` (only a simulated participant's
        rules apply: an external one answers for itself)."""
        target = message.destination or self.hub_name
        if not self.rules.about_messages or not isinstance(self.registry.get(target), Simulated):
            return None
        rule = self.rules.for_message(MessageFacts(message, target))
        code = None if rule is None else rule.outcome.error_code
        if rule is None or code is None or not rule.outcome.sync:
            return None
        error = rule_error(rule.rule_name, code, rule.outcome.error_text, self.profile)
        return SyncRefusal(rule, error)

    def settle(self, delivery: Deliver, result: DeliveryResult) -> list[Step]:
        """What follows ``delivery``: journal it, then apply effects or report the failure."""
        message, fsp_id = delivery.message, delivery.participant.fsp_id
        rule = _acting(message.rule)
        match result:
            case Handled(effects) if rule is not None and effects.messages:
                kept = Effects([], effects.timers, effects.cancel, effects.out_of_band)
                answers = self._answers(rule, fsp_id, effects.messages)
                return [self._delivered(message), Apply(fsp_id, kept), *answers]
            case Handled(effects):
                return [self._delivered(message), Apply(fsp_id, effects)]
            case Raised(raised):
                error = coded(raised)
                delivered = self._delivered(message, error=error.detail)
                return [delivered, *self._answering(rule, fsp_id, message, error)]
            case Answered(status, elapsed_ms) if result.ok:
                return [self.record(Hop.SENT, message, status=status, duration_ms=elapsed_ms)]
            case Answered(status, elapsed_ms):
                sent = self.record(Hop.SENT, message, status=status, duration_ms=elapsed_ms)
                if self._still_held(message):
                    return [sent]
                return [sent, *self.reject(message, refused_by(fsp_id, result))]
            case Unreachable(why, elapsed_ms):
                sent = self.record(Hop.SENT, message, duration_ms=elapsed_ms, error=why)
                if self._still_held(message):
                    return [sent]
                where = _where(delivery.participant, message.path)
                failure = DestinationCommunicationError(f"{where}: {why}")
                return [sent, *self.reject(message, failure)]

    def reject(
        self, message: Message, error: FspiopError, *, sender: str | None = None
    ) -> list[Step]:
        """The ``PUT …/error`` for ``message`` from ``sender`` (the hub unless named) to
        its source, or why nobody is told: error callbacks are never answered with error
        callbacks, and a source the scheme does not know cannot be reached."""
        callback = error_callback(
            message,
            error,
            sender=sender or self.hub_name,
            profile=self.profile,
            now=self.clock.now(),
        )
        if callback is None:
            return [Unanswered(message, error, "no error callback applies")]
        if callback.destination not in self.registry:
            return [Unanswered(message, error, "the source is not a participant")]
        return [ErrorCallback(callback)]

    def record(
        self,
        hop: Hop,
        message: Message,
        *,
        status: int | None = None,
        duration_ms: float | None = None,
        error: str | None = None,
    ) -> Record:
        """The journal entry for one hop of ``message``, with its path's correlation id."""
        route = message.route
        path_id = (
            None if route is None else routes.correlation_id(route, message.params, message.body)
        )
        rule = message.rule
        if rule is None:
            return Record(hop, message, path_id, status, duration_ms, error)
        return Record(
            hop, message, path_id, status, duration_ms, error or rule.note, rule.rule_name
        )

    def _unprepared(self, message: Message) -> FspiopError | None:
        """Why the hub refuses a ``POST /transfers`` before anyone gets it (central-ledger's
        prepare validation, 3100), or None: its ``payerFsp`` must be its sender, and a DFSP.
        A payee credits its party on the quote's condition alone, so a transfer sent in
        another participant's name, or by a PISP, would pay it with nobody debited."""
        payer = (message.body or {}).get("payerFsp")
        if payer != message.source:
            return ValidationError(
                f"FSPIOP-Source header should match Payer: the transfer's payerFsp is"
                f" {payer!r}, its FSPIOP-Source {message.source!r}",
                field="payerFsp",
            )
        participant = self.registry.get(payer)
        if participant is not None and participant.kind is not Kind.DFSP:
            return ValidationError(
                f"{payer} is a {participant.kind.value}: only a DFSP pays a transfer",
                field="payerFsp",
            )
        return None

    def _held(
        self, message: Message, participant: Participant, held: HubTransfers
    ) -> tuple[list[Step], bool]:
        """A transfer's message through the hub's timeout (``roles.hub_transfers``): the
        steps to take before it is delivered, and whether it is delivered at all."""
        if message.method == "POST" and isinstance(participant, External):
            steps, stopped = self._prepared(message, held)
            if stopped is None:
                return steps, True
            return [self.record(Hop.DROPPED, message, error=stopped), *steps], False
        transfer_id = message.params.get("ID")
        if message.method != "PUT" or transfer_id is None:
            return [], True
        if not isinstance(self.registry.get(message.source), External):
            return [], True  # only an external participant's answer can be refused
        refusal = held.refusal(message, transfer_id)
        if refusal is not None:
            dropped = self.record(Hop.DROPPED, message, error=refusal.detail)
            return [dropped, *self.reject(message, refusal)], False
        answered = held.answered(message, transfer_id)
        return ([Apply(self.hub_name, answered)] if answered.cancel else []), True

    def _prepared(self, message: Message, held: HubTransfers) -> tuple[list[Step], str | None]:
        """A ``POST /transfers`` to an external payee, taken by the hub: the steps that
        follow (the hold's timer; the hub's refusal), and why it goes no further (None: it
        is forwarded)."""
        try:
            prepared = held.prepared(message)
        except FspiopError as refused:  # expired already, or a modified resend
            return self.reject(message, refused), refused.detail
        effects = prepared.effects
        apply: list[Step] = [Apply(self.hub_name, effects)] if effects != Effects() else []
        return apply, None if prepared.forward else (prepared.why or "not forwarded")

    def _still_held(self, message: Message) -> bool:
        """Whether ``message``, a delivery that failed, is a ``POST /transfers`` the hub
        holds: Mojaloop's switch only logs a failed delivery of a transfer, which ends at
        its expiration (``roles.hub_transfers``)."""
        if self.transfers is None or message.method != "POST" or message.route is None:
            return False
        transfer_id = (message.body or {}).get("transferId")
        if message.route.template != "/transfers" or not isinstance(transfer_id, str):
            return False
        return self.transfers.holds(transfer_id)

    # -- message rules ------------------------------------------------------------------

    def _ruled(self, message: Message, receiver: str) -> Message:
        """``message`` with the first rule matching it attached (an answer keeps the mark of
        the rule that touched it when none does). A rule acts once: a message it already
        touched (the ALS passing a ``GET /parties`` on to the party's DFSP, a DFSP passing
        a ``DELETE /consents`` on to the auth-service) is not touched by it again."""
        if not self.rules.about_messages:
            return message
        rule = self.rules.for_message(MessageFacts(message, receiver))
        if rule is None or (message.rule is not None and message.rule.rule_name == rule.rule_name):
            return message
        return evolve(message, rule=rule)

    def _refused_by_rule(self, message: Message, rule: MessageRule, fsp_id: str) -> list[Step]:
        """The participant refuses ``message`` as ``rule`` says, as if its role had raised
        (``sync`` too: an in-process message has no HTTP answer to carry it)."""
        outcome = rule.outcome
        code = outcome.error_code or ""
        error = rule_error(rule.rule_name, code, outcome.error_text, self.profile)
        delivered = self._delivered(message, error=f"refused by rule {rule.rule_name}: {code}")
        return [delivered, *self._answering(rule, fsp_id, message, error)]

    def _answering(
        self, rule: MessageRule | None, fsp_id: str, message: Message, error: FspiopError
    ) -> list[Step]:
        """``fsp_id``'s error callback for ``message``, changed as ``rule`` says."""
        steps = self.reject(message, error, sender=fsp_id)
        if rule is None:
            return steps
        callbacks = [step.message for step in steps if isinstance(step, ErrorCallback)]
        others = [step for step in steps if not isinstance(step, ErrorCallback)]
        return [*others, *self._answers(rule, fsp_id, callbacks)]

    def _answers(self, rule: MessageRule, fsp_id: str, answers: list[Message]) -> list[Step]:
        """What becomes of ``fsp_id``'s ``answers`` to a message ``rule`` matched."""
        outcome = rule.outcome
        marked = [self._touched(rule, answer) for answer in answers]
        if outcome.drop:
            why = f"dropped by rule {rule.rule_name}"
            return [step for answer in marked for step in self._dropped(answer, why)]
        if outcome.reorder:
            marked.reverse()
        marked = [answer for answer in marked for _ in range(1 + outcome.duplicate)]
        if outcome.delay_s:
            at = self.clock.now() + timedelta(seconds=outcome.delay_s)
            return [Later(answer, at) for answer in marked]
        return [Apply(fsp_id, Effects(messages=marked))] if marked else []

    def _dropped(self, answer: Message, why: str) -> list[Step]:
        """``answer`` journaled as dropped. A ``POST /transfers`` to a payee tpsim does not
        simulate is held by the hub all the same, as one lost on its way to the payee: the
        payer DFSP waits for the hub's answer (``roles.transactions``), so without the
        hub's expiry (3303) its funds would stay reserved for ever."""
        dropped = self.record(Hop.DROPPED, answer, error=why)
        route, payee = answer.route, self.registry.get(answer.destination or self.hub_name)
        if self.transfers is None or route is None or not isinstance(payee, External):
            return [dropped]
        if answer.method != "POST" or route.template != "/transfers":
            return [dropped]
        steps, _ = self._prepared(answer, self.transfers)
        return [dropped, *steps]

    def _touched(self, rule: MessageRule, answer: Message) -> Message:
        """``answer`` marked with ``rule``, its ``override`` applied when the body still
        keeps its route's OpenAPI (or the rule says ``unchecked``), else left as it was
        and the refusal noted for the journal."""
        mark = MessageRule(rule.rule_name, _MARK)
        override = rule.outcome.override
        body = None if not override else overridden(answer.body, override)
        if body is None or answer.route is None:
            return evolve(answer, rule=mark)
        try:
            model = routes.parse_body(answer.route, body)
        except FspiopError as exc:
            if rule.outcome.unchecked:
                return Message(
                    answer.method,
                    answer.path,
                    answer.headers,
                    body,
                    answer.related,
                    answer.route,
                    answer.params,
                    rule=mark,
                )
            broken = exc.detail if exc.field is None else f"{exc.field}: {exc.detail}"
            note = (
                f"override of rule {rule.rule_name} not sent: it breaks the OpenAPI of"
                f" {answer.method} {answer.route.template} ({broken}); unchecked: true sends it"
            )
            return evolve(answer, rule=MessageRule(rule.rule_name, _MARK, note))
        return evolve(answer, body=body, parsed=model, rule=mark)

    def _delivered(self, message: Message, *, error: str | None = None) -> Record:
        # In-process delivery has no HTTP answer: journal the status the edge would give.
        status = message.route.sync_status if message.route else 202
        return self.record(Hop.DELIVERED, message, status=status, error=error)

    def _as_sent_to(self, participant: Participant, message: Message) -> Message:
        if not isinstance(participant, External):
            return message
        forwarded = wire_headers.forward_headers(
            message.headers, message.method, self.clock.now(), hub_name=self.hub_name
        )
        return evolve(message, headers=make_headers(forwarded))


def _acting(rule: MessageRule | None) -> MessageRule | None:
    """``rule`` when it changes answers (a touched answer's mark changes nothing)."""
    return None if rule is None or rule.outcome == _MARK else rule


def refused_by(fsp_id: str, answer: Answered) -> FspiopError:
    """The switch's error for a non-2xx answer: 3000 for a 4xx (the message was refused),
    1001 otherwise (the destination failed)."""
    said = (answer.body or "").strip()
    text = f"{fsp_id} answered {answer.status}" + (f": {said}" if said else "")
    if 400 <= answer.status < 500:
        return ClientError(text)
    return DestinationCommunicationError(text)


def _where(participant: Participant, path: str) -> str:
    if isinstance(participant, External):
        return f"{participant.fsp_id} at {participant.url_for(path)}"
    return participant.fsp_id
