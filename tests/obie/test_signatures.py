"""``obie.signatures``: every answer with a body carries the bank's detached
``x-jws-signature`` over the bytes ``encode`` makes; a TPP's signature is ignored by
default and, with ``strict_signatures``, required, well formed and verified against the
TPP's ``jwks``."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from tpsim.config_psd2 import TppConfig
from tpsim.obie.signatures import CLAIMS, OB, REGISTRY, TAN, encode

from .support import REDIRECT, consent_body, world

TPP_KEY = ECKey.generate_key("P-256", parameters={"kid": "tpp-key"})
SIGNER = TppConfig(
    client_id="tpp-one",
    client_secret="secret-one",
    name="Signing TPP",
    redirect_uris=[REDIRECT],
    jwks={"keys": [TPP_KEY.as_dict(private=False)]},
)


def detached(payload: bytes, key: ECKey = TPP_KEY, **header: object) -> str:
    protected = {
        "alg": "ES256",
        "kid": key.kid,
        "crit": list(CLAIMS),
        f"{OB}iat": int(time.time()),
        f"{OB}iss": "tpp-one",
        f"{OB}tan": TAN,
        **header,
    }
    compact = jws.serialize_compact(
        protected, payload, key, algorithms=["ES256"], registry=REGISTRY
    )
    head, _, signature = compact.split(".")
    return f"{head}..{signature}"


def test_an_answer_is_signed_by_the_bank_over_its_encoded_body() -> None:
    w = world()
    answer = w.consent()
    assert answer.body is not None
    keys = KeySet.import_key_set(w.oauth.jwks())  # type: ignore[arg-type]
    jws.deserialize_compact(answer.headers["x-jws-signature"], keys, algorithms=["PS256"],
                            payload=encode(answer.body), registry=REGISTRY)  # fmt: skip


def test_by_default_a_tpps_signature_is_not_checked() -> None:
    w = world()
    answer = w.call("POST", "domestic-payment-consents", consent_body(), token=w.client_token(),
                    x_jws_signature=None)  # fmt: skip
    assert answer.status == 201


def strict_call(signature: str | None, body: bytes | None = None) -> tuple[int, str | None]:
    w = world(behaviour={"strict_signatures": True}, tpps=(SIGNER,))
    raw = body if body is not None else json.dumps(consent_body()).encode()
    answer = w.call("POST", "domestic-payment-consents", raw, token=w.client_token(SIGNER),
                    x_jws_signature=signature)  # fmt: skip
    error = answer.body["Errors"][0]["ErrorCode"] if answer.status != 201 else None  # type: ignore[index]
    return answer.status, error


BODY = json.dumps(consent_body()).encode()


def with_b64() -> str:
    """A detached signature whose header says b64 false (RFC 7797), as before v3.1.4."""
    head, _, signature = detached(BODY).partition("..")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    header.update(b64=False, crit=[*header["crit"], "b64"])
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")
    return f"{encoded}..{signature}"


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        pytest.param(None, (400, "U018"), id="missing"),
        pytest.param("not-a-jws", (400, "U017"), id="not a detached JWS"),
        pytest.param(with_b64(), (400, "U017"), id="b64 false (dropped in v3.1.4)"),
        pytest.param(detached(b"another body"), (400, "U015"), id="over other bytes"),
        pytest.param(detached(BODY, ECKey.generate_key("P-256", parameters={"kid": "x"})),
                     (400, "U015"), id="by a key the TPP did not register"),
        pytest.param(detached(BODY), (201, None), id="valid"),
    ],
)  # fmt: skip
def test_strict_signatures_are_required_well_formed_and_verified(
    signature: str | None, expected: tuple[int, str | None]
) -> None:
    assert strict_call(signature, BODY) == expected


def with_crit(crit: object) -> str:
    """A detached signature of ``BODY`` whose protected header's ``crit`` is ``crit``."""
    head, _, signature = detached(BODY).partition("..")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    header["crit"] = crit
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")
    return f"{encoded}..{signature}"


@pytest.mark.parametrize(
    "crit",
    [[[1], *CLAIMS], [*CLAIMS, {"a": 1}], [*CLAIMS, 5]],
    ids=["an array in crit", "an object in crit", "a number in crit"],
)
def test_a_strict_signature_whose_crit_is_not_all_names_is_malformed(crit: object) -> None:
    assert strict_call(with_crit(crit), BODY) == (400, "U017")
