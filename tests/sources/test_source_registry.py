"""The registry the runtime reads: order, names, kinds, switches and the never-raise wrapper."""

from __future__ import annotations

from dataclasses import replace

import pytest

from startpunkt.config import Settings
from startpunkt.model import Verdict
from startpunkt.sources import (
    APPLICATION_SOURCES,
    BOOKMARK_SOURCES,
    GATEWAY_KINDS,
    SOURCES,
    MappingContext,
    enabled_sources,
    map_object,
    source_named,
)


def test_sources_are_listed_in_precedence_order() -> None:
    assert [s.name for s in SOURCES] == [
        "startpunkt-application",
        "startpunkt-bookmark",
        "hajimari-application",
        "hajimari-bookmark",
        "route",
        "ingress",
        "httproute",
        "virtualservice",
    ]


def test_bookmark_sources_are_the_bookmark_crds() -> None:
    assert {"startpunkt-bookmark", "hajimari-bookmark"} == BOOKMARK_SOURCES
    assert {s.name for s in SOURCES} == APPLICATION_SOURCES | BOOKMARK_SOURCES
    assert not APPLICATION_SOURCES & BOOKMARK_SOURCES


@pytest.mark.parametrize(
    ("name", "api_versions"),
    [
        (
            "startpunkt-application",
            [f"startpunkt.ullberg.us/v1alpha{n}" for n in (4, 3, 2, 1)],
        ),
        ("startpunkt-bookmark", [f"startpunkt.ullberg.us/v1alpha{n}" for n in (4, 3, 2, 1)]),
        ("hajimari-application", ["hajimari.io/v1alpha1"]),
        ("hajimari-bookmark", ["hajimari.io/v1alpha1"]),
        ("route", ["route.openshift.io/v1"]),
        ("ingress", ["networking.k8s.io/v1"]),
        ("httproute", ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
        ("virtualservice", ["networking.istio.io/v1", "networking.istio.io/v1beta1"]),
    ],
)
def test_each_source_reads_its_versions_preferred_first(name: str, api_versions: list[str]) -> None:
    assert [k.api_version for k in source_named(name).kinds] == api_versions


def test_gateway_kinds_are_v1_then_v1beta1() -> None:
    assert [(k.resource, k.version, k.kind) for k in GATEWAY_KINDS] == [
        ("gateways.gateway.networking.k8s.io", "v1", "Gateway"),
        ("gateways.gateway.networking.k8s.io", "v1beta1", "Gateway"),
    ]


def test_switches_turn_sources_off() -> None:
    assert enabled_sources(Settings()) == SOURCES
    settings = Settings.model_validate(
        {
            "ingress": {"enabled": False},
            "openshift": {"enabled": False},
            "hajimari": {"enabled": False},
            "istio": {"virtualservice": {"enabled": False}},
            "gatewayapi": {"httproute": {"enabled": False}},
        }
    )
    assert [s.name for s in enabled_sources(settings)] == [
        "startpunkt-application",
        "startpunkt-bookmark",
    ]


def test_unknown_source_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        source_named("traefik")


def test_a_crashing_mapper_rejects_only_that_object() -> None:
    def broken(obj: object, ctx: MappingContext) -> object:
        raise ZeroDivisionError("x" * 10_000)

    source = replace(source_named("ingress"), map=broken)  # type: ignore[arg-type]
    obj = {"metadata": {"name": "app", "namespace": "apps"}}

    outcome = map_object(source, obj, MappingContext(Settings()))

    assert outcome.verdict is Verdict.REJECTED
    assert str(outcome.ref) == "Ingress apps/app"
    assert outcome.reason is not None
    assert "ZeroDivisionError" in outcome.reason
    assert len(outcome.reason) < 400
