"""Config overrides for ``make_scheme``: lists replace wholesale in
``tpsim.config.overlay``, so these build the whole list from the default config with one
entry changed or added."""

from __future__ import annotations

import socket
from typing import Any

from tests.support.scheme import FIDO_CONSENT, default_config_data


def with_participant(fsp_id: str, kind: str, endpoint: str) -> dict[str, Any]:
    """``participants`` override: the default ones plus an external ``fsp_id``."""
    participants = default_config_data()["participants"]
    participants.append({"fsp_id": fsp_id, "kind": kind, "endpoint": endpoint})
    return {"participants": participants}


def with_second_pisp(fsp_id: str = "pispb") -> dict[str, Any]:
    """A second external PISP; ``Scheme`` gives it a recording ``TestPisp`` of its own."""
    return with_participant(fsp_id, "pisp", "http://127.0.0.1:1")


def with_consent(consent_id: str = FIDO_CONSENT, **changes: Any) -> dict[str, Any]:
    """``consents`` override: the default ones with ``changes`` applied to ``consent_id``."""
    consents = default_config_data()["consents"]
    for consent in consents:
        if consent["consent_id"] == consent_id:
            consent.update(changes)
    return {"consents": consents}


def with_scope_actions(actions: list[str], consent_id: str = FIDO_CONSENT) -> dict[str, Any]:
    """The consent's (single) scope granting only ``actions``."""
    consents = with_consent(consent_id)["consents"]
    for consent in consents:
        if consent["consent_id"] == consent_id:
            consent["scopes"] = [dict(s, actions=actions) for s in consent["scopes"]]
    return {"consents": consents}


def with_account(address: str, **changes: Any) -> dict[str, Any]:
    """``accounts`` override: the default ones with ``changes`` applied to ``address``."""
    accounts = default_config_data()["accounts"]
    for account in accounts:
        if account["address"] == address:
            account.update(changes)
    return {"accounts": accounts}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
