"""Hajimari's custom resources (hajimari.io/v1alpha1 Application and the fork's Bookmark).

Same shape as Startpunkt's, except that an Application requires a URL and has no urlFrom. The
original dereferenced `spec.group` unguarded, so one Hajimari app without a group blanked the
whole page; here the group defaults to the namespace and a missing name or URL rejects only
that object.
"""

from __future__ import annotations

from startpunkt.model import Outcome, ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources.base import MappingContext, Source
from startpunkt.sources.startpunkt import crd_application, crd_bookmark

GROUP = "hajimari.io"
APPLICATION_KINDS = (
    ResourceKind(GROUP, "v1alpha1", "applications", "Application", "Hajimari Application"),
)
BOOKMARK_KINDS = (ResourceKind(GROUP, "v1alpha1", "bookmarks", "Bookmark", "Hajimari Bookmark"),)


def map_application(obj: KubeObject, ctx: MappingContext) -> Outcome:
    return crd_application(
        obj,
        ctx,
        source="hajimari-application",
        kind=APPLICATION_KINDS[0],
        url_from=False,
        url_required=True,
    )


def map_bookmark(obj: KubeObject, ctx: MappingContext) -> Outcome:
    return crd_bookmark(obj, ctx, source="hajimari-bookmark", kind=BOOKMARK_KINDS[0])


APPLICATION = Source(
    name="hajimari-application",
    kinds=APPLICATION_KINDS,
    map=map_application,
    enabled=lambda settings: settings.hajimari.enabled,
    produces="applications",
)
BOOKMARK = Source(
    name="hajimari-bookmark",
    kinds=BOOKMARK_KINDS,
    map=map_bookmark,
    enabled=lambda settings: settings.hajimari.enabled,
    produces="bookmarks",
)
