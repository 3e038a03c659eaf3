"""``tpsim load`` (issue 17): a load-generating PISP completes signed transfers, account
linkings (OTP and WEB) and, as a TPP, PSD2 payments (XS2A, UK Open Banking, STET) against
an in-process tpsim served on 127.0.0.1, reports them per flow and per hop (and every
failure by its own dialect's code) as text and JSON, exits 0 / 1 / 2, and leaves the
server's config as it found it. The command runs in-process (``main``) in a thread while
the test's event loop serves. No timing is asserted: only that the numbers are there."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_pisp_cli import served
from tpsim.auth.authenticator import SoftwareAuthenticator
from tpsim.cli import main
from tpsim.config import check_iban, load_config, parse_config
from tpsim.scenario import load_cli
from tpsim.scenario.load_report import FLOW_HOPS, FLOWS, HOPS, text
from tpsim.scenario.load_seed import Seeding, seed
from tpsim.scenario.load_setup import Quiet, read_credentials
from tpsim.scenario.pisp_flows import against
from tpsim.scenario.pisp_linking import LinkPlan, link


async def load(*args: str) -> int:
    """``tpsim load ARGS`` as the command line runs it."""
    return await asyncio.to_thread(main, ["load", *args, "--timeout", "10"])


async def load_served(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[dict[str, Any], str]:
    """``tpsim load ARGS --json`` against a served tpsim: its JSON report and what it
    printed, once the run exited 0 and put the server's config back as it found it."""
    report = tmp_path / "load.json"
    async with served() as sim:
        before = sim.config.model_dump(mode="json")
        code = await load(*args, "--server", sim.site.url, "--json", str(report))
        after = sim.config.model_dump(mode="json")
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert after == before  # the workers' users, accounts and consents were the run's only
    summary: dict[str, Any] = json.loads(report.read_text())
    return summary, out


async def test_twenty_signed_transfers_by_four_workers_all_complete_and_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, out = await load_served(tmp_path, capsys, "--transfers", "20", "--concurrency", "4")
    assert (summary["started"], summary["completed"], summary["failed"]) == (20, 20, 0)
    assert summary["workers"] == 4 and summary["errors"] == {}
    assert summary["throughput_per_s"] > 0
    transfer = summary["latency_ms"]["transfer"]
    assert transfer["count"] == 20
    assert 0 < transfer["p50"] <= transfer["p90"] <= transfer["p99"] <= transfer["max"]
    for hop in HOPS:
        assert summary["latency_ms"]["hops"][hop]["count"] == 20
    assert "transfer: 20 completed, 0 failed of 20" in out
    assert "errors: none" in out


async def test_a_payer_without_the_funds_counts_each_failure_by_its_code_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "load.json"
    async with served() as sim:
        code = await load(
            "--server", sim.site.url, "--transfers", "6", "--concurrency", "2",
            "--balance", "5", "--amount", "10", "--json", str(report),
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1, out + err
    summary = json.loads(report.read_text())
    assert (summary["completed"], summary["failed"]) == (0, 6)
    assert summary["errors"] == {"FSPIOP 4001": 6}  # Payer FSP insufficient liquidity
    assert "FSPIOP 4001 × 6" in out


async def test_a_duration_at_a_rate_paces_the_transfers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with served() as sim:
        code = await load(
            "--server", sim.site.url, "--duration", "1", "--rate", "5", "--concurrency", "2",
            "--credential-type", "GENERIC",
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "transfer: 5 completed, 0 failed of 5" in out  # starts at 0, 0.2 … 0.8 s


@pytest.mark.parametrize(
    "args",
    [
        ["--transfers", "0"],
        ["--concurrency", "-1"],
        ["--rate", "fast"],
        ["--transfers", "5", "--duration", "3"],
        ["--switch", "http://127.0.0.1:1"],  # without --listen and --credentials
        ["--listen", "nowhere"],
        ["--credential-type", "RSA"],
        ["--flow", "sepa"],
        ["--channel", "SMS"],
    ],
)
def test_bad_arguments_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        code = main(["load", *args])
        raise SystemExit(code)
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_unreachable_server_exits_2_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["load", "--server", "http://127.0.0.1:9", "--transfers", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tpsim load: error:")


def test_a_credentials_file_names_each_workers_consent_credential_and_payee(
    tmp_path: Path,
) -> None:
    signer = SoftwareAuthenticator.create()
    (tmp_path / "alice.json").write_text(signer.to_json())
    inline = json.loads(SoftwareAuthenticator.create(credential_type="GENERIC").to_json())
    payee = {"partyIdType": "MSISDN", "partyIdentifier": "16135551212", "fspId": "dfspb"}
    entry = {"payer": "dfspa.alice.chequing", "dfsp": "dfspa", "currency": "USD"}
    path = tmp_path / "credentials.yaml"
    path.write_text(
        json.dumps(
            {
                "workers": [
                    {"consentId": "c1", **entry, "credential": "alice.json", "payee": payee},
                    {"consentId": "c2", **entry, "credential": inline, "payee": payee},
                ]
            }
        )
    )
    pisp, workers, saved = read_credentials(path)
    assert pisp == "pispa"
    assert [(w.name, w.payer, w.dfsp, w.payee.fsp) for w in workers] == [
        ("c1", "dfspa.alice.chequing", "dfspa", "dfspb"),
        ("c2", "dfspa.alice.chequing", "dfspa", "dfspb"),
    ]
    assert workers[0].signer.public_key_pem == signer.public_key_pem
    assert workers[1].signer.credential_type == "GENERIC"
    assert list(saved) == [(tmp_path / "alice.json").resolve()]  # its counter is saved back


def test_a_credentials_file_without_workers_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "credentials.yaml"
    path.write_text("workers: []\n")
    code = main(
        ["load", "--switch", "http://127.0.0.1:9", "--listen", "127.0.0.1:0",
         "--credentials", str(path)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "workers" in err and "credentials.yaml" in err


# --- linking and the PSD2 dialects ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--flow", "link"],  # OTP read from the admin API
        ["--flow", "link", "--channel", "WEB", "--credential-type", "GENERIC"],  # login page
        ["--flow", "xs2a"],
        ["--flow", "obie"],
        ["--flow", "stet"],
    ],
    ids=["link-otp", "link-web", "xs2a", "obie", "stet"],
)
async def test_each_flow_completes_every_run_and_reports_its_own_hops(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = args[1]
    summary, out = await load_served(
        tmp_path, capsys, *args, "--transfers", "6", "--concurrency", "2"
    )
    assert summary["flow"] == flow
    assert (summary["started"], summary["completed"], summary["failed"]) == (6, 6, 0)
    assert summary["errors"] == {}
    assert summary["latency_ms"][flow]["count"] == 6
    assert list(summary["latency_ms"]["hops"]) == list(FLOW_HOPS[flow])
    for hop in FLOW_HOPS[flow]:
        assert summary["latency_ms"]["hops"][hop]["count"] == 6, hop
    assert f"{flow}: 6 completed, 0 failed of 6" in out


@pytest.mark.parametrize(
    ("flow", "code"),
    [
        ("xs2a", "XS2A FORMAT_ERROR"),  # tppMessages[0].code
        ("obie", "UK U002"),  # Errors[0].ErrorCode (v4.0: field invalid)
        ("stet", "STET FIELD_INVALID"),  # ErrorModel.error
    ],
)
async def test_a_payment_the_bank_refuses_is_counted_by_its_dialects_own_code(
    flow: str, code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "load.json"
    async with served() as sim:
        exit_code = await load(
            "--flow", flow, "--server", sim.site.url, "--transfers", "3", "--concurrency", "1",
            "--amount", "abc", "--json", str(report),
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert exit_code == 1, out + err
    summary = json.loads(report.read_text())
    assert (summary["completed"], summary["failed"]) == (0, 3)
    assert summary["errors"] == {code: 3}
    assert f"{code} × 3" in out


@pytest.mark.parametrize("flow", ["xs2a", "obie", "stet"])
async def test_a_payment_over_the_balance_is_taken_then_counted_as_ended_rjct(
    flow: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "load.json"
    async with served() as sim:
        exit_code = await load(
            "--flow", flow, "--server", sim.site.url, "--transfers", "2", "--concurrency", "1",
            "--balance", "5", "--amount", "10", "--json", str(report),
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert exit_code == 1, out + err
    summary = json.loads(report.read_text())
    assert (summary["completed"], summary["errors"]) == (0, {"ended RJCT": 2})
    assert "ended RJCT × 2" in out


def test_a_flow_other_than_transfers_against_another_switch_exits_2_saying_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "credentials.yaml"
    path.write_text("workers: []\n")
    code = main(
        ["load", "--flow", "link", "--switch", "http://127.0.0.1:9", "--listen", "127.0.0.1:0",
         "--credentials", str(path)]
    )  # fmt: skip
    assert code == 2
    assert "--flow link runs against a tpsim (--server)" in capsys.readouterr().err


def test_the_command_offers_exactly_the_flows_the_report_describes() -> None:
    assert load_cli.FLOWS == FLOWS


@pytest.mark.parametrize(
    ("flow", "alias", "currency"),
    [("xs2a", "iban", "EUR"), ("stet", "iban", "EUR"), ("obie", "sort_code_account_number", "GBP")],
)
def test_each_psd2_worker_pays_from_its_own_account_under_a_valid_alias(
    flow: str, alias: str, currency: str
) -> None:
    config = load_config().model_dump(mode="json")
    accounts_before = len(config["accounts"])
    seeded = seed(config, Seeding(workers=12, flow=flow, balance="777"), "pispa")
    added = config["accounts"][accounts_before:]
    assert (
        [a["owner"] for a in added] == [s.user for s in seeded] == [f"load{n}" for n in range(12)]
    )
    assert {(u["user_id"], u["fsp_id"]) for u in config["users"]} >= {
        (s.user, "dfspa") for s in seeded
    }
    assert all(a["currency"] == currency and a["balance"] == "777" for a in added)
    aliases = [a[alias] for a in added]
    assert aliases == [s.alias for s in seeded]
    assert len(set(aliases)) == 12  # one account each: no two workers share a debtor
    if alias == "iban":
        assert all(check_iban(i) == i for i in aliases)
    assert not any(s.transfer for s in seeded)  # no consent: a TPP needs none
    parse_config(config, file="seeded")  # the server takes it


async def test_linking_keeps_nothing_once_the_flow_is_over() -> None:
    """``tpsim pisp link``'s flow follows each conversation by its own watch: when it
    ends, the PISP holds no callback and follows no conversation."""
    async with (
        served() as sim,
        against(sim.site.url, log=Quiet(), admin_token=None, timeout=10) as flow,
    ):
        linked = await link(flow, LinkPlan("carol", "OTP"))
        assert linked.accounts == ["dfspa.carol.chequing", "dfspa.carol.savings"]
        assert flow.pisp.inbox.received == []
        assert flow.pisp.inbox.watched == frozenset()


def test_the_latency_tables_header_stands_over_its_columns() -> None:
    stats = {"count": 12, "p50": 1.5, "p90": 2.5, "p99": 3.5, "max": 4.5}
    summary = {
        "flow": "transfer", "completed": 12, "failed": 0, "started": 12, "elapsed_s": 1.0,
        "target": "http://127.0.0.1:4040", "workers": 2, "throughput_per_s": 12.0,
        "latency_ms": {"transfer": stats, "hops": {"approval_to_patch": stats}},
        "errors": {}, "interrupted": None,
    }  # fmt: skip
    header, *rows = text(summary).splitlines()[1:4]
    for column in ("count", "p50", "p90", "p99", "max"):
        end = header.index(column) + len(column)  # right-aligned: each cell ends where it does
        assert all(row[:end].endswith(str(stats[column])) for row in rows), (header, rows)
