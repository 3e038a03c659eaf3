"""The pytest plugin and ``tpsim.testing``: a user's test gets a whole tpsim from a fixture.

The plugin's promises are checked as a user meets them: a user's project (its test files,
conftest and settings) runs in a pytest session of its own, which loads the plugin through
its ``pytest11`` entry point as any project with tpsim installed does. The examples of
docs/pytest.md are run as written, so the documentation cannot drift from the code.
``Tpsim`` itself (ports, state, clock, admin API) is tested directly.
"""

from __future__ import annotations

import importlib.metadata
import re
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tpsim.config import Config
from tpsim.errors import ConfigError
from tpsim.mojaloop.registry import External
from tpsim.testing import AdminRefused, Tpsim, resolve_config

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "pytest.md"

# A fenced block whose first line names the file it is: "# conftest.py", "# small-bank.yaml".
_FILE_BLOCK = re.compile(r"```(?:python|toml|yaml)\n# (?P<name>[\w.-]+)\n(?P<body>.*?)```", re.S)

SMALL_BANK = """\
participants:
  - {fsp_id: pispa, kind: pisp, endpoint: "http://127.0.0.1:5000"}
  - {fsp_id: bank, kind: dfsp, simulated: true}
accounts:
  - {address: bank.ana.giro, fsp_id: bank, owner: ana, currency: EUR, balance: "100"}
users:
  - {user_id: ana, fsp_id: bank, name: Ana}
"""


def documented_files(section: str) -> dict[str, str]:
    """The files docs/pytest.md shows under ``## {section}``, over the Setup's settings."""
    files = {**_shown_in("Setup"), **_shown_in(section)}
    assert any(name.startswith("test_") for name in files), f"no test file under '{section}'"
    return files


def _shown_in(section: str) -> dict[str, str]:
    parts = dict(_sections(DOCS.read_text("utf-8")))
    return {m["name"]: m["body"] for m in _FILE_BLOCK.finditer(parts[section])}


def _sections(text: str) -> list[tuple[str, str]]:
    chunks = re.split(r"^## ", text, flags=re.M)[1:]
    return [(chunk.split("\n", 1)[0].strip(), chunk) for chunk in chunks]


def run_project(
    pytester: pytest.Pytester, files: dict[str, str], *args: str, fresh: bool = False
) -> pytest.RunResult:
    """Run pytest over a user's project made of ``files``, warnings being errors (a plugin
    must not warn). In this process unless ``fresh``: a new one takes seconds to start."""
    files.setdefault("pyproject.toml", _shown_in("Setup")["pyproject.toml"])
    for name, body in files.items():
        (pytester.path / name).write_text(body, "utf-8")
    run = pytester.runpytest_subprocess if fresh else pytester.runpytest_inprocess
    return run("-W", "error", "-p", "no:cacheprovider", *args)


# -- the plugin, as a user's project meets it ------------------------------------------


def test_installing_tpsim_installs_the_plugin_through_its_entry_point() -> None:
    found = [
        ep for ep in importlib.metadata.distribution("tpsim").entry_points if ep.group == "pytest11"
    ]
    assert [(ep.name, ep.value) for ep in found] == [("tpsim", "tpsim.pytest_plugin")], (
        "the installed tpsim does not declare the plugin: reinstall it (pip install -e .)"
    )


def test_the_documented_xs2a_example_passes(pytester: pytest.Pytester) -> None:
    """/health, a headless XS2A payment between two banks, journal and balances, and a
    fresh scheme for the next test."""
    result = run_project(pytester, documented_files("An XS2A payment, headless"))
    result.assert_outcomes(passed=2)


def test_the_documented_marker_picks_a_file_beside_the_test_or_changes_sections(
    pytester: pytest.Pytester,
) -> None:
    result = run_project(pytester, documented_files("Choosing the config"))
    result.assert_outcomes(passed=2)


def test_the_documented_pisp_gets_its_callbacks_at_the_url_it_gives(
    pytester: pytest.Pytester,
) -> None:
    """A Mojaloop party lookup: tpsim answers 202 and calls the user's PISP back."""
    result = run_project(pytester, documented_files("Your PISP under test (Mojaloop)"))
    result.assert_outcomes(passed=1)


def test_the_documented_session_recipe_shares_one_tpsim_reset_per_test(
    pytester: pytest.Pytester,
) -> None:
    result = run_project(pytester, documented_files("One tpsim for the whole session"))
    result.assert_outcomes(passed=2)


def test_the_option_picks_the_config_of_every_test_a_marker_path_wins(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "configs").mkdir()
    (pytester.path / "configs" / "small.yaml").write_text(SMALL_BANK, "utf-8")
    files = {
        "test_option.py": """\
import pytest


async def test_the_option(tpsim):
    assert tpsim.accounts() == {"bank.ana.giro": 100}


@pytest.mark.tpsim_config(users=[{"user_id": "ana", "fsp_id": "bank", "name": "Ana B"}])
async def test_keywords_change_the_options_file(tpsim):
    assert tpsim.config.users[0].name == "Ana B"
    assert list(tpsim.accounts()) == ["bank.ana.giro"]


@pytest.mark.tpsim_config("built-in.yaml")
async def test_a_marker_path_wins(tpsim):
    assert tpsim.config.hub.name == "hub-of-the-marker"
""",
        "built-in.yaml": "hub: {name: hub-of-the-marker}\n",
    }
    result = run_project(pytester, files, "--tpsim-config", "configs/small.yaml")
    result.assert_outcomes(passed=3)


def test_the_marker_takes_its_path_by_keyword_as_its_signature_says(
    pytester: pytest.Pytester,
) -> None:
    """``pytest --markers`` shows ``tpsim_config(path=None, **overrides)``."""
    files = {
        "small.yaml": SMALL_BANK,
        "test_keyword.py": """\
import pytest


@pytest.mark.tpsim_config(path="small.yaml", hub={"name": "h"})
async def test_the_path_keyword(tpsim):
    assert tpsim.accounts() == {"bank.ana.giro": 100}
    assert tpsim.config.hub.name == "h"


@pytest.mark.tpsim_config("small.yaml", path="small.yaml")
async def test_two_paths(tpsim):
    pass
""",
    }
    result = run_project(pytester, files)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.tpsim_config takes one config path*"])


def test_the_pisp_url_option_points_the_external_pisp(pytester: pytest.Pytester) -> None:
    files = {
        "test_pisp.py": """\
async def test_the_pisp(tpsim):
    assert tpsim.config.participant("pispa").endpoint == "http://127.0.0.1:6001"
"""
    }
    result = run_project(pytester, files, "--tpsim-pisp-url", "http://127.0.0.1:6001")
    result.assert_outcomes(passed=1)


def test_an_overridden_tpsim_config_fixture_is_served(pytester: pytest.Pytester) -> None:
    files = {
        "conftest.py": """\
import pytest

from tpsim.testing import resolve_config


@pytest.fixture
def tpsim_config():
    return resolve_config(overrides={"hub": {"name": "my-hub"}})
""",
        "test_override.py": """\
async def test_it(tpsim):
    assert tpsim.config.hub.name == "my-hub"
""",
    }
    run_project(pytester, files).assert_outcomes(passed=1)


def test_config_mistakes_fail_the_test_saying_what_to_fix_without_a_traceback(
    pytester: pytest.Pytester,
) -> None:
    files = {
        "bad.yaml": "behaviour:\n  quote_expiry_s: soon\n",
        "test_mistakes.py": """\
import pytest


@pytest.mark.tpsim_config("bad.yaml")
async def test_a_bad_value(tpsim):
    pass


@pytest.mark.tpsim_config("missing.yaml")
async def test_a_missing_file(tpsim):
    pass


@pytest.mark.tpsim_config("a.yaml", "b.yaml")
async def test_two_paths(tpsim):
    pass
""",
    }
    result = run_project(pytester, files)
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*tpsim_config: *bad.yaml: behaviour.quote_expiry_s (line 2): *",
            "*tpsim_config: *missing.yaml: cannot read the file*",
            "*@pytest.mark.tpsim_config takes one config path*",
        ],
        consecutive=False,
    )
    assert "Traceback" not in result.stdout.str()
    assert "tpsim/testing.py" not in result.stdout.str()


def test_a_bad_pisp_url_or_overridden_path_fails_the_test_saying_what_to_fix(
    pytester: pytest.Pytester,
) -> None:
    files = {
        "conftest.py": """\
import pytest


@pytest.fixture
def tpsim_config(request):
    return "missing.yaml" if "missing" in request.node.name else None
""",
        "test_mistakes.py": """\
async def test_a_missing_file(tpsim):
    pass


async def test_a_bad_pisp_url(tpsim):
    pass
""",
    }
    result = run_project(pytester, files, "--tpsim-pisp-url", "not-a-url")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*tpsim: missing.yaml: cannot read the file*",
            "*tpsim: the PISP URL given: participants.0.endpoint: endpoint 'not-a-url' must be*",
        ],
        consecutive=False,
    )
    assert "Traceback" not in result.stdout.str()
    assert "tpsim/testing.py" not in result.stdout.str()
    assert "During handling" not in result.stdout.str()


def test_a_synchronous_test_is_told_to_be_async_instead_of_hanging(
    pytester: pytest.Pytester,
) -> None:
    files = {"test_sync.py": "def test_blocking(tpsim):\n    pass\n"}
    result = run_project(pytester, files)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_blocking uses the tpsim fixture*write the test as 'async def'*"]
    )


def test_without_pytest_asyncio_the_fixture_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = pytester.path / "blocked" / "pytest_asyncio"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", str(blocked.parent))
    files = {
        "pyproject.toml": "[tool.pytest.ini_options]\n",
        "test_sync.py": "def test_it(tpsim):\n    pass\n",
    }
    # A fresh process: this one has imported the plugin with pytest-asyncio at hand.
    result = run_project(pytester, files, "-p", "no:asyncio", "-p", "no:aiohttp", fresh=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the tpsim fixture is async and needs pytest-asyncio*"])


# -- Tpsim, the fixture's implementation ------------------------------------------------


def credit(tpsim: Tpsim, address: str, amount: str) -> None:
    """Money arrives on an account of ``tpsim``'s bank (in its currency)."""
    bank = tpsim.simulation.state.bank
    currency = bank.accounts[address].currency
    bank.ledger.credit(address, Decimal(amount), currency=currency, ref="a test's credit")


def endpoint(config: Config, fsp_id: str) -> str | None:
    participant = config.participant(fsp_id)
    assert participant is not None
    return participant.endpoint


async def test_two_at_once_listen_on_their_own_ports_with_their_own_state() -> None:
    async with Tpsim() as one, Tpsim() as two:
        assert one.url != two.url
        assert all(t.url.startswith("http://127.0.0.1:") for t in (one, two))
        await one.admin("POST", "/admin/clock/advance", {"seconds": 1})
        credit(one, "dfspb.max.giro", "5")
        assert one.accounts()["dfspb.max.giro"] == 5
        assert two.accounts()["dfspb.max.giro"] == 0
        assert two.journal() == []


async def test_reset_restores_the_configs_balances_and_empties_the_journal() -> None:
    async with Tpsim() as tpsim:
        credit(tpsim, "dfspb.max.giro", "5")
        await _make_a_hop(tpsim)
        assert tpsim.journal()
        tpsim.reset()
        assert tpsim.accounts()["dfspb.max.giro"] == 0
        assert tpsim.journal() == []


async def _make_a_hop(tpsim: Tpsim) -> None:
    """An XS2A status request for a payment that does not exist: one journaled exchange."""
    path = "/xs2a/dfspa/v1/payments/sepa-credit-transfers/nope/status"
    async with aiohttp.ClientSession() as http, http.get(tpsim.url + path) as answer:
        assert answer.status == 400


async def test_journal_filters_by_correlation_id() -> None:
    async with Tpsim() as tpsim:
        await _make_a_hop(tpsim)
        assert tpsim.journal() and tpsim.journal("no-such-conversation") == []


async def test_advance_moves_the_simulated_clock_and_never_back() -> None:
    async with Tpsim() as tpsim:
        before = tpsim.simulation.clock.now()
        tpsim.advance(3600)
        assert (tpsim.simulation.clock.now() - before).total_seconds() >= 3600
        with pytest.raises(ValueError, match="only moves forward"):
            tpsim.advance(-1)


async def test_admin_answers_json_and_refusals_carry_the_apis_words() -> None:
    async with Tpsim() as tpsim:
        accounts = await tpsim.admin("GET", "/admin/accounts")
        by_address = {a["address"]: Decimal(a["balance"]) for a in accounts["accounts"]}
        assert by_address == tpsim.accounts()
        assert await tpsim.admin("DELETE", "admin/journal") is None
        with pytest.raises(AdminRefused) as refused:
            await tpsim.admin("POST", "/admin/clock/advance", {"seconds": "soon"})
        assert refused.value.status == 400
        assert "seconds must be a number" in str(refused.value)


async def test_set_pisp_url_reloads_the_scheme_with_the_new_endpoint() -> None:
    async with Tpsim(pisp_url="http://127.0.0.1:6001") as tpsim:
        assert endpoint(tpsim.config, "pispa") == "http://127.0.0.1:6001"
        tpsim.set_pisp_url("http://127.0.0.1:6002")
        assert endpoint(tpsim.config, "pispa") == "http://127.0.0.1:6002"
        pispa = tpsim.simulation.router.registry.get("pispa")
        assert isinstance(pispa, External) and pispa.endpoint == "http://127.0.0.1:6002"


async def test_a_busy_port_is_said_and_leaves_nothing_running() -> None:
    async with Tpsim() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=f"tpsim cannot listen on 127.0.0.1:{port}"):
            await Tpsim(port=port).start()


async def test_it_is_not_running_before_start_or_after_close() -> None:
    tpsim = Tpsim()
    with pytest.raises(RuntimeError, match="not running"):
        tpsim.accounts()
    async with tpsim:
        with pytest.raises(RuntimeError, match="already running"):
            await tpsim.start()
    await tpsim.close()  # twice: harmless
    with pytest.raises(RuntimeError, match="not running"):
        await tpsim.admin("GET", "/health")


def test_resolve_config_lays_overrides_over_a_file_and_names_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_BANK, "utf-8")
    config = resolve_config(path, overrides={"hub": {"name": "h"}}, pisp_url="http://x:1")
    assert (config.hub.name, endpoint(config, "pispa")) == ("h", "http://x:1")
    assert resolve_config(config) is config
    with pytest.raises(ConfigError, match=r"small\.yaml with the overrides given: hub\.name"):
        resolve_config(path, overrides={"hub": {"name": 7}})
