"""The live page ``/ui`` in a real headless chromium (issue 16): while a Mojaloop transfer and
an XS2A payment run, it draws every hop as an arrow between the participants' lanes, shows a
message's headers and body as selectable text on click, filters by correlation id, pauses
and clears; its lanes fit the window; with an admin token it asks for it. The page's own
policy (CSP) must let it run: any console error fails the test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.serve.test_admin_token import TOKEN
from tests.serve.test_live import mojaloop_transfer, xs2a_payment
from tests.support.browser import CHROMIUM, needs_browser
from tests.support.linking import CAROL, CAROL_CHEQUING, link, new_authenticator, uid
from tests.support.scheme import Scheme
from tpsim.config import load_config
from tpsim.journal import Hop, HttpExchange
from tpsim.serve.admin import ADMIN_TOKEN
from tpsim.serve.app import create_app
from tpsim.serve.simulation import Simulation

pytestmark = needs_browser("test_live.py covers the stream the page reads")
SCREENSHOT = "/tmp/live_ui.png"  # noqa: S108 - looked at by the person running the test


@asynccontextmanager
async def browser_page(
    width: int = 1280, height: int = 900, *, expected: tuple[str, ...] = ()
) -> AsyncIterator[Any]:
    """A page of a headless chromium; console errors (but the ``expected`` ones) and page
    errors fail the test."""
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            yield page
        finally:
            await browser.close()
    assert not [p for p in problems if not any(e in p for e in expected)], problems


@asynccontextmanager
async def watching(
    url: str, width: int = 1280, height: int = 900, *, expected: tuple[str, ...] = ()
) -> AsyncIterator[Any]:
    """The live page of the tpsim at ``url``, once it is connected."""
    async with browser_page(width, height, expected=expected) as page:
        await page.goto(url + "/ui")
        await page.wait_for_selector("#state.live")
        yield page


async def rows_drawn(page: Any, count: int) -> None:
    # A function, not an expression: the page's CSP forbids eval, which Playwright's polling
    # of an expression would need.
    await page.wait_for_function(
        "count => document.querySelectorAll('.hop').length === count", arg=count
    )


async def all_drawn(page: Any, scheme: Scheme) -> int:
    """Wait until the page shows every hop tpsim has journaled; returns how many."""
    assert scheme.sim is not None
    await scheme.settle()
    count = len(scheme.sim.journal)
    await rows_drawn(page, count)
    return count


async def centre_x(locator: Any) -> float:
    box = await locator.bounding_box()
    return float(box["x"] + box["width"] / 2)


async def test_the_page_draws_a_transfer_and_a_payment_live_and_shows_a_body_on_click(
    scheme: Scheme,
) -> None:  # pragma: no cover
    assert scheme.sim is not None
    async with watching(scheme.url) as page:
        request_id = await mojaloop_transfer(scheme, 1)
        payment_id = await xs2a_payment(scheme, 2)
        await scheme.settle()
        entries = scheme.sim.journal.entries()
        await rows_drawn(page, len(entries))

        lanes = await page.locator(".lane b").all_inner_texts()
        assert lanes == ["pispa", "tpp-one", "switch", "dfspa", "dfspb", "central-auth", "PSU"]
        # The PISP's transfer ends with dfspa's PATCH to it: an arrow from one lane to the other.
        patch = page.locator(".hop", has_text="PATCH /thirdpartyRequests/transactions")
        arrow = patch.locator(".arrow")
        box = await arrow.bounding_box()
        pispa, dfspa = page.locator(".lane").nth(0), page.locator(".lane").nth(3)
        assert abs(box["x"] - await centre_x(pispa)) < 3
        assert abs(box["x"] + box["width"] - await centre_x(dfspa)) < 3
        assert await arrow.get_attribute("class") == "arrow left"
        assert await page.locator(".hop.oob", has_text="/login/dfspa/xs2a").count() == 1

        await patch.click()
        (sent,) = [e for e in entries if e.method == "PATCH" and request_id in e.path]
        body = page.locator(".detail pre.body")
        expected = json.dumps(sent.body, indent=2, ensure_ascii=False)
        assert await body.inner_text() == expected
        assert "FSPIOP-Source: dfspa" in await page.locator(".detail pre.headers").inner_text()
        selected = await body.evaluate(
            """pre => { const range = document.createRange(); range.selectNodeContents(pre);
            getSelection().removeAllRanges(); getSelection().addRange(range);
            return getSelection().toString(); }"""
        )
        assert selected == expected  # bodies are text to copy, not tooltips
        await page.set_viewport_size({"width": 1280, "height": 1900})
        await page.screenshot(path=SCREENSHOT)

        # Responsive: every lane and arrow inside the window, at this width and a narrower one.
        for width in (1280, 820):
            await page.set_viewport_size({"width": width, "height": 900})
            fits = "(d => d.scrollWidth <= d.clientWidth)(document.getElementById('diagram'))"
            assert await page.evaluate(fits), f"the diagram overflows at {width}px"
        await page.set_viewport_size({"width": 1280, "height": 900})

        # A correlation id: only that conversation, its linked settlement hops included.
        await page.fill("#cid", payment_id)
        await page.press("#cid", "Enter")
        await rows_drawn(page, len(scheme.sim.journal.entries(correlation_id=payment_id)))
        assert await page.locator(".hop", has_text="thirdpartyRequests").count() == 0
        assert await page.locator(".hop", has_text="POST /quotes").count() == 1


async def test_pause_holds_new_arrows_back_and_clear_empties_the_diagram(
    scheme: Scheme,
) -> None:  # pragma: no cover
    assert scheme.sim is not None
    async with watching(scheme.url) as page:
        await mojaloop_transfer(scheme, 1)
        first = await all_drawn(page, scheme)

        await page.click("#pause")
        await mojaloop_transfer(scheme, 2)
        await scheme.settle()
        held = len(scheme.sim.journal) - first
        await page.wait_for_function(
            "text => document.getElementById('pause').textContent === text",
            arg=f"Resume ({held} new)",
        )
        assert await page.locator(".hop").count() == first
        await page.click("#pause")
        await rows_drawn(page, first + held)

        await page.click("#clear")
        await rows_drawn(page, 0)
        assert await page.locator(".lane").count() == 0
        await mojaloop_transfer(scheme, 3)  # the stream goes on after a clear
        await scheme.settle()
        await rows_drawn(page, len(scheme.sim.journal) - first - held)


async def test_with_an_admin_token_the_page_asks_for_it_then_watches() -> None:  # pragma: no cover
    sim = Simulation(load_config())
    app = create_app(sim)
    app[ADMIN_TOKEN] = TOKEN
    async with (
        TestServer(app, host="127.0.0.1") as server,
        browser_page(expected=("status of 401 (Unauthorized)",)) as page,
    ):
        await page.goto(str(server.make_url("/ui")))
        await page.wait_for_selector("#token:not([hidden])")
        assert "needs a token" in await page.inner_text("#token-why")
        await page.fill("#token-input", TOKEN)
        await page.click("#token button")
        await page.wait_for_selector("#state.live")
        exchange = HttpExchange("GET", "/xs2a/dfspa/v1/accounts", {}, None, "tpp-one", "dfspa")
        sim.journal.record(Hop.RECEIVED, exchange, at=datetime.now(UTC), dialect="xs2a")
        await rows_drawn(page, 1)
        assert TOKEN not in page.url


async def test_on_a_phone_the_diagram_scrolls_sideways_and_the_page_does_not(
    scheme: Scheme,
) -> None:  # pragma: no cover
    assert scheme.sim is not None
    async with watching(scheme.url, width=390, height=800) as page:
        await mojaloop_transfer(scheme, 1)
        await all_drawn(page, scheme)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        assert await page.locator("#everything").is_visible()  # the controls wrap, not hide
        diagram = page.locator("#diagram")
        # Lanes keep a readable width: the diagram scrolls to the last one, nothing is cut.
        assert await diagram.evaluate("d => d.scrollWidth > d.clientWidth")
        await diagram.evaluate("d => { d.scrollLeft = d.scrollWidth; }")
        box = await page.locator(".lane").last.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        await page.screenshot(path="/tmp/live_ui_phone.png")  # noqa: S108


async def test_linking_by_otp_shows_the_als_and_the_user_told_out_of_band(
    scheme: Scheme,
) -> None:  # pragma: no cover
    assert scheme.sim is not None
    async with watching(scheme.url) as page:
        await link(
            scheme, uid("live"), new_authenticator("FIDO"), CAROL, [CAROL_CHEQUING], channel="OTP"
        )
        await all_drawn(page, scheme)
        lanes = await page.locator(".lane b").all_inner_texts()
        assert lanes == ["pispa", "switch", "ALS", "dfspa", "central-auth", "user"]
        sms = page.locator(".hop.oob")
        assert await sms.count() == 1 and "SMS /users/carol" in await sms.inner_text()
        assert await page.locator(".hop", has_text="/participants/CONSENT").count() == 2


async def test_a_refused_request_is_red_from_an_unknown_sender_with_the_reason(
    scheme: Scheme,
) -> None:  # pragma: no cover
    async with watching(scheme.url) as page:
        async with (
            aiohttp.ClientSession() as http,
            http.post(scheme.url + "/thirdpartyRequests/transactions", json={}) as answer,
        ):
            assert answer.status == 400
        await rows_drawn(page, 1)
        assert await page.locator(".lane b").all_inner_texts() == ["unknown sender", "switch"]
        refused = page.locator(".hop.err.received")
        assert "→ 400" in await refused.inner_text()
        await refused.click()
        assert scheme.sim is not None
        (entry,) = scheme.sim.journal.entries()
        reason = page.locator('.detail dt:text-is("error") + dd')
        assert entry.error and await reason.inner_text() == entry.error  # what to fix


def hop(n: int) -> HttpExchange:
    return HttpExchange("GET", f"/hop/{n}", {}, None, "tpp-one", "dfspa")


async def test_after_tpsim_restarts_the_page_reads_its_new_journal_from_the_start() -> None:
    before = Simulation(load_config())
    for n in range(3):
        before.journal.record(Hop.RECEIVED, hop(n), at=datetime.now(UTC), dialect="xs2a")
    server = TestServer(create_app(before), host="127.0.0.1")
    await server.start_server()
    port = server.port
    async with browser_page(expected=("ERR_CONNECTION_REFUSED",)) as page:
        await page.goto(str(server.make_url("/ui")))
        await rows_drawn(page, 3)
        await server.close()
        after = Simulation(load_config())  # a new process: its seqs start at 1 again
        after.journal.record(Hop.RECEIVED, hop(9), at=datetime.now(UTC), dialect="xs2a")
        async with TestServer(create_app(after), host="127.0.0.1", port=port):
            await page.locator(".hop", has_text="GET /hop/9").wait_for()
            await rows_drawn(page, 1)
