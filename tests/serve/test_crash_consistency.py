"""``tpsim serve --state``: a kill -9 at an unlucky moment loses nothing tpsim answered for.

Each case is a moment found by killing a served tpsim at random under load (Mojaloop
transfers and XS2A payments) and restarting it on the same file, reduced to one
deterministic moment. A kill is played as in ``test_durable_state``: ``crash_image`` is the
file and its write-ahead log as they are on disk at that moment, and the restart is a new
``Simulation`` on that image. The XS2A cases go through the served edge on a loopback port:
every answer is written before it goes out (``serve.app.written``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.core.test_sqlite_store import crash_image
from tests.serve import test_durable_state as durable
from tests.serve.test_durable_state import AUTHZ, IN_FLIGHT, TX, Start, code
from tests.serve.test_xs2a import LUCA, MAX, PAYMENTS, headers, payment
from tests.support.loopback import serving
from tpsim.config import load_config
from tpsim.mojaloop.message import Message
from tpsim.mojaloop.steps import DeliveryResult
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation
from tpsim.serve.transports import accept

TPP = "http://localhost:8000/"  # a redirect URI of the built-in TPP
start = durable.start  # the fixture: tpsims on state files, as ``test_durable_state`` has them


@asynccontextmanager
async def served(state: Path) -> AsyncIterator[str]:
    """tpsim with the built-in config on ``state``, served on a loopback port: its URL.
    Take a crash image inside the block: leaving it closes the file (a clean stop)."""
    async with serving(create_app(Simulation(load_config(), state=state))) as url:
        yield url


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers=headers()) as response:
        return response.status, await response.json()


async def after_restart(image: Path, payment_id: str) -> tuple[int, Any, dict[str, str]]:
    """From a tpsim restarted on ``image``: what ``GET …/{paymentId}/status`` answers, and
    every account's balance (``GET /admin/accounts``)."""
    async with served(image) as url, aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{url}{PAYMENTS}/{payment_id}/status")
        _, accounts = await call(http, "GET", f"{url}/admin/accounts")
    return status, body, {a["address"]: a["balance"] for a in accounts["accounts"]}


async def test_an_xs2a_payment_answered_201_is_there_after_a_kill(tmp_path: Path) -> None:
    async with served(tmp_path / "state.db") as url, aiohttp.ClientSession() as http:
        async with http.post(
            url + PAYMENTS, json=payment(MAX, "25"), headers=headers(TPP_Redirect_URI=TPP)
        ) as response:
            assert response.status == 201
            created = await response.json()
        image = crash_image(tmp_path / "state.db")  # kill -9 once the TPP has its 201

    status, body, _ = await after_restart(image, created["paymentId"])

    assert (status, body.get("transactionStatus")) == (200, "RCVD"), body


async def test_a_same_bank_xs2a_payment_reported_accc_stays_accc_after_a_kill(
    tmp_path: Path,
) -> None:
    async with served(tmp_path / "state.db") as url, aiohttp.ClientSession() as http:
        async with http.post(
            url + PAYMENTS, json=payment(LUCA, "25"), headers=headers(TPP_Redirect_URI=TPP)
        ) as response:
            assert response.status == 201
            created = await response.json()
        link = created["_links"]["scaRedirect"]["href"] + "?sim_decision=approve"
        async with http.get(link, allow_redirects=False) as back:
            assert back.status == 302
        status, told = await call(http, "GET", f"{url}{PAYMENTS}/{created['paymentId']}/status")
        assert (status, told["transactionStatus"]) == (200, "ACCC")
        image = crash_image(tmp_path / "state.db")  # kill -9 once the TPP was told ACCC

    status, body, balances = await after_restart(image, created["paymentId"])

    assert (status, body.get("transactionStatus")) == (200, "ACCC"), body
    assert (balances["dfspa.erika.giro"], balances["dfspa.luca.giro"]) == ("4975", "125")


async def test_a_transaction_in_flight_gets_its_2001_even_if_the_restart_is_killed(
    start: Start,
) -> None:
    first = start()
    await first.until_authorization(IN_FLIGHT)  # and then: kill -9
    # The restart has read the file (the Simulation is built) but has not resumed: the
    # server is not even listening yet when this second kill comes.
    second = start(crash_image(first.path))
    assert second.pisp.received == []

    third = start(crash_image(second.path, "again"))
    await third.restarted()

    assert await third.state_of(IN_FLIGHT) == "REJECTED"  # ended, and written with…
    errors = [m for m in third.pisp.received if m.path == f"{TX}/{IN_FLIGHT}/error"]
    assert [code(m) for m in errors] == ["2001"]  # …the callback that tells the PISP


async def test_a_2001_written_but_not_yet_delivered_at_a_kill_is_sent_after_the_next_restart(
    start: Start,
) -> None:
    first = start()
    await first.until_authorization(IN_FLIGHT)  # and then: kill -9
    second = start(crash_image(first.path))
    images: list[Path] = []

    def killed_as_it_leaves(message: Message) -> DeliveryResult:
        """The kill comes as the 2001 leaves, before the PISP has read it."""
        images.append(crash_image(second.path, "sending"))
        return accept(message)

    second.pisp.handler = killed_as_it_leaves
    await second.restarted()
    assert [m.path for m in second.pisp.received] == [f"{TX}/{IN_FLIGHT}/error"]

    third = start(images[0])
    await third.restarted()

    errors = [m for m in third.pisp.received if m.path == f"{TX}/{IN_FLIGHT}/error"]
    assert [code(m) for m in errors] == ["2001"]


async def test_a_request_cut_off_as_it_left_is_not_sent_again_after_the_restart(
    start: Start,
) -> None:
    # Only callbacks are kept until delivered: an authorization request sent again after
    # the restart would ask the PISP to sign for a transaction the restart failed.
    first = start()
    images: list[Path] = []

    def killed_as_it_leaves(message: Message) -> DeliveryResult:
        if message.path == AUTHZ:
            images.append(crash_image(first.path, "asking"))
        return accept(message)

    first.pisp.handler = killed_as_it_leaves
    await first.until_authorization(IN_FLIGHT)

    second = start(images[0])
    await second.restarted()

    assert [m.path for m in second.pisp.received] == [f"{TX}/{IN_FLIGHT}/error"]
