"""Counts and sizes have an upper bound, refused at load with the key's line: a value far
past it (a typo, a few zeros too many) would otherwise turn the bound off and let memory or
file descriptors run out while serving, or pass ``tpsim config check`` and fail later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.scheme import default_config_data
from tpsim.auth.credential import MAX_SIGN_COUNT
from tpsim.config import (
    MAX_PARTICIPANTS,
    MAX_SCHEME_ENTRIES,
    MAX_TPPS,
    load_config,
    parse_config,
)
from tpsim.config_settings import (
    MAX_CONNECTIONS,
    MAX_JOURNAL_BODY_BYTES,
    MAX_JOURNAL_BYTES,
    MAX_JOURNAL_ENTRIES,
    MAX_RETAINED,
)
from tpsim.errors import ConfigError

# (section, key, its upper bound)
BOUNDED = [
    ("journal", "max_entries", MAX_JOURNAL_ENTRIES),
    ("journal", "max_bytes", MAX_JOURNAL_BYTES),
    ("journal", "max_body_bytes", MAX_JOURNAL_BODY_BYTES),
    ("behaviour", "retention_max", MAX_RETAINED),
    ("server", "max_connections", MAX_CONNECTIONS),
]


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scheme.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("section", "key", "most"), BOUNDED)
def test_a_count_or_size_past_its_bound_is_refused_with_its_line(
    tmp_path: Path, section: str, key: str, most: int
) -> None:
    path = written(tmp_path, f"hub:\n  name: switch\n{section}:\n  {key}: {10**18}\n")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert f"{section}.{key} (line 4): Input should be less than or equal to {most}" in str(
        error.value
    )


@pytest.mark.parametrize(("section", "key", "most"), BOUNDED)
def test_a_count_or_size_at_its_bound_is_accepted(section: str, key: str, most: int) -> None:
    # max_body_bytes must not exceed max_bytes: give the journal room for it.
    journal = {"max_bytes": MAX_JOURNAL_BYTES} if section == "journal" else {}
    data = {"journal": journal, section: {**journal, key: most}}

    config = parse_config(data)

    assert getattr(getattr(config, section), key) == most


def test_wrong_otps_are_counted_up_to_a_hundred(tmp_path: Path) -> None:
    path = written(tmp_path, "behaviour:\n  linking:\n    max_attempts: 1000000\n")

    with pytest.raises(ConfigError, match=r"max_attempts \(line 3\): .* less than or equal to 100"):
        load_config(path)
    assert parse_config({"behaviour": {"linking": {"max_attempts": 100}}})


def test_a_credential_sign_count_past_32_bits_is_refused_at_load(tmp_path: Path) -> None:
    data = default_config_data()
    data["consents"][0]["credential"]["sign_count"] = MAX_SIGN_COUNT + 1
    path = written(tmp_path, yaml.safe_dump(data, sort_keys=False))
    line = path.read_text().splitlines().index(f"    sign_count: {MAX_SIGN_COUNT + 1}") + 1

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert f"consents.0.credential.sign_count (line {line}): Input should be less" in str(
        error.value
    )


# (list, its most entries): a scheme's own entries are bounded like ``tpps``, far above
# any test scheme (the benchmarks seed one account and consent per worker, 100 at most).
LISTS = [
    ("participants", MAX_PARTICIPANTS),
    ("parties", MAX_SCHEME_ENTRIES),
    ("accounts", MAX_SCHEME_ENTRIES),
    ("users", MAX_SCHEME_ENTRIES),
    ("consents", MAX_SCHEME_ENTRIES),
    ("tpps", MAX_TPPS),
]


@pytest.mark.parametrize(("key", "most"), LISTS)
def test_a_list_past_its_bound_is_refused_with_its_key_and_line(
    tmp_path: Path, key: str, most: int
) -> None:
    """Only the YAML value count (a million) bounded these lists: a generated scheme with
    a few zeros too many loaded, and took the memory and the start-up time with it."""
    entry = default_config_data()[key][0]
    aliases = "".join("\n  - *e" for _ in range(most))  # one entry, most + 1 times
    path = written(tmp_path, f"hub:\n  name: switch\n{key}:\n  - &e {json.dumps(entry)}{aliases}\n")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert f"{key} (line 3): List should have at most {most} items" in str(error.value)


def test_a_scheme_as_large_as_the_bounds_loads() -> None:
    data = default_config_data()
    for n in range(MAX_SCHEME_ENTRIES - len(data["accounts"])):
        data["accounts"].append(
            {"address": f"dfspa.u{n}", "fsp_id": "dfspa", "owner": f"u{n}", "currency": "USD"}
        )
    for n in range(MAX_SCHEME_ENTRIES - len(data["users"])):
        data["users"].append({"user_id": f"u{n}", "fsp_id": "dfspa"})

    config = parse_config(data)

    assert len(config.users) == len(config.accounts) == MAX_SCHEME_ENTRIES
