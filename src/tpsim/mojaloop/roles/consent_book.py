"""Where a simulated DFSP keeps its consents, and how it tells the PISP or the
auth-service where one stands (``roles/linking.py`` and ``roles/link_registrations.py``
both work through it).

Each consent is one record (``roles/consent_state.py``) in the scheme's store: this DFSP's
own records (kind ``{fspId}/pending-consents``) until verified, then moved to
``SchemeState.consents`` (``publish``), where the payer side finds it; one that fails after
that goes back, unpublished (``unpublish``). A record changed in place is kept again
(``keep``): a store may hold a copy. The ALS registrations a verified consent still awaits
are its ``pending`` addresses, so nothing about a consent lives outside the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tpsim.core.records import Records
from tpsim.mojaloop.errors import ConsentNotFound, ConsentNotValid, FspiopError
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.roles.common import format_datetime
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.context import RoleContext
from tpsim.mojaloop.roles.states import LinkState
from tpsim.mojaloop.wire.models.linking import ConsentStatus


class ConsentBook:
    """The consents of one simulated DFSP, published or not."""

    def __init__(self, ctx: RoleContext) -> None:
        self.ctx = ctx
        # This DFSP's consents until verified; from then on in ctx.state.consents.
        self._pending: Records[Consent] = ctx.records("pending-consents")

    def consent(self, consent_id: str) -> Consent | None:
        """This DFSP's record of ``consent_id``, in whatever state (None: not one of ours)."""
        pending = self._pending.get(consent_id)
        if pending is not None:
            return pending
        published = self.ctx.state.consents.get(consent_id)
        return published if published is not None and published.dfsp == self.ctx.fsp_id else None

    def own(self, consent_id: str, pisp: str) -> Consent:
        """``pisp``'s consent ``consent_id`` here, or ``ConsentNotFound``."""
        consent = self.consent(consent_id)
        if consent is None or consent.pisp != pisp:
            # Another PISP's consent is reported as unknown: its existence is not theirs.
            raise ConsentNotFound(f"{self.ctx.fsp_id} has no consent {consent_id} of {pisp}")
        return consent

    def issued(self, consent_id: str) -> bool:
        """Whether ``consent_id`` names a consent already: one of ours, any DFSP's published
        one, or one an auth-service holds."""
        state = self.ctx.state
        return (
            consent_id in self._pending
            or consent_id in state.consents
            or consent_id in state.auth_consents
        )

    def unpublished(self) -> list[Consent]:
        """This DFSP's consents not published (not verified yet, or failed)."""
        return list(self._pending)

    def linking(self) -> list[Consent]:
        """This DFSP's consents whose THIRD_PARTY_LINKs the ALS is registering."""
        published = self.ctx.state.consents
        return [c for c in published if c.dfsp == self.ctx.fsp_id and c.state is LinkState.LINKING]

    def add(self, consent: Consent) -> None:
        """Keep a consent just issued, unpublished."""
        self._pending.put(consent.consent_id, consent)

    def keep(self, consent: Consent) -> None:
        """Keep ``consent`` again where it is (changed: a store may hold a copy)."""
        if consent.consent_id in self._pending:
            self._pending.put(consent.consent_id, consent)
        else:
            self.ctx.state.consents.put(consent.consent_id, consent)

    def end(self, consent: Consent) -> None:
        """``consent`` has ended: when never published, it is forgotten in time."""
        if consent.consent_id in self._pending:
            self._pending.end(consent.consent_id, at=self.ctx.clock.now())

    def publish(self, consent: Consent) -> None:
        """From now on the payer side finds ``consent`` by its THIRD_PARTY_LINKs."""
        self._pending.drop(consent.consent_id)
        self.ctx.state.consents.put(consent.consent_id, consent)

    def unpublish(self, consent: Consent) -> None:
        """``consent`` failed after it was published: the payer side must not find a
        consent that never linked; kept unpublished, and forgotten in time."""
        self.ctx.state.consents.drop(consent.consent_id)
        self._pending.put(consent.consent_id, consent)
        self._pending.end(consent.consent_id, at=self.ctx.clock.now())

    # -- what this DFSP tells about a consent ------------------------------------------

    def error(self, consent: Consent, error: FspiopError) -> Message:
        """``PUT /consents/{ID}/error`` with ``error`` to the consent's PISP."""
        return self.ctx.error(path(consent), error, to=consent.pisp)

    def revocation(self, consent: Consent, destination: str, at: datetime | None = None) -> Message:
        """``PATCH /consents/{ID}`` REVOKED to ``destination``: revoked ``at``, by default
        when the consent was."""
        when = at or consent.revoked_at
        assert when is not None  # noqa: S101 - set whenever REVOKED
        body = {"status": ConsentStatus.REVOKED.value, "revokedAt": format_datetime(when)}
        return self.ctx.message("PATCH", path(consent), to=destination, body=body)


def revoked_error(consent: Consent) -> FspiopError:
    """What every later message about a revoked ``consent`` is told."""
    when = format_datetime(consent.revoked_at) if consent.revoked_at else "an earlier time"
    return ConsentNotValid(f"consent {consent.consent_id} was revoked at {when}")


def links_sent(consent: Consent) -> bool:
    """Whether ``consent``'s THIRD_PARTY_LINKs were asked of the ALS (verified by its
    auth-service: linking, or linked)."""
    return consent.state in (LinkState.LINKING, LinkState.ACTIVE)


def path(consent: Consent) -> str:
    return f"/consents/{consent.consent_id}"


def unique(scopes: list[dict[str, Any]]) -> list[str]:
    """The scopes' addresses, each once, in order."""
    return list(dict.fromkeys(s["address"] for s in scopes))
