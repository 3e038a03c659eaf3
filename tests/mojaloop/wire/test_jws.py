"""Mojaloop's request signature, ``FSPIOP-Signature`` (``mojaloop.wire.jws``).

The vectors were made by an independent signer written with Node's ``crypto`` module from
sdk-standard-components' ``jwsSigner`` (protected header as ``JSON.stringify`` orders it,
ES256 as r || s): tpsim writes RS256 byte for byte as Mojaloop does and verifies what
Mojaloop writes. Then every check the validator makes, one row each.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tpsim.auth import keys
from tpsim.auth.jws_keys import jws_private_key, jws_public_key
from tpsim.config import load_config, parse_config
from tpsim.errors import ConfigError
from tpsim.mojaloop.errors import InvalidSignature
from tpsim.mojaloop.wire import jws

# Test keys: never use them for anything real.
RSA_PRIVATE = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4YFqRIWN+a5AG
RpHKq/AdCqIU0rvYuQbqIzyEUHXbQvb5WT6r7j8+jz9z4GQjIPEH/lP3zBcOdnpZ
qdPpvbaQa2mEBMN+YmSJ2X+lzPNJ/kJSSiey/XLv4gdtxtvJCvhHY+xjEqYUZse7
MAoQ94sC6EwXfJcIINAanIzTwdcWVQi71v/eIV3rD94avT1oyxKISIs319l60W2h
QmhEO9KnnfvYVMbpkEJVF04Vidf+LoKrKWpDjU0yhTN+qjDDUz9vntoHeYzp0V74
N1lVkHO6iDAU1KX+tTtcTZ9WZtaRjsjt+EMznU4FrzHAp2juG52oHP+5+bXxtWQl
7jRmiizNAgMBAAECggEADmChH1kZr5WGrR6aptHCjxkxq2sFb/B5vA9UXEMD9b2i
ka4mZ3TUJLY57fjNBjo+4W8xMA0PrTaK8uv91OfQ0TE3EK7oabYVffRiclTpkdcM
Z+tVbi06Zb9b8fEEWYiL9NEzcURWhBfBsnScDFepVOg1as1x35XjdHfJuYePlLOZ
2Y/OmnWgVgpHd2C6yGxEbESFotC1pJA+EerSnvwnA2xsnx7RL+F23c4OpfIQN3Oc
iDKseqih10GNC1ffVvofpFQVzZMZNGKG4hfW2cBS89J3Y+IoMMCHNnlFwgKnfoKn
wzy33wOAMbm76kJdKBKaB5LJ2CbpFtR/S+hzCRa04QKBgQDp3lF9OAx67/Po+mGi
a5ViwDm0L1l1VoVtO7nzcLrSHaPBhIe59dk5dZk+XjJvlGHAGJ8F9OE3NSwTnzUP
hATp8RlGLiV3801LLeJubze1vf2vCB24vHq/dMZufHvJuo8fqnb2XEXGu5TV0+ex
0xdm/PvnKfRHX/lbqstdFtBq0QKBgQDJ0wtTTC2kjobn2AnyJKfH8xcvbipDHepw
WKod7K/dODqYUxPkREHBM5ow4KhTLFHB9K/6S0Kj6JcMpHouGoojlDnHwyRnisEg
jtw4sIm/dPfyUT1FujcUVk8zSqggMUiiB9hoB7Ah6kDy2u1HbS5WKwz83ToK30yR
6m4onEFpPQKBgGRYl+56liBJxQY6KJpgPwDYKeo+RswqC6YK8oaZ4A832IO4MeSA
sGwPIWm5UTq/GBIsfk83+0qM7hSdQ08c/l7CrG2Ib1tAcfHIBlgMMIMyuh7YBKi3
dpOfr2TI1PSBr9eOdOzQOsBCzGHTQp7yTCBMfGl7fu0BKSVD625N06+BAoGBAMD4
fw2n+sQqWqb2k5vonFu7/GEnTlVaFzxQKmfuVMCJ8MyQMqbA9LYL5tPxGkBcUdfH
YzNIHnGmBDbcVM4cJhSatxxfY0F1E+9TaRDzCuH6rtAMCS/QOrXBSHzcVyBgvvfd
1HazUx86YdtSpCj1JabSBtsHk2Wt2AJ0Sduee5RpAoGAcWIkqfvRtDLWeVZTmgOV
EhaxNdMujcfZe2JkmAjxZOgQfl6bAGGBIBtA2eg4BZ7eAyQsZ0nOMkpmLhQcBzyp
oKr0maM2SdOeYNj1ctqmF99qQzm8fOxugRe8cGqOhKcRV+uHzOd7m2M1haJbdX83
AfE/McKkTRJqbElUGJOFbKk=
-----END PRIVATE KEY-----
"""

RSA_PUBLIC = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuGBakSFjfmuQBkaRyqvw
HQqiFNK72LkG6iM8hFB120L2+Vk+q+4/Po8/c+BkIyDxB/5T98wXDnZ6WanT6b22
kGtphATDfmJkidl/pczzSf5CUkonsv1y7+IHbcbbyQr4R2PsYxKmFGbHuzAKEPeL
AuhMF3yXCCDQGpyM08HXFlUIu9b/3iFd6w/eGr09aMsSiEiLN9fZetFtoUJoRDvS
p5372FTG6ZBCVRdOFYnX/i6CqylqQ41NMoUzfqoww1M/b57aB3mM6dFe+DdZVZBz
uogwFNSl/rU7XE2fVmbWkY7I7fhDM51OBa8xwKdo7hudqBz/ufm18bVkJe40Zoos
zQIDAQAB
-----END PUBLIC KEY-----
"""

EC_PRIVATE = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMObUrljkMRFVyNdJ
ePDLdyj/gbvyVaPceLpgQ5JWqvGhRANCAAQJh1XpfF2vRhZCnMuupjsFCsgBLzbe
rCXSzbO6dQWA37wOrBHjUKB0ou8PG+ZUv3R9/tw55pnCDSO0Rj3p9Teo
-----END PRIVATE KEY-----
"""

EC_PUBLIC = """\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECYdV6Xxdr0YWQpzLrqY7BQrIAS82
3qwl0s2zunUFgN+8DqwR41CgdKLvDxvmVL90ff7cOeaZwg0jtEY96fU3qA==
-----END PUBLIC KEY-----
"""

PATH = "/consentRequests/6988c34f-055b-4ed5-b223-b10c8a2e2329"
HEADERS = {
    "FSPIOP-Source": "pispa",
    "FSPIOP-Destination": "dfspa",
    "Date": "Thu, 24 Jan 2019 10:23:12 GMT",
}
BODY = b'{"consentRequestId":"6988c34f-055b-4ed5-b223-b10c8a2e2329","authToken":"123456"}'
# What Node's crypto signed over PATCH PATH with HEADERS and BODY.
NODE_RS256 = json.dumps(
    {
        "signature": (
            "WpyLXcSTogNsODVhEYYyLmIazdUtCQ-BYHhLwuYhuG8cfoEUNu62hxXYV5vH3du_R7B9DuxJm2tLQnQMHcPVdGtR"
            "50v1xMXWy-Axc3zIhHBDRZtH8WQuzXeAa8HKBJQ0ARd68OwPPCZlcVk2-I5sAj8_V5Ce03Ro18Q85DhCsjHHmozX"
            "Xnv97ZsbNGxLRzqXF7CSPCjjQ0WLBfgzbk6ztRigBBLSY7AEfCx9TBYRlam2JZTzdsmwWe5Kkw1Yz6_FuPgfeoqY"
            "4bCPFGqR9AF_cGxrpV1gJb3-wa9huQn8oFyaqFmA_B-szJWWQoVxf8aPvF_GkQZnjeK4FJ-1FWRHdg"
        ),
        "protectedHeader": (
            "eyJhbGciOiJSUzI1NiIsIkZTUElPUC1VUkkiOiIvY29uc2VudFJlcXVlc3RzLzY5ODhjMzRmLTA1NWItNGVkNS1i"
            "MjIzLWIxMGM4YTJlMjMyOSIsIkZTUElPUC1IVFRQLU1ldGhvZCI6IlBBVENIIiwiRlNQSU9QLVNvdXJjZSI6InBp"
            "c3BhIiwiRlNQSU9QLURlc3RpbmF0aW9uIjoiZGZzcGEiLCJEYXRlIjoiVGh1LCAyNCBKYW4gMjAxOSAxMDoyMzox"
            "MiBHTVQifQ"
        ),
    },
    separators=(",", ":"),
)

NODE_ES256 = json.dumps(
    {
        "signature": (
            "CE2KXe2oNeiQHc8xgZbNspXnkUbLHWcWq_5R2jfSCv_KVUoD6oT1Qt31P5Ow4Y-d6NVrOkhCYnIy4Cqc2EH_8w"
        ),
        "protectedHeader": (
            "eyJhbGciOiJFUzI1NiIsIkZTUElPUC1VUkkiOiIvY29uc2VudFJlcXVlc3RzLzY5ODhjMzRmLTA1NWItNGVkNS1i"
            "MjIzLWIxMGM4YTJlMjMyOSIsIkZTUElPUC1IVFRQLU1ldGhvZCI6IlBBVENIIiwiRlNQSU9QLVNvdXJjZSI6InBp"
            "c3BhIiwiRlNQSU9QLURlc3RpbmF0aW9uIjoiZGZzcGEiLCJEYXRlIjoiVGh1LCAyNCBKYW4gMjAxOSAxMDoyMzox"
            "MiBHTVQifQ"
        ),
    },
    separators=(",", ":"),
)


def received(**changes: Any) -> dict[str, Any]:
    """The PATCH as tpsim received it, Mojaloop's extra headers included; ``changes`` to
    ``method``, ``path``, ``body`` or headers (a header set to None is removed)."""
    request: dict[str, Any] = {
        "method": "PATCH",
        "path": PATH,
        "body": BODY,
        "headers": {**HEADERS, "FSPIOP-URI": PATH, "FSPIOP-HTTP-Method": "PATCH"},
    }
    for name, value in changes.items():
        if name in request:
            request[name] = value
        elif value is None:
            del request["headers"][name]
        else:
            request["headers"][name] = value
    return request


def check(value: str, key: str = RSA_PUBLIC, **changes: Any) -> None:
    r = received(**changes)
    jws.verify(value, r["method"], r["path"], r["headers"], r["body"], jws_public_key(key))


def forged(protected: dict[str, Any], body: bytes = BODY, key: str = RSA_PRIVATE) -> str:
    """A header value validly signed by ``key`` over any protected header."""
    encoded = _b64url(json.dumps(protected).encode())
    signature = keys.sign(jws_private_key(key), f"{encoded}.{_b64url(body)}".encode())
    return json.dumps({"signature": _b64url(signature), "protectedHeader": encoded})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def protected_header(**changes: Any) -> dict[str, Any]:
    """The vector's protected header with ``changes`` (None removes a member)."""
    header = {
        "alg": "RS256",
        "FSPIOP-URI": PATH,
        "FSPIOP-HTTP-Method": "PATCH",
        **HEADERS,
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            del header[name]
        else:
            header[name] = value
    return header


# --- interoperable with Mojaloop's signer -------------------------------------------------


def test_rs256_is_written_byte_for_byte_as_mojaloops_signer_writes_it() -> None:
    value = jws.sign("PATCH", PATH, HEADERS, BODY, jws_private_key(RSA_PRIVATE))

    assert value == NODE_RS256


@pytest.mark.parametrize(("vector", "key"), [(NODE_RS256, RSA_PUBLIC), (NODE_ES256, EC_PUBLIC)])
def test_mojaloops_rs256_and_es256_signatures_verify(vector: str, key: str) -> None:
    check(vector, key)


def test_es256_signed_by_tpsim_verifies_and_is_r_concatenated_with_s() -> None:
    value = jws.sign("PATCH", PATH, HEADERS, BODY, jws_private_key(EC_PRIVATE))

    check(value, EC_PUBLIC)
    assert len(base64.urlsafe_b64decode(json.loads(value)["signature"] + "==")) == 64


def test_signature_headers_add_what_mojaloops_validator_requires() -> None:
    added = jws.signature_headers("PATCH", PATH, HEADERS, BODY, jws_private_key(RSA_PRIVATE))

    assert added == {
        "FSPIOP-URI": PATH,
        "FSPIOP-HTTP-Method": "PATCH",
        "FSPIOP-Signature": NODE_RS256,
    }


def test_a_get_is_never_signed_as_in_mojaloop() -> None:
    assert jws.signature_headers("GET", PATH, HEADERS, None, jws_private_key(RSA_PRIVATE)) == {}


def test_a_delete_without_body_is_signed_over_the_empty_payload() -> None:
    path = "/consents/8e34f91d-d078-4077-8263-2c047876fcf6"
    value = jws.sign("DELETE", path, HEADERS, None, jws_private_key(RSA_PRIVATE))

    delete = {"method": "DELETE", "path": path, "FSPIOP-URI": path, "FSPIOP-HTTP-Method": "DELETE"}

    check(value, body=None, **delete)
    with pytest.raises(InvalidSignature, match="does not verify"):
        check(value, body=b"{}", **delete)


def test_a_prefix_before_the_path_is_tolerated_as_mojaloops_signer_writes_one() -> None:
    # sdk-standard-components' URI pattern does not list /accounts: it signs "//host/…".
    signed_uri = "//switch.example:4040" + PATH
    value = forged(protected_header(FSPIOP_URI=signed_uri))

    check(value, **{"FSPIOP-URI": signed_uri})


# --- every check, one row each --------------------------------------------------------------

OTHER_PATH = "/consentRequests/00000000-0000-4000-8000-000000000000"

# fmt: off
# (case, header value, request changes, field at fault, text the refusal must contain)
REFUSALS: list[tuple[str, Callable[[], str], dict[str, Any], str, str]] = [
    ("not JSON", lambda: "signature", {}, "FSPIOP-Signature", "not JSON"),
    ("a JSON array", lambda: "[]", {}, "FSPIOP-Signature", "JSON object"),
    ("no protectedHeader", lambda: '{"signature": "AA"}', {}, "FSPIOP-Signature",
     "no protectedHeader"),
    ("signature not base64url", lambda: json.dumps({"signature": "a+b/", "protectedHeader": "e30"}),
     {}, "FSPIOP-Signature", "not base64url"),
    ("protected header not JSON", lambda: json.dumps({"signature": "AA", "protectedHeader": "AA"}),
     {}, "FSPIOP-Signature", "protectedHeader is not base64url of a JSON object"),
    ("alg none", lambda: forged(protected_header(alg="none")), {}, "FSPIOP-Signature",
     "RS256 or ES256"),
    ("alg HS256", lambda: forged(protected_header(alg="HS256")), {}, "FSPIOP-Signature",
     "RS256 or ES256"),
    ("alg of another key type", lambda: forged(protected_header(alg="ES256")), {},
     "FSPIOP-Signature", "key signs RS256"),
    ("crit extension", lambda: forged(protected_header(crit=["exp"])), {}, "FSPIOP-Signature",
     "crit"),
    ("body changed", lambda: NODE_RS256, {"body": BODY.replace(b"123456", b"654321")},
     "FSPIOP-Signature", "does not verify"),
    ("body re-serialised", lambda: NODE_RS256, {"body": BODY.replace(b",", b", ")},
     "FSPIOP-Signature", "does not verify"),
    ("signed by another key", lambda: forged(protected_header(), key=_other_key("rsa")), {},
     "FSPIOP-Signature", "does not verify"),
    ("sent to another path", lambda: NODE_RS256, {"path": OTHER_PATH, "FSPIOP-URI": OTHER_PATH},
     "FSPIOP-URI", "path the request was sent to"),
    ("another method", lambda: NODE_RS256, {"method": "PUT", "FSPIOP-HTTP-Method": "PUT"},
     "FSPIOP-HTTP-Method", "request's method"),
    ("no FSPIOP-URI header", lambda: NODE_RS256, {"FSPIOP-URI": None}, "FSPIOP-URI",
     "header is required"),
    ("FSPIOP-URI header differs", lambda: NODE_RS256, {"FSPIOP-URI": OTHER_PATH}, "FSPIOP-URI",
     "FSPIOP-URI header"),
    ("no FSPIOP-HTTP-Method header", lambda: NODE_RS256, {"FSPIOP-HTTP-Method": None},
     "FSPIOP-HTTP-Method", "header is required"),
    ("posing as another source", lambda: NODE_RS256, {"FSPIOP-Source": "pispb"},
     "FSPIOP-Source", "'pispa' differs"),
    ("protected header without source", lambda: forged(protected_header(FSPIOP_Source=None)),
     {}, "FSPIOP-Signature", "no FSPIOP-Source"),
    ("redirected to another destination", lambda: NODE_RS256, {"FSPIOP-Destination": "dfspb"},
     "FSPIOP-Destination", "'dfspa' differs"),
    ("destination not signed", lambda: forged(protected_header(FSPIOP_Destination=None)), {},
     "FSPIOP-Destination", "does not sign it"),
    ("another Date", lambda: NODE_RS256, {"Date": "Fri, 25 Jan 2019 10:23:12 GMT"}, "Date",
     "differs"),
    ("signed Date missing", lambda: NODE_RS256, {"Date": None}, "Date", "differs"),
]
# fmt: on


@pytest.mark.parametrize(
    ("value", "changes", "field", "text"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSALS],
)
def test_every_failed_check_is_3105_naming_the_header_at_fault(
    value: Callable[[], str], changes: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(InvalidSignature) as refused:
        check(value(), **changes)

    assert refused.value.code == "3105"
    assert refused.value.http_status == 400
    assert refused.value.field == field
    assert text in refused.value.detail


def test_an_es256_signature_by_another_key_does_not_verify() -> None:
    value = jws.sign("PATCH", PATH, HEADERS, BODY, jws_private_key(_other_key("p256")))

    with pytest.raises(InvalidSignature, match="does not verify"):
        check(value, EC_PUBLIC)


def _other_key(key_type: str) -> str:
    """A fresh private key PEM that is not the one configured for the source."""
    return keys.private_key_pem(keys.generate_private_key(keys.KeyType(key_type)))


# --- the keyring: who must sign, who tpsim signs for ---------------------------------------


def keyed_config() -> Any:
    data = load_config().model_dump(mode="json")
    for participant in data["participants"]:
        if participant["fsp_id"] == "pispa":
            participant["jws_public_key_pem"] = RSA_PUBLIC
        if participant["fsp_id"] == "dfspa":
            participant["jws_private_key_pem"] = EC_PRIVATE
    data["hub"]["jws_private_key_pem"] = RSA_PRIVATE
    return parse_config(data)


def test_a_source_with_a_public_key_must_sign_everything_but_gets() -> None:
    keyring = jws.Keyring.of(keyed_config())
    headers = received()["headers"]

    keyring.check("PATCH", PATH, {**headers, "FSPIOP-Signature": NODE_RS256}, BODY)
    keyring.check("GET", PATH, headers, None)
    with pytest.raises(InvalidSignature, match="'pispa' must sign its requests") as refused:
        keyring.check("PATCH", PATH, headers, BODY)
    assert refused.value.field == "FSPIOP-Signature"


def test_a_source_without_a_key_is_trusted_as_sent() -> None:
    jws.Keyring.of(keyed_config()).check("PATCH", PATH, {"FSPIOP-Source": "pispb"}, BODY)


def test_tpsim_signs_for_its_simulated_participants_and_the_hub_only() -> None:
    keyring = jws.Keyring.of(keyed_config())
    dfspa = {**HEADERS, "FSPIOP-Source": "dfspa"}

    added = keyring.signature_headers("PATCH", PATH, dfspa, BODY)
    check(added["FSPIOP-Signature"], EC_PUBLIC, **dfspa, **added)
    assert "FSPIOP-Signature" in keyring.signature_headers(
        "PUT", PATH, {"FSPIOP-Source": "switch"}, BODY
    )
    assert keyring.signature_headers("PATCH", PATH, HEADERS, BODY) == {}  # pispa's own
    assert keyring.signature_headers("GET", PATH, dfspa, None) == {}


def test_a_config_is_parsed_into_a_keyring_once() -> None:
    config = keyed_config()

    assert jws.Keyring.of(config) is jws.Keyring.of(config)
    assert jws.Keyring.of(keyed_config()) is not jws.Keyring.of(config)


# --- the keys a config may give ------------------------------------------------------------

# fmt: off
# (case, participant changes, text the ConfigError must contain)
KEY_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("not a PEM", {"jws_public_key_pem": "AAAA"}, "not a PEM public key"),
    ("private key as public", {"jws_public_key_pem": RSA_PRIVATE}, "not a PEM public key"),
    ("Ed25519", {"jws_public_key_pem": keys.public_key_pem(
        keys.generate_private_key(keys.KeyType.ED25519).public_key())}, "RS256"),
    ("secp256k1", {"jws_public_key_pem": keys.public_key_pem(
        keys.generate_private_key(keys.KeyType.SECP256K1).public_key())}, "secp256k1"),
    ("private key on an external participant", {"jws_private_key_pem": EC_PRIVATE},
     "for a simulated participant"),
]
# fmt: on


@pytest.mark.parametrize(
    ("changes", "text"), [pytest.param(*row[1:], id=row[0]) for row in KEY_CONFIGS]
)
def test_a_key_tpsim_cannot_use_is_a_config_error(changes: dict[str, Any], text: str) -> None:
    data = load_config().model_dump(mode="json")
    data["participants"][0].update(changes)  # pispa, external

    with pytest.raises(ConfigError, match=text):
        parse_config(data)


def test_a_public_key_on_a_simulated_participant_is_a_config_error() -> None:
    data = load_config().model_dump(mode="json")
    data["participants"][1]["jws_public_key_pem"] = RSA_PUBLIC  # dfspa, simulated

    with pytest.raises(ConfigError, match="for an external participant"):
        parse_config(data)


def test_a_small_rsa_key_is_a_config_error() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - on purpose
    data = load_config().model_dump(mode="json")
    data["hub"]["jws_private_key_pem"] = keys.private_key_pem(small)

    with pytest.raises(ConfigError, match="1024 bits is too small"):
        parse_config(data)
