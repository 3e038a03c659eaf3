"""Participant ids (FspId): Mojaloop's 1 to 32 characters, and only those that go into
FSPIOP-Source/FSPIOP-Destination headers, URL paths (``/xs2a/{bank}``) and query strings
(``?fspId=``) as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.scheme import default_config_data
from tpsim.config import load_config, parse_config
from tpsim.errors import ConfigError

DEFAULT = default_config_data()

ALLOWED = ["pinkbankfsp", "green-bank", "centralAuth", "Hub", "DFSP_A.1~x", "a", "x" * 32]
# (case, id): each would change the path, header or query string it is put into.
REFUSED = [
    ("empty", ""),
    ("longer than 32 characters", "x" * 33),
    ("a slash: another path", "dfsp/../admin"),
    ("a backslash: read as a slash", "dfsp\\x"),
    ("a question mark: a query string", "dfsp?x=1"),
    ("a hash: a fragment", "dfsp#x"),
    ("a percent: an escape", "dfsp%2Fx"),
    ("a space", "dfsp a"),
    ("a tab", "dfsp\ta"),
    ("a line feed: a second header", "dfspa\nX-Injected: 1"),
    ("a carriage return", "dfspa\r"),
    ("a NUL", "dfsp\x00a"),
    ("DEL", "dfsp\x7fa"),
    ("a no-break space", "dfsp\xa0a"),
    ("a zero-width space", "dfsp\u200ba"),
    ("an ampersand: another query parameter", "dfsp&fspId=dfspb"),
    ("a non-ASCII letter: not a header value", "banqué"),
]


def renamed(old: str, new: str) -> dict[str, Any]:
    """The default config with participant ``old`` called ``new`` wherever it is named."""
    text = yaml.safe_dump(DEFAULT, allow_unicode=True)
    return yaml.safe_load(text.replace(f": {old}\n", f": {new}\n"))


@pytest.mark.parametrize("fsp_id", ALLOWED)
def test_an_fsp_id_of_letters_digits_and_url_unreserved_marks_is_accepted(fsp_id: str) -> None:
    config = parse_config(renamed("dfspb", fsp_id))

    assert config.participant(fsp_id) is not None


@pytest.mark.parametrize(("fsp_id"), [pytest.param(f, id=case) for case, f in REFUSED])
def test_an_fsp_id_that_would_change_a_path_or_header_is_refused(fsp_id: str) -> None:
    data = {"participants": [{"fsp_id": fsp_id, "kind": "dfsp", "simulated": True}]}

    with pytest.raises(ConfigError) as error:
        parse_config(data)

    assert f"participants.0.fsp_id: {fsp_id!r} is not an FspId" in str(error.value)
    assert "1 to 32 letters (A-Z, a-z), digits, '.', '_', '~' or '-'" in str(error.value)


@pytest.mark.parametrize(
    ("section", "data"),
    [
        ("hub.name", {"hub": {"name": "hub?x"}}),
        ("parties.0.fsp_id", {"parties": [{**DEFAULT["parties"][0], "fsp_id": "b/x"}]}),
        ("accounts.0.fsp_id", {"accounts": [{**DEFAULT["accounts"][0], "fsp_id": "b#x"}]}),
        ("users.0.fsp_id", {"users": [{"user_id": "carol", "fsp_id": "b%x"}]}),
        ("consents.0.pisp", {"consents": [{**DEFAULT["consents"][0], "pisp": "p\\x"}]}),
        ("consents.0.dfsp", {"consents": [{**DEFAULT["consents"][0], "dfsp": "d x"}]}),
    ],
)
def test_every_section_naming_a_participant_refuses_such_an_id(
    section: str, data: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=rf"{section}: '.*' is not an FspId"):
        parse_config(data)


def test_a_refused_fsp_id_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text("participants:\n  - kind: dfsp\n    simulated: true\n    fsp_id: 'a?b'\n")

    with pytest.raises(ConfigError, match=r"participants\.0\.fsp_id \(line 4\): 'a\?b' is not"):
        load_config(path)
