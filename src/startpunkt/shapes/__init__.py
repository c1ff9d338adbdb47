"""One definition of every JSON shape: what the API and the event stream send (`api`), the
health documents (`status`), and raw Kubernetes JSON where the code reads it (`kube`).

`web/openapi.py` generates its schemas from these (`schema`).
"""

from startpunkt.shapes.api import (
    application,
    bookmark,
    envelope,
    iso,
    item_key,
    matches_tags,
    tag_set,
)

__all__ = ["application", "bookmark", "envelope", "iso", "item_key", "matches_tags", "tag_set"]
