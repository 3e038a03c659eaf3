"""``SchemeState.consent_for_link`` finds a payer's consent by the address its scopes cover
through an index kept with the consents (``Consents``), with the same choice as reading
every consent: the PISP's own before another's, a linked (ACTIVE) one before one still
being linked, ISSUED before REVOKED, the newest of equals.
"""

from __future__ import annotations

from pathlib import Path

from tpsim.core.bank import Bank
from tpsim.core.sqlite_store import SqliteStore
from tpsim.mojaloop.roles.consent_state import Consent
from tpsim.mojaloop.roles.state import SchemeState
from tpsim.mojaloop.roles.states import LinkState


def consent(
    consent_id: str,
    *addresses: str,
    pisp: str = "pispa",
    revoked: bool = False,
    state: LinkState = LinkState.ISSUED,
) -> Consent:
    scopes = [{"address": a, "actions": ["ACCOUNTS_TRANSFER"]} for a in addresses]
    state = LinkState.REVOKED if revoked else state
    return Consent(consent_id, pisp, scopes, dfsp="dfspa", state=state)


def found(state: SchemeState, address: str, pisp: str = "pispa") -> str | None:
    chosen = state.consent_for_link("dfspa", address, pisp)
    return None if chosen is None else chosen.consent_id


def test_a_consent_is_found_by_any_address_it_covers() -> None:
    state = SchemeState()
    state.consents.put("c1", consent("c1", "dfspa.alice.1", "dfspa.alice.2"))
    assert found(state, "dfspa.alice.1") == found(state, "dfspa.alice.2") == "c1"
    assert found(state, "dfspa.bob") is None
    assert state.consent_for_link("dfspb", "dfspa.alice.1", "pispa") is None  # another DFSP's


def test_the_pisps_own_issued_and_newest_consent_is_chosen() -> None:
    state = SchemeState()
    state.consents.put("old", consent("old", "a"))
    state.consents.put("other-pisp", consent("other-pisp", "a", pisp="pispb"))
    state.consents.put("revoked", consent("revoked", "a", revoked=True))
    state.consents.put("new", consent("new", "a"))
    assert found(state, "a") == "new"
    assert found(state, "a", pisp="pispb") == "other-pisp"
    state.consents.drop("new")
    assert found(state, "a") == "old"
    state.consents.put("old", consent("old", "a", revoked=True))  # kept again: same place
    state.consents.put("newest", consent("newest", "a", revoked=True))
    assert found(state, "a") == "newest"  # both revoked: the newest of equals


def test_a_linked_consent_is_chosen_before_a_newer_one_still_being_linked() -> None:
    # Relinked: the new consent cannot pay until its links are made; the old one still can.
    state = SchemeState()
    state.consents.put("linked", consent("linked", "a", state=LinkState.ACTIVE))
    state.consents.put("linking", consent("linking", "a", state=LinkState.LINKING))
    assert found(state, "a") == "linked"
    state.consents.put("linked", consent("linked", "a", revoked=True))
    assert found(state, "a") == "linking"  # before a revoked one


def test_a_consent_kept_again_is_found_by_its_new_scopes_only() -> None:
    state = SchemeState()
    state.consents.put("c1", consent("c1", "a", "b"))
    state.consents.put("c1", consent("c1", "b"))
    assert found(state, "a") is None
    assert found(state, "b") == "c1"
    state.consents.drop("c1")
    assert found(state, "b") is None


def test_consents_read_back_from_a_store_are_found() -> None:
    kept = SchemeState()
    kept.consents.put("c1", consent("c1", "a"))
    kept.consents.put("c2", consent("c2", "a"))
    again = SchemeState(kept.bank)  # as after a restart: the records are in the store
    assert found(again, "a") == "c2"


def test_looking_a_consent_up_does_not_write_it_again(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite")
    try:
        state = SchemeState(Bank(store))
        state.consents.put("c1", consent("c1", "a"))
        store.flush()
        assert found(state, "a") == "c1"
        assert not store._pending()  # a read only: nothing for the next flush to write
    finally:
        store.close()
