"""Docker files: no engine runs here, so check that they start a valid `tpsim` invocation."""

from __future__ import annotations

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
