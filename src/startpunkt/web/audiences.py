"""The store snapshot as each audience may see it, and the gate on the operator endpoints.

A filtered snapshot is built once per (snapshot, audience) and shared by every request of that
audience until the store changes; with access not configured the snapshot itself is returned
and nothing is filtered. Documents built from a view carry the audience in their ETag, so a
304 never crosses audiences even when two of them happen to see the same items.
"""

from __future__ import annotations

from collections import OrderedDict

from starlette.requests import HTTPConnection
from starlette.responses import Response

from startpunkt.access import Audience, Policy, audience, may_see, relevant_groups, visible
from startpunkt.config import Access
from startpunkt.model import Item
from startpunkt.store import Snapshot
from startpunkt.web.errors import error
from startpunkt.web.identity import on_operator_port, viewer_of

VIEWS = 64  # filtered snapshots kept for the current store snapshot


class Views:
    def __init__(self, access: Access) -> None:
        self.access = access
        self.policy = Policy.of(access)
        self._snapshot: Snapshot | None = None
        self._relevant: frozenset[str] = frozenset()
        self._views: OrderedDict[Audience, Snapshot] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.policy.enabled

    def audience(self, connection: HTTPConnection, snapshot: Snapshot) -> Audience:
        """The audience of the request; the operator port sees everything."""
        if not self.policy.enabled:
            return Audience()
        if on_operator_port(connection):
            return Audience(authenticated=True, is_admin=True)
        self._current(snapshot)
        return audience(viewer_of(connection), self.policy, self._relevant)

    def view(self, connection: HTTPConnection, snapshot: Snapshot) -> tuple[Audience, Snapshot]:
        """The request's audience and the part of `snapshot` it may see."""
        seen_by = self.audience(connection, snapshot)
        if not self.policy.enabled or seen_by.is_admin:
            return seen_by, snapshot
        self._current(snapshot)
        found = self._views.get(seen_by)
        if found is None:
            apps = visible(snapshot.applications, seen_by, self.policy)
            found = Snapshot(
                snapshot.revision,
                apps,
                visible(snapshot.bookmarks, seen_by, self.policy),
                {a.key: snapshot.availability[a.key] for a in apps},
            )
            self._views[seen_by] = found
            if len(self._views) > VIEWS:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(seen_by)
        return seen_by, found

    def may_see(self, seen_by: Audience, item: Item) -> bool:
        return may_see(seen_by, item, self.policy)

    def _current(self, snapshot: Snapshot) -> None:
        if snapshot is not self._snapshot:
            self._snapshot = snapshot
            self._relevant = relevant_groups((*snapshot.applications, *snapshot.bookmarks))
            self._views.clear()

    def operator_gate(self, connection: HTTPConnection, what: str) -> Response | None:
        """None when the request may read an operator endpoint (`what`), else the refusal.

        Diagnostics name every object, hidden ones too, so with access configured they are for
        admins whatever `operatorEndpoints` says; `/metrics` and `/api/sources` follow it.
        """
        if on_operator_port(connection):
            return None
        mode = self.access.operator_endpoints
        if mode == "port":
            return error(
                404,
                f"{what} is served on the operator port only "
                f"(startpunkt.access.operatorPort: {self.access.operator_port})",
            )
        admins_only = mode == "admins" or (self.enabled and what.endswith("diagnostics"))
        if admins_only and not viewer_of(connection).is_admin:
            return error(
                403,
                f"{what} is for admins (a group in startpunkt.access.admins); "
                "sign in through the proxy as one",
            )
        return None
