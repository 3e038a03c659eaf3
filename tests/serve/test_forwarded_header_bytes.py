"""The switch forwards a message's headers as they came (central-services-shared
``transformHeaders``): a header whose bytes are no UTF-8 reaches the external participant as
the same bytes. Before, tpsim's callback client could not write it, and the sender got a
1001 error callback saying the destination could not be reached."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.conftest import MakeScheme
from tests.support.overrides import with_second_pisp
from tests.support.raw_http import send_raw
from tests.support.scheme import transaction_request
from tpsim.mojaloop.wire.headers import build_headers

REQUEST = "9c5c9d7e-58a1-4f3e-9a4b-6f1d2e3c4b5a"
TX = "/thirdpartyRequests/transactions"


async def test_a_header_of_bytes_that_are_no_utf8_is_forwarded_as_those_bytes(
    make_scheme: MakeScheme,
) -> None:
    scheme = await make_scheme(**with_second_pisp())
    headers: dict[str, str | bytes] = {
        **build_headers("POST", "thirdparty", "pispa", "pispb", datetime.now(UTC)),
        "X-Trace-Note": b"caf\xe9 \xff",
    }
    body = json.dumps(transaction_request(REQUEST)).encode()
    answer = await send_raw(scheme.url, "POST", TX, headers, body)
    assert answer.status == 202
    await scheme.settle()
    [got] = scheme.pisps["pispb"].received
    assert (got.method, got.path) == ("POST", TX)
    # The PISP's server decodes the header's bytes as tpsim's did: the same lone surrogates.
    assert got.headers["X-Trace-Note"].encode("utf-8", "surrogateescape") == b"caf\xe9 \xff"
    assert [m.path for m in scheme.pisp.received] == []  # no error callback to the sender
