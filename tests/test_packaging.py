"""Docker files: no engine runs here, so check that they start a valid `tpsim` invocation."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from tpsim.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def test_compose_command_is_a_valid_tpsim_invocation() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["tpsim"]
    command = [
        str(part).replace("${PISP_URL:-http://host.docker.internal:5000}", "http://x:5000")
        for part in service["command"]
    ]
    args = build_parser().parse_args(command)
    assert args.command == "serve"
    assert args.config == "/config/default.yaml"
    mounted = {v.split(":")[0]: v.split(":")[1] for v in service["volumes"]}
    assert mounted["./fixtures"] == "/config"
    assert mounted["./scenarios"] == "/scenarios"
    assert (REPO / "fixtures" / "default.yaml").is_file()


def test_dockerfile_runs_tpsim_serve() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    entrypoint = next(line for line in lines if line.startswith("ENTRYPOINT"))
    cmd = next(line for line in lines if line.startswith("CMD"))
    assert yaml.safe_load(entrypoint.removeprefix("ENTRYPOINT")) == ["tpsim"]
    args = build_parser().parse_args(yaml.safe_load(cmd.removeprefix("CMD")))
    assert args.command == "serve" and args.host == "0.0.0.0"  # noqa: S104 - inside the container


def test_the_base_image_is_pinned_to_an_exact_python_release() -> None:
    base = next(
        line for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("FROM")
    )
    image = base.split()[1]
    tag = image.split(":", 1)[1].split("@")[0]
    assert tag.count(".") == 2 and tag[0].isdigit(), f"{image}: pin major.minor.patch"


def test_reports_have_a_writable_volume_in_the_image_and_in_compose() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'VOLUME ["/reports"]' in dockerfile
    assert "chown tpsim:tpsim /reports" in dockerfile  # the user tpsim runs as may write
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    volumes = compose["services"]["tpsim"]["volumes"]
    assert "./reports:/reports" in volumes  # read-write: no ":ro"


def test_pisp_url_is_set_in_one_place() -> None:
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["tpsim"]
    assert "PISP_URL" not in service.get("environment", {})  # tpsim reads no such variable
    assert sum("PISP_URL" in str(part) for part in service["command"]) == 1


def test_the_ci_example_runs_tpsim_and_publishes_junit() -> None:
    job = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text())
    steps = job["jobs"]["scenarios"]["steps"]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    command = runs[runs.index("tpsim run") :].replace("\\\n", " ").split()
    args = build_parser().parse_args(command[1:])
    assert args.command == "run" and args.junit == "reports/junit.xml"
    assert any("junit" in str(step.get("uses", "")) for step in steps)


def test_the_summary_and_the_help_name_every_dialect_tpsim_plays() -> None:
    """`pip show tpsim` (the wheel's Summary) and `tpsim --help` are what a user of the
    installed package reads first: neither may leave out a dialect tpsim serves."""
    summary = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    title = build_parser().description or ""
    for text in (summary["description"], title):
        dialects = ("Mojaloop Third Party API", "XS2A", "UK Open Banking", "STET")
        missing = [d for d in dialects if d not in text]
        assert not missing, f"{text!r} leaves out {missing}"
