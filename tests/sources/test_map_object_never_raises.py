"""Property tests: no object, however malformed, makes `map_object` raise, and what it returns
is always consistent (items only when shown, only http(s) links, keys under the source's name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from startpunkt.config import Settings
from startpunkt.model import Application, Outcome, Reference, Verdict
from startpunkt.sources import SOURCES, MappingContext, Source, map_object
from startpunkt.sources.annotations import KEYS
from startpunkt.sources.urls import scheme_of

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            " ",
            "true",
            "false",
            "off",
            "0",
            "10",
            "-3",
            "1e3",
            "abc",
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "https://Example.com/Path?q=1#f",
            "http://[::1",
            "http://host:99999",
            "//cdn.example.com/x.png",
            "localhost:8080",
            "example.com",
            "*.example.com",
            "a.b.svc",
            "200-299,401",
            "600",
            "5s",
            "/healthz",
            "data['a.b']",
            "status.loadBalancer.ingress[0].ip",
            "x" * 3000,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["name", "host", "path"]), children, max_size=4
        )
    ),
    max_leaves=20,
)

ANNOTATION_KEYS = sorted({key for keys in KEYS.values() for key in keys})
SPEC_KEYS = [
    "name", "group", "icon", "iconColor", "url", "urlFrom", "info", "targetBlank", "location",
    "enabled", "rootPath", "tags", "healthUrl", "probe", "acceptedStatusCodes", "probeTimeout",
    "rules", "tls", "defaultBackend", "ingressClassName", "host", "path", "to",
    "alternateBackends", "hosts", "http", "hostnames", "parentRefs",
]  # fmt: skip

# mostly plausible values, so the deeper paths (URL building, lookups) are reached often
plausible = st.sampled_from(
    ["true", "Grafana", "https://app.example.com/x", "app.example.com", "10", "/root", "a,b"]
)
hosts = st.sampled_from(
    ["app.example.com", "App.Example.com", "*.example.com", "short", "", "Bad Host/x"]
)
paths = st.dictionaries(
    st.sampled_from(["path", "pathType", "backend"]),
    st.sampled_from(["/", "/app", "/x(.*)", "Prefix", "ImplementationSpecific"]) | json_values,
)
rule = st.fixed_dictionaries(
    {"host": hosts},
    optional={"http": st.fixed_dictionaries({"paths": st.lists(paths, max_size=3)}) | json_values},
)
parent_refs = st.dictionaries(
    st.sampled_from(["name", "namespace", "sectionName", "kind", "group", "port"]),
    st.sampled_from(["gw", "https", "Gateway", 443]) | json_values,
)
url_from = st.dictionaries(
    st.sampled_from(
        ["apiVersion", "kind", "name", "namespace", "apiGroup", "property", "urlTemplate"]
    ),
    st.sampled_from(["v1", "ConfigMap", "cm", "data.url", "spec.listeners[0].name", "{0}"])
    | json_values,
)
# every kind's URL fields present, so each source gets far enough to build a URL
structured_spec = st.fixed_dictionaries(
    {
        "name": plausible,
        "url": plausible,
        "host": hosts,
        "rules": st.lists(rule, min_size=1, max_size=3),
        "hosts": st.lists(hosts | json_values, max_size=3),
        "hostnames": st.lists(hosts | json_values, max_size=3),
    },
    optional={
        "tls": st.lists(
            st.fixed_dictionaries({}, optional={"hosts": st.lists(hosts, max_size=2) | json_values})
        )
        | json_values,
        "parentRefs": st.lists(parent_refs, max_size=2) | json_values,
        "urlFrom": url_from | json_values,
    },
).flatmap(
    lambda base: st.dictionaries(
        st.sampled_from(SPEC_KEYS), plausible | json_values, max_size=4
    ).map(lambda extra: {**base, **extra})
)

annotation_maps = st.fixed_dictionaries(
    {"startpunkt.ullberg.us/enable": st.sampled_from(["true"] * 8 + ["false"] * 2 + ["no"])}
).flatmap(
    lambda base: st.dictionaries(
        st.sampled_from(ANNOTATION_KEYS) | st.text(max_size=10),
        plausible | json_values,
        max_size=8,
    ).map(lambda extra: {**extra, **base})
)
metadata = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["app", "Grafana"]) | st.text(min_size=1, max_size=20),
        "namespace": st.sampled_from(["apps", "Media", "apps", "Media", "Ns", "ns", "x", 7]),
        "annotations": st.one_of(annotation_maps, annotation_maps, annotation_maps, json_values),
    },
    optional={
        "ownerReferences": json_values,
        "managedFields": st.lists(st.dictionaries(st.just("manager"), json_values), max_size=2)
        | json_values,
    },
)
structured_objects = st.fixed_dictionaries(
    {"apiVersion": json_values, "kind": json_values, "metadata": metadata, "spec": structured_spec},
    optional={"status": json_values},
)
gateways = st.fixed_dictionaries(
    {
        "spec": st.fixed_dictionaries(
            {
                "listeners": st.lists(
                    st.dictionaries(
                        st.sampled_from(["name", "protocol", "port", "hostname"]),
                        json_values | st.sampled_from(["HTTPS", "HTTP", "TLS", 443, 8443]),
                    ),
                    max_size=3,
                )
            }
        )
    }
)
settings_variants = st.sampled_from(
    [
        Settings(),
        Settings.model_validate(
            {
                "defaultProtocol": "https",
                "ingress": {
                    "onlyAnnotated": False,
                    "ingressClassNames": ["nginx"],
                    "includeUnclassified": False,
                },
            }
        ),
        Settings.model_validate(
            {
                "openshift": {"onlyAnnotated": False},
                "istio": {"virtualservice": {"onlyAnnotated": False}},
                "gatewayapi": {"httproute": {"onlyAnnotated": False}},
            }
        ),
    ]
)


@st.composite
def contexts(draw: st.DrawFn) -> MappingContext:
    answer = draw(st.none() | json_values | gateways)
    raises = draw(st.booleans())

    def lookup(_: Reference) -> Any:
        if raises:
            raise RuntimeError("lookup failed")
        return answer

    return MappingContext(draw(settings_variants), lookup)


def check(source: Source, outcome: Outcome) -> None:
    assert isinstance(outcome, Outcome)
    assert outcome.verdict in Verdict
    # the catch-all in map_object is the last line of defence; the mappers must not need it
    assert "Startpunkt bug" not in (outcome.reason or ""), outcome.reason
    if outcome.verdict is Verdict.SHOWN:
        assert outcome.items
        assert outcome.reason is None
    else:
        assert outcome.items == ()
        assert outcome.reason
    for item in outcome.derived:
        assert item.key.startswith(f"{source.name}/")
        assert item.source == source.name
        assert item.name
        assert len(item.name) <= 200
        if item.url is not None:
            assert scheme_of(item.url) in ("http", "https"), item.url
            assert len(item.url) <= 2048
        if item.icon is not None and "://" in item.icon:
            assert scheme_of(item.icon) in ("http", "https"), item.icon
        if isinstance(item, Application):
            assert item.probe.url is None or scheme_of(item.probe.url) in ("http", "https")
    assert all(isinstance(note, str) for note in outcome.notes)
    assert all(isinstance(ref, Reference) for ref in outcome.depends_on)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
@PROPERTY_SETTINGS
@given(obj=json_values, ctx=contexts())
def test_arbitrary_json_never_raises(source: Source, obj: Any, ctx: MappingContext) -> None:
    check(source, map_object(source, obj, ctx))


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
@PROPERTY_SETTINGS
@given(obj=structured_objects, ctx=contexts())
def test_objects_with_junk_fields_never_raise(
    source: Source, obj: Mapping[str, Any], ctx: MappingContext
) -> None:
    check(source, map_object(source, obj, ctx))
