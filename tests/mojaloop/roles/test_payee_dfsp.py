"""The payee side of a simulated DFSP, socket-free: parties, quotes with fees, transfers.

dfspb (Bob's bank in the default scheme) is handed the lookups, quote requests and
transfers a switch would deliver; the tests read its answers and the ledger's postings.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from tests.support.overrides import with_account
from tests.support.roles import Roles
from tpsim.mojaloop.errors import FspiopError
from tpsim.mojaloop.message import Effects, Message

BOB = "dfspb.bob.chequing"
BOB_IBAN = "GB33BUKB20201555555555"
MSISDN = "16135551212"
QUOTE_ID = "7c23e80c-d078-4077-8263-2c047876fcf6"
TRANSACTION_ID = "a8323bc6-c228-4df2-ae82-e5a997baf899"


def build(**behaviour: Any) -> Roles:
    return Roles.build(behaviour=behaviour) if behaviour else Roles.build()


def ask(roles: Roles, method: str, path: str, body: Any = None, source: str = "dfspa") -> Effects:
    return roles.send("dfspb", method, path, body, source=source)


def only(effects: Effects) -> Message:
    assert (effects.timers, effects.cancel, effects.out_of_band) == ([], [], [])
    [message] = effects.messages
    return message


def refusal(roles: Roles, method: str, path: str, body: Any = None) -> FspiopError:
    with pytest.raises(FspiopError) as raised:
        ask(roles, method, path, body)
    return raised.value


def quote_request(
    amount: str = "100", amount_type: str = "SEND", currency: str = "USD", msisdn: str = MSISDN
) -> dict[str, Any]:
    return {
        "quoteId": QUOTE_ID,
        "transactionId": TRANSACTION_ID,
        "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": msisdn}},
        "payer": {
            "partyIdInfo": {
                "partyIdType": "ACCOUNT_ID",
                "partyIdentifier": "dfspa.alice.chequing",
                "fspId": "dfspa",
            }
        },
        "amountType": amount_type,
        "amount": {"currency": currency, "amount": amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
    }


def quoted(roles: Roles, **request: Any) -> dict[str, Any]:
    """dfspb's ``PUT /quotes/{ID}`` body for a quote request."""
    answer = only(ask(roles, "POST", "/quotes", quote_request(**request)))
    assert (answer.method, answer.path, answer.destination) == (
        "PUT",
        f"/quotes/{QUOTE_ID}",
        "dfspa",
    )
    assert answer.body is not None
    return answer.body


def transfer(quote: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "transferId": TRANSACTION_ID,
        "payeeFsp": "dfspb",
        "payerFsp": "dfspa",
        "amount": quote["transferAmount"],
        "ilpPacket": quote["ilpPacket"],
        "condition": quote["condition"],
        "expiration": quote["expiration"],
    }
    return {**body, **changes}


def credits(roles: Roles) -> list[tuple[str, str, str]]:
    postings = roles.sim.state.bank.ledger.postings(BOB)
    return [(p.kind.value, format(p.amount, "f"), p.ref) for p in postings]


# --- GET /parties -------------------------------------------------------------------------


def test_a_party_is_answered_from_the_fixtures() -> None:
    roles = build()
    answer = only(ask(roles, "GET", f"/parties/MSISDN/{MSISDN}", source="pispa"))
    assert (answer.method, answer.path, answer.destination) == (
        "PUT",
        f"/parties/MSISDN/{MSISDN}",
        "pispa",
    )
    assert answer.body == {
        "party": {
            "partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": MSISDN, "fspId": "dfspb"},
            "name": "Bob Babirye",
            "personalInfo": {"complexName": {"firstName": "Bob", "lastName": "Babirye"}},
        }
    }


@pytest.mark.parametrize(
    "path",
    ["/parties/MSISDN/16135550000", f"/parties/MSISDN/{MSISDN}/home", f"/parties/EMAIL/{MSISDN}"],
    ids=["unknown number", "unknown sub-id", "other type"],
)
def test_an_unknown_party_is_3204(path: str) -> None:
    assert refusal(build(), "GET", path).code == "3204"


@pytest.mark.parametrize(("id_type", "identifier"), [("ACCOUNT_ID", BOB), ("IBAN", BOB_IBAN)])
def test_an_account_is_a_party_by_its_address_or_iban(id_type: str, identifier: str) -> None:
    # No party fixture names it: the account itself is the payee (a settlement names the
    # creditor this way), its bank the one that holds it.
    roles = Roles.build(**with_account(BOB, iban=BOB_IBAN))
    answer = only(ask(roles, "GET", f"/parties/{id_type}/{identifier}", source="pispa"))
    party = (answer.body or {})["party"]
    assert party["partyIdInfo"] == {
        "partyIdType": id_type,
        "partyIdentifier": identifier,
        "fspId": "dfspb",
    }
    quote = quote_request()
    quote["payee"] = {"partyIdInfo": {"partyIdType": id_type, "partyIdentifier": identifier}}
    assert only(ask(roles, "POST", "/quotes", quote)).path == f"/quotes/{QUOTE_ID}"


HARRY_SORT_CODE = "20000319470104"  # the alias of dfspb.harry.current in the default config


@pytest.mark.parametrize(
    "identifier",
    [BOB, HARRY_SORT_CODE],
    ids=["an address", "a sort code and account number"],
)
def test_an_iban_lookup_finds_an_account_only_by_an_iban(identifier: str) -> None:
    # An account's address or another alias is no IBAN: answered as one, the payer would
    # hold an IBAN the bank never gave. As an ACCOUNT_ID (any format) it names the account.
    roles = Roles.build(**with_account(BOB, iban=BOB_IBAN))
    assert refusal(roles, "GET", f"/parties/IBAN/{identifier}").code == "3204"
    quote = quote_request()
    quote["payee"] = {"partyIdInfo": {"partyIdType": "IBAN", "partyIdentifier": identifier}}
    assert refusal(roles, "POST", "/quotes", quote).code == "3204"
    answer = only(ask(roles, "GET", f"/parties/ACCOUNT_ID/{identifier}", source="pispa"))
    assert (answer.body or {})["party"]["partyIdInfo"]["partyIdentifier"] == identifier


def test_a_party_of_another_dfsp_is_not_answered() -> None:
    roles = build()
    with pytest.raises(FspiopError) as raised:
        roles.send("dfspa", "GET", f"/parties/MSISDN/{MSISDN}", source="pispa")
    assert raised.value.code == "3204"


# --- POST /quotes -----------------------------------------------------------------------

# (amountType, amount, fee, commission) → (transferAmount, payeeReceiveAmount)
PRICES = [
    ("SEND", "100", "0", "0", "100", "100"),
    ("SEND", "100", "1.5", "0", "100", "98.5"),
    ("SEND", "100", "1", "0.25", "100", "99.25"),
    ("RECEIVE", "100", "1.5", "0", "101.5", "100"),
    ("RECEIVE", "100", "1", "0.25", "100.75", "100"),
    ("RECEIVE", "100", "0", "2", "98", "100"),
]


@pytest.mark.parametrize(
    ("amount_type", "amount", "fee", "commission", "transfer", "receive"), PRICES
)
def test_a_quote_prices_fees_and_commission(
    amount_type: str, amount: str, fee: str, commission: str, transfer: str, receive: str
) -> None:
    roles = build(payee_fees={"fee": fee, "commission": commission})
    quote = quoted(roles, amount=amount, amount_type=amount_type)
    assert quote["transferAmount"] == {"currency": "USD", "amount": transfer}
    assert quote["payeeReceiveAmount"] == {"currency": "USD", "amount": receive}
    assert quote["payeeFspFee"] == {"currency": "USD", "amount": fee}
    assert quote["payeeFspCommission"] == {"currency": "USD", "amount": commission}


def test_a_quote_binds_its_terms_to_a_condition() -> None:
    roles = build(quote_expiry_s=90)
    quote = quoted(roles)
    assert quote["expiration"] == "2030-01-01T00:01:30.000Z"
    terms = json.loads(base64.urlsafe_b64decode(quote["ilpPacket"] + "=="))
    assert terms == {
        "quoteId": QUOTE_ID,
        "transactionId": TRANSACTION_ID,
        "currency": "USD",
        "amount": "100",
    }
    answer = only(ask(roles, "POST", "/transfers", transfer(quote)))
    fulfilment = (answer.body or {})["fulfilment"]
    digest = hashlib.sha256(base64.urlsafe_b64decode(fulfilment + "=")).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == quote["condition"]


# (case, quote request changes, behaviour, code)
QUOTE_REFUSALS = [
    ("unknown payee", {"msisdn": "16135550000"}, {}, "3204"),
    ("other currency than the payee's account", {"currency": "EUR"}, {}, "5106"),
    ("fees leave nothing to receive", {"amount": "1"}, {"payee_fees": {"fee": "1"}}, "5101"),
    ("no transfer", {"amount_type": "RECEIVE"}, {"payee_fees": {"commission": "100"}}, "5101"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "behaviour", "code"), [pytest.param(*r[1:], id=r[0]) for r in QUOTE_REFUSALS]
)
def test_a_refused_quote(changes: dict[str, Any], behaviour: dict[str, Any], code: str) -> None:
    roles = build(**behaviour)
    assert refusal(roles, "POST", "/quotes", quote_request(**changes)).code == code
    assert not roles.role("dfspb").payee.issued(QUOTE_ID)


# --- POST /transfers ----------------------------------------------------------------------


def test_a_transfer_on_a_quote_credits_the_payee() -> None:
    roles = build(payee_fees={"fee": "1"})
    quote = quoted(roles)
    answer = only(ask(roles, "POST", "/transfers", transfer(quote)))
    assert (answer.method, answer.path, answer.destination) == (
        "PUT",
        f"/transfers/{TRANSACTION_ID}",
        "dfspa",
    )
    assert answer.body is not None
    assert (answer.body["transferState"], answer.body["completedTimestamp"]) == (
        "COMMITTED",
        "2030-01-01T00:00:00.000Z",
    )
    assert credits(roles) == [("CREDIT", "99", TRANSACTION_ID)]
    assert roles.balance(BOB) == "99"
    assert not roles.role("dfspb").payee.issued(QUOTE_ID)


# (case, transfer changes, code)
TRANSFER_REFUSALS = [
    ("unknown condition", {"condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA"}, "3000"),
    ("other amount", {"amount": {"currency": "USD", "amount": "99"}}, "3000"),
    ("other currency", {"amount": {"currency": "EUR", "amount": "100"}}, "3000"),
]


@pytest.mark.parametrize(
    ("changes", "code"), [pytest.param(*r[1:], id=r[0]) for r in TRANSFER_REFUSALS]
)
def test_a_refused_transfer_credits_nothing(changes: dict[str, Any], code: str) -> None:
    roles = build()
    quote = quoted(roles)
    assert refusal(roles, "POST", "/transfers", transfer(quote, **changes)).code == code
    assert credits(roles) == []
    assert roles.role("dfspb").payee.issued(QUOTE_ID)  # the quote may still be used


def test_a_transfer_after_the_quote_expired_is_3302() -> None:
    roles = build(quote_expiry_s=60)
    quote = quoted(roles)
    roles.clock.advance(60)
    error = refusal(roles, "POST", "/transfers", transfer(quote))
    assert (error.code, str(error)) == (
        "3302",
        f"quote {QUOTE_ID} expired at 2030-01-01T00:01:00.000Z",
    )
    assert credits(roles) == []


def test_a_quote_pays_once() -> None:
    roles = build()
    quote = quoted(roles)
    ask(roles, "POST", "/transfers", transfer(quote))
    assert refusal(roles, "POST", "/transfers", transfer(quote)).code == "3000"
    assert credits(roles) == [("CREDIT", "100", TRANSACTION_ID)]


def test_a_quote_the_payer_could_not_use_is_forgotten() -> None:
    roles = build()
    quote = quoted(roles)
    error = {"errorInformation": {"errorCode": "6003", "errorDescription": "failed"}}
    assert ask(roles, "PUT", f"/quotes/{QUOTE_ID}/error", error).messages == []
    assert refusal(roles, "POST", "/transfers", transfer(quote)).code == "3000"
    assert credits(roles) == []
