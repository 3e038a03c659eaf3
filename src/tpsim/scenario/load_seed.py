"""What ``tpsim load`` adds to a running tpsim's config for its workers (``seed``).

The config in force (as JSON, changed in place) gains one user per worker (``load{n}`` at
``--dfsp``) and the account the flow pays from or links, and the PISP's endpoint becomes
this load generator's listener (``point``). Per flow, each worker's account:

- ``transfer``: ``{dfsp}.load.{n}`` in the payee's currency, and a consent to the PISP
  for it with a new software credential (FIDO or GENERIC);
- ``link``: ``{dfsp}.load.{n}``, linked anew by each flow (no consent seeded);
- ``xs2a``, ``stet``: ``{dfsp}.load.{n}.eur``, in EUR, with an IBAN of its own
  (``DEkk 9999 0000 …`` with the worker's number);
- ``obie``: ``{dfsp}.load.{n}.gbp``, in GBP, sort code and account number
  ``999999`` + the worker's number.

Every account opens with ``--balance``. Workers a killed run left in force are dropped
first, so they are seeded anew.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.scenario.load import Worker
from tpsim.scenario.load_link import Channel, CredentialType
from tpsim.scenario.mojaloop.params import Payee
from tpsim.scenario.pisp_client import CannotPlay


@dataclass(frozen=True, slots=True)
class Seeding:
    """What each worker gets on a running tpsim, and the flow it runs."""

    workers: int
    dfsp: str = "dfspa"
    payee: str = "16135551212"  # an MSISDN among the config's parties
    balance: str = "1000000000"
    credential_type: CredentialType = "FIDO"
    flow: str = "transfer"  # one of load_report.FLOWS
    channel: Channel = "OTP"  # link: how the user authenticates


def point(config: dict[str, Any], pisp: str, url: str) -> None:
    """Make ``url`` the endpoint of ``pisp`` in ``config`` (JSON, changed in place);
    ``CannotPlay`` when it has no such PISP."""
    pisps = [p for p in config.get("participants") or [] if p.get("kind") == "pisp"]
    target = next((p for p in pisps if p.get("fsp_id") == pisp), None)
    if target is None:
        known = ", ".join(str(p.get("fsp_id")) for p in pisps)
        raise CannotPlay(f"the server has no PISP {pisp!r} (its PISPs: {known})")
    target["endpoint"] = url


@dataclass(frozen=True, slots=True)
class Seeded:
    """A worker's user and account (its address and the alias its dialect uses)."""

    user: str
    address: str
    currency: str
    alias: str | None = None
    transfer: Worker | None = None  # the transfer flow's consent and credential


def seed(config: dict[str, Any], seeding: Seeding, pisp: str) -> list[Seeded]:
    """Add each worker's user and account (and, for transfers, its consent) to ``config``
    (JSON, changed in place). ``CannotPlay`` when the config has no such simulated DFSP
    or payee."""
    simulated = [
        p.get("fsp_id")
        for p in config.get("participants") or []
        if p.get("kind") == "dfsp" and p.get("simulated")
    ]
    if seeding.dfsp not in simulated:
        known = ", ".join(map(str, simulated))
        raise CannotPlay(f"{seeding.dfsp!r} is no simulated DFSP of the server ({known}): --dfsp")
    payee = _payee(config, seeding.payee) if seeding.flow == "transfer" else None
    _forget_earlier_workers(config, seeding)
    workers: list[Seeded] = []
    for n in range(seeding.workers):
        user = f"load{n}"
        config.setdefault("users", []).append({"user_id": user, "fsp_id": seeding.dfsp})
        account: dict[str, Any] = {
            "address": f"{seeding.dfsp}.load.{n}",
            "fsp_id": seeding.dfsp,
            "owner": user,
            "currency": payee.currency if payee else "USD",
            "balance": seeding.balance,
        }
        alias = _alias(account, seeding.flow, n)
        config.setdefault("accounts", []).append(account)
        worker = _consent(config, seeding, pisp, account, payee) if payee else None
        workers.append(Seeded(user, account["address"], account["currency"], alias, worker))
    return workers


def _forget_earlier_workers(config: dict[str, Any], seeding: Seeding) -> None:
    """Drop the users ``load{n}`` at ``--dfsp``, their accounts and the consents to them
    that a run left in force when it was killed before it could put the config back:
    this run seeds them anew (else the server refuses them as declared twice)."""
    users = {f"load{n}" for n in range(seeding.workers)}
    config["users"] = [
        u
        for u in config.get("users") or []
        if not (u.get("user_id") in users and u.get("fsp_id") == seeding.dfsp)
    ]
    gone = {
        a.get("address")
        for a in config.get("accounts") or []
        if a.get("owner") in users and a.get("fsp_id") == seeding.dfsp
    }
    config["accounts"] = [a for a in config.get("accounts") or [] if a.get("address") not in gone]
    config["consents"] = [
        c
        for c in config.get("consents") or []
        if not any(s.get("address") in gone for s in c.get("scopes") or [])
    ]


def _alias(account: dict[str, Any], flow: str, n: int) -> str | None:
    """Give a PSD2 flow's account its currency and the alias the dialect names it by."""
    if flow in ("xs2a", "stet"):
        account["address"] += ".eur"
        account["currency"] = "EUR"
        account["iban"] = iban("DE", f"99990000{n:010d}")
        return str(account["iban"])
    if flow == "obie":
        account["address"] += ".gbp"
        account["currency"] = "GBP"
        account["sort_code_account_number"] = f"999999{n:08d}"
        return str(account["sort_code_account_number"])
    return None


def iban(country: str, bban: str) -> str:
    """The IBAN of ``bban`` in ``country``, its check digits computed (ISO 13616 mod 97)."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _consent(
    config: dict[str, Any], seeding: Seeding, pisp: str, account: dict[str, Any], payee: _Found
) -> Worker:
    """A consent to ``pisp`` for ``account`` with a new credential: the transfer's worker."""
    signer = SoftwareAuthenticator.create(credential_type=seeding.credential_type)
    consent_id = str(uuid.uuid4())
    credential: dict[str, Any] = {"type": signer.credential_type}
    credential["public_key_pem"] = signer.public_key_pem
    if signer.credential_id_b64url:
        credential["credential_id"] = signer.credential_id_b64url
    address = account["address"]
    config.setdefault("consents", []).append(
        {
            "consent_id": consent_id,
            "pisp": pisp,
            "dfsp": seeding.dfsp,
            "scopes": [{"address": address, "actions": ["ACCOUNTS_TRANSFER"]}],
            "credential": credential,
        }
    )
    return Worker(consent_id, address, seeding.dfsp, payee.currency, signer, payee.payee)


@dataclass(frozen=True, slots=True)
class _Found:
    payee: Payee
    currency: str


def _payee(config: dict[str, Any], msisdn: str) -> _Found:
    """The party ``msisdn`` of the config, with its account's currency."""
    party = next(
        (p for p in config.get("parties") or [] if p.get("party_identifier") == msisdn), None
    )
    if party is None:
        raise CannotPlay(f"the server has no party with MSISDN {msisdn!r} to pay (--payee)")
    account: dict[str, Any] = next(
        (a for a in config.get("accounts") or [] if a.get("address") == party.get("account")), {}
    )
    payee = Payee(id=msisdn, fsp=party.get("fsp_id"), name=None)
    return _Found(payee, str(account.get("currency") or "USD"))
