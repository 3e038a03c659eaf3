"""``tpsim load --flow link``: a worker links its user's account again and again, as a PISP
links a new user (linking §2.2, from the consent request on: ``pisp_linking.consent``).

Each link is a new consent request over the worker's channel: OTP (read from tpsim's
admin API, as the user would read their SMS) or WEB (the DFSP's login page signed in and
approved, its redirect followed, as ``tpsim pisp link`` does), a new credential (FIDO or
GENERIC) registered over the consent's challenge, and the DFSP's ``PATCH /consents/{ID}``
saying VERIFIED. Discovery and the account list are left out: they are the same answer
every time, and the worker knows its account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.scenario.load import Completed, Run
from tpsim.scenario.pisp_flows import Flow
from tpsim.scenario.pisp_linking import LinkPlan, consent

Channel = Literal["OTP", "WEB"]
CredentialType = Literal["FIDO", "GENERIC"]


@dataclass(frozen=True, slots=True)
class Linker:
    """One user's side of the PISP: who links which accounts at which DFSP, and how."""

    user: str
    dfsp: str
    accounts: list[str]
    channel: Channel = "OTP"
    credential_type: CredentialType = "FIDO"


def link_run(flow: Flow, linker: Linker) -> Run:
    """The linker's account linked anew on each call (the amount is not used)."""

    async def run(amount: str) -> Completed:
        credential = SoftwareAuthenticator.create(credential_type=linker.credential_type)
        plan = LinkPlan(linker.user, linker.channel, linker.dfsp, credential)
        linked = await consent(flow, plan, linker.accounts)
        times = linked.times
        return Completed.of(
            "link",
            times.requested,
            times.verified,
            (times.requested, times.channel),
            (times.channel, times.authenticated),
            (times.authenticated, times.granted),
            (times.registered, times.verified),
        )

    return run
