"""The original's configuration keys: every one is accepted, those with a meaning here are
honoured, the rest are named once as ignored; a key no version knows is still an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from startpunkt import config

ORIGINAL_CONFIGS = Path(__file__).parent / "data" / "original-configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "application.yaml"
    path.write_text(text)
    return path


def problems_of(path: Path | None, environ: dict[str, str]) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load_all(path, environ)
    return caught.value.problems


@pytest.mark.parametrize("version", ["v2", "v3", "v4"])
def test_each_major_versions_bundled_file_loads_unchanged(version: str) -> None:
    loaded = config.load_all(ORIGINAL_CONFIGS / f"{version}-application.yaml", {})

    assert loaded.settings.web.title == "Startpunkt"
    assert loaded.settings.availability.interval == 60.0
    assert "startpunkt.web.checkForUpdates" in "\n".join(loaded.ignored)


def test_the_v4_file_names_each_ignored_key_with_its_reason() -> None:
    loaded = config.load_all(ORIGINAL_CONFIGS / "v4-application.yaml", {})
    text = "\n".join(loaded.ignored)

    for key in (
        "startpunkt.graphql",
        "startpunkt.bingimage",
        "startpunkt.websocket.eventDebounceMs",
        "startpunkt.watch.resyncPeriodSeconds",
        "quarkus.http.port",
        "quarkus.smallrye-graphql.ui.always-include",
    ):
        assert key in text
    graphql_remote = (
        "startpunkt.clusters.remote[0].graphql-url: accepted and ignored (other instances are "
        "not followed over GraphQL; set `url` to the other Startpunkt's address"
    )
    assert graphql_remote in text
    assert "not used yet" not in text
    # the log levels are honoured, so they are not in the ignored list
    assert "quarkus.log" not in text
    assert (loaded.log_level, loaded.app_log_level) == ("INFO", "DEBUG")
    # one line per reason, not one per key
    assert len(loaded.ignored) == 7


def test_clusters_are_parsed_into_typed_values_and_the_token_is_never_printed() -> None:
    settings = config.load(ORIGINAL_CONFIGS / "v4-application.yaml", {})

    (lab,) = settings.clusters.remote
    assert (lab.name, lab.graphql_url, lab.enabled) == (
        "lab",
        "https://startpunkt.lab.example/graphql",
        False,
    )
    assert lab.url is None  # followed only with a `url`
    assert lab.token is not None
    assert lab.token.get_secret_value() == "not-a-real-token"
    assert "not-a-real-token" not in settings.model_dump_json(by_alias=True)
    assert settings.clusters.local.name == "local"


def test_the_originals_backoff_keys_set_the_checkers_backoff(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "startpunkt:\n  availability:\n    maxRetries: 3\n    initialDelayMs: 2000\n"
        "    maxDelayMs: 60000\n    backoffMultiplier: 3\n",
    )
    availability = config.load(path, {}).availability

    assert availability.max_retries == 3
    backoff = availability.backoff
    assert (backoff.initial_delay, backoff.max_delay, backoff.multiplier) == (2.0, 60.0, 3.0)


def test_this_projects_backoff_keys_win_over_the_originals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "startpunkt:\n  availability:\n    initialDelayMs: 2000\n    backoff: {initialDelay: 7s}\n",
    )
    backoff = config.load(path, {"STARTPUNKT_AVAILABILITY_MAXDELAYMS": "9000"}).availability.backoff

    assert (backoff.initial_delay, backoff.max_delay) == (7.0, 9.0)


def test_a_bad_original_backoff_value_is_reported_under_its_own_key(tmp_path: Path) -> None:
    path = write(tmp_path, "startpunkt:\n  availability:\n    initialDelayMs: soon\n")

    (problem,) = problems_of(path, {})
    assert problem.startswith("startpunkt.availability.initialDelayMs:")


def test_a_key_no_version_knows_is_still_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quarkus:\n  log: {level: INFO}\nstartpunkt:\n  graphql: {subscriptoin: {enabled: true}}\n"
        "  clusters: {remote: [{name: a, graphql-url: 'https://a.example/graphql', tokn: x}]}\n"
        "  web: {titel: Home}\n",
    )

    problems = problems_of(path, {})
    assert len(problems) == 3, problems
    assert "startpunkt.graphql.subscriptoin: unknown key" in problems[0] + problems[1] + problems[2]
    assert any("startpunkt.clusters.remote[0].tokn: unknown key" in p for p in problems)
    assert any("startpunkt.web.titel: unknown key" in p for p in problems)


def test_quarkus_log_levels_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "quarkus:\n  log:\n    level: WARN\n")

    assert config.load_all(path, {}).log_level == "WARNING"
    loaded = config.load_all(
        path,
        {"QUARKUS_LOG_LEVEL": "debug", "QUARKUS_LOG_CATEGORY__US_ULLBERG__LEVEL": "TRACE"},
    )
    assert (loaded.log_level, loaded.app_log_level) == ("DEBUG", "DEBUG")
    assert loaded.ignored == ()


def test_a_log_level_that_is_none_is_one_clear_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "quarkus:\n  log:\n    level: LOUD\n")

    assert problems_of(path, {}) == [
        "quarkus.log.level: 'LOUD' is not a log level; use one of ERROR, WARN, INFO, DEBUG, TRACE"
    ]


def test_other_quarkus_environment_variables_are_named_as_ignored() -> None:
    loaded = config.load_all(None, {"QUARKUS_HTTP_PORT": "9090"})

    assert loaded.ignored == (
        "QUARKUS_HTTP_PORT: accepted and ignored (settings of Quarkus, the original's framework, "
        "which Startpunkt does not use)",
    )


def test_remote_clusters_take_quarkus_indexed_environment_names() -> None:
    settings = config.load(
        None,
        {
            "STARTPUNKT_CLUSTERS_REMOTE_0__NAME": "lab",
            "STARTPUNKT_CLUSTERS_REMOTE_0__GRAPHQL_URL": "https://lab.example/graphql",
            "STARTPUNKT_CLUSTERS_REMOTE_1__NAME": "prod",
            "STARTPUNKT_CLUSTERS_REMOTE_1__GRAPHQL_URL": "https://prod.example/graphql",
            "STARTPUNKT_CLUSTERS_REMOTE_1__ENABLED": "false",
        },
    )

    assert [(r.name, r.enabled) for r in settings.clusters.remote] == [
        ("lab", True),
        ("prod", False),
    ]


def test_an_unknown_setting_in_the_environment_is_an_error_with_a_suggestion() -> None:
    problems = problems_of(
        None, {"STARTPUNKT_WEB_TITEL": "x", "STARTPUNKT_AVAILABILITY_INTERVALL": "5m"}
    )

    assert problems == [
        "STARTPUNKT_AVAILABILITY_INTERVALL: unknown setting in the environment; "
        "did you mean STARTPUNKT_AVAILABILITY_INTERVAL?",
        "STARTPUNKT_WEB_TITEL: unknown setting in the environment; "
        "did you mean STARTPUNKT_WEB_TITLE?",
    ]


def test_variables_that_are_no_settings_are_left_alone() -> None:
    settings = config.load(
        None,
        {
            # Kubernetes service links for Services named startpunkt and startpunkt-metrics
            "STARTPUNKT_SERVICE_HOST": "10.0.0.1",
            "STARTPUNKT_SERVICE_PORT": "8080",
            "STARTPUNKT_SERVICE_PORT_HTTP": "8080",
            "STARTPUNKT_PORT": "tcp://10.0.0.1:8080",
            "STARTPUNKT_PORT_8080_TCP": "tcp://10.0.0.1:8080",
            "STARTPUNKT_PORT_8080_TCP_PROTO": "tcp",
            "STARTPUNKT_PORT_8080_TCP_PORT": "8080",
            "STARTPUNKT_PORT_8080_TCP_ADDR": "10.0.0.1",
            "STARTPUNKT_METRICS_SERVICE_HOST": "10.0.0.2",
            "STARTPUNKT_METRICS_PORT_9090_TCP_ADDR": "10.0.0.2",
            # this program's own, and names that look like no setting at all
            "STARTPUNKT_LOG_LEVEL": "debug",
            "STARTPUNKT_KUBE_APISERVER": "/opt/kube-apiserver",
        },
    )

    assert settings.web.title == "Startpunkt"


def test_the_replay_buffer_has_an_upper_bound() -> None:
    (problem,) = problems_of(None, {"STARTPUNKT_REALTIME_REPLAYBUFFER": "100000000"})

    assert problem.startswith("startpunkt.realtime.replayBuffer: Input should be less than")


def test_homepage_values_come_from_variables_and_files(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")

    loaded = config.load_all(
        None,
        {"HOMEPAGE_VAR_DOMAIN": "lab.example", "HOMEPAGE_FILE_TOKEN": str(secret)},
    )

    assert loaded.substitutions == {
        "HOMEPAGE_VAR_DOMAIN": "lab.example",
        "HOMEPAGE_FILE_TOKEN": "s3cret",  # one final line break dropped
    }


def test_an_unreadable_homepage_file_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (config.originals.SUBSTITUTION_LIMIT + 1))

    problems = problems_of(
        None,
        {
            "HOMEPAGE_FILE_A": str(tmp_path / "missing"),
            "HOMEPAGE_FILE_B": str(fifo),
            "HOMEPAGE_FILE_C": str(big),
        },
    )

    assert problems == [
        f"HOMEPAGE_FILE_A: cannot read '{tmp_path / 'missing'}' (No such file or directory)",
        f"HOMEPAGE_FILE_B: cannot read '{fifo}' (not a regular file)",
        f"HOMEPAGE_FILE_C: cannot read '{big}' (larger than 64 KiB)",
    ]


def test_a_deep_framework_section_is_named_without_walking_all_of_it(tmp_path: Path) -> None:
    deep: dict[str, object] = {"leaf": 1}
    for level in range(45):  # deep, but within the configuration file's nesting limit
        deep = {f"k{level}": deep}
    path = tmp_path / "application.json"  # JSON is YAML, and nests without a long indent
    path.write_text(json.dumps({"quarkus": deep}))

    (line,) = config.load_all(path, {}).ignored

    assert line.startswith("quarkus.k44.k43.")
    assert line.count(".") < 20


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT30S", 30.0), ("PT1M30S", 90.0), ("P1DT2H", 93600.0), ("pt0.5s", 0.5)]
)
def test_quarkus_iso_durations_are_read(tmp_path: Path, text: str, seconds: float) -> None:
    path = write(tmp_path, f"startpunkt:\n  availability:\n    interval: {text}\n")

    assert config.load(path, {}).availability.interval == seconds


@pytest.mark.parametrize("text", ["P", "PT", "P1Y", "PT-5S"])
def test_what_is_no_iso_duration_is_still_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, f"startpunkt:\n  availability:\n    interval: {text}\n")

    (problem,) = problems_of(path, {})
    assert problem.startswith("startpunkt.availability.interval:")
