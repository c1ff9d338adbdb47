"""The fields of each CRD version, as the original defines them (spec §1), plus Startpunkt's
extensions on Application v1alpha4. Written out here, not read from the CRDs, so the tests
compare the CRDs against an independent statement."""

from __future__ import annotations

APPLICATION_V1ALPHA1 = {
    "name", "group", "icon", "iconColor", "url", "info", "targetBlank", "location", "enabled",
}  # fmt: skip
APPLICATION_FIELDS = {
    "v1alpha1": APPLICATION_V1ALPHA1,
    "v1alpha2": APPLICATION_V1ALPHA1 | {"rootPath"},
    "v1alpha3": APPLICATION_V1ALPHA1 | {"rootPath", "tags"},
    "v1alpha4": APPLICATION_V1ALPHA1
    | {"rootPath", "tags", "urlFrom"}
    | {"healthUrl", "probe", "acceptedStatusCodes", "probeTimeout"}
    | {"groups"},
}
APPLICATION_REQUIRED = {
    "v1alpha1": {"name", "url"},
    "v1alpha2": {"name", "url"},
    "v1alpha3": {"name", "url"},
    "v1alpha4": {"name"},
}
BOOKMARK_FIELDS = {"name", "group", "url", "icon", "info", "targetBlank", "location"}
BOOKMARK_V1ALPHA4_FIELDS = BOOKMARK_FIELDS | {"groups"}  # who may see it
URLFROM_FIELDS = {"apiVersion", "kind", "name", "namespace", "apiGroup", "property", "urlTemplate"}
URLFROM_REQUIRED = {"apiVersion", "kind", "name", "property"}
