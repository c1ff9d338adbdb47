"""An open page follows every change: after each of many random creates, updates and deletes
of apps, annotated Ingresses and bookmarks (including two sources with the same URL, where one
hides the other, and tag changes), the cards on the page equal `/api/apps` and `/api/bookmarks`.

The real server process on a manifests directory and Chromium. Every object lives in one file,
rewritten atomically per operation together with a "Sync" bookmark that carries the operation's
number: once the API shows that number, the whole operation has been applied, and the page gets
a deadline to catch up.
"""

from __future__ import annotations

import difflib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.serving import Served
from tests.waiting import wait_until

SEED = 20261202
OPERATIONS = 120
GROUPS = ("Media", "Tools", "Home", "Platform")
TAGS = ("admin", "dev", "media", "ops")
WORDS = ("alder", "aspen", "birch", "cedar", "elm", "fir", "hazel", "larch", "maple", "oak")

PAGE_STATE = """() => {
  const text = (root, selector) => {
    const node = root.querySelector(selector);
    return node ? node.textContent : null;
  };
  const link = (card) => {
    const anchor = card.querySelector("a.card-link");
    return anchor ? anchor.getAttribute("href") : null;
  };
  const section = (kind) => Array.from(
    document.querySelectorAll(`.groups[data-kind="${kind}"] > details.group`)
  ).map((group) => ({
    group: text(group, "h3.group-title"),
    count: text(group, ".group-count"),
    cards: Array.from(group.querySelectorAll("li.card")).map((card) => ({
      key: card.dataset.key,
      name: text(card, ".card-name"),
      url: link(card),
      info: text(card, ".card-info"),
      tags: Array.from(card.querySelectorAll(".card-tags .tag")).map((t) => t.textContent),
    })),
  }));
  const chips = Array.from(document.querySelectorAll(".tagbar .chip:not(.chip-all)"))
    .map((chip) => chip.textContent.replace(/^#/, ""));
  return { app: section("app"), bookmark: section("bookmark"), chips: chips.sort() };
}"""


@dataclass
class World:
    """The objects in the manifests file, and how to change them at random."""

    rng: random.Random
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource name -> spec
    counter: int = 0

    def fresh_name(self) -> tuple[str, str]:
        self.counter += 1
        word = self.rng.choice(WORDS)
        return f"{word}{self.counter}", f"{word.title()} {_letters(self.counter)}"

    def urls(self, kinds: tuple[str, ...]) -> list[str]:
        return [o["url"] for o in self.objects.values() if o["kind"] in kinds]

    def new_url(self, resource: str) -> str:
        return f"https://{resource}.example/"

    def create(self, kind: str) -> str:
        resource, name = self.fresh_name()
        spec: dict[str, Any] = {"kind": kind, "name": name, "group": self.rng.choice(GROUPS)}
        shared = self.urls(("app", "ingress") if kind != "bookmark" else ("bookmark",))
        if shared and self.rng.random() < 0.35:
            spec["url"] = self.rng.choice(shared)  # the same link from two objects
        else:
            spec["url"] = self.new_url(resource)
        if kind != "bookmark":
            spec["tags"] = self.rng.sample(TAGS, self.rng.randint(0, 2))
        if self.rng.random() < 0.5:
            spec["info"] = f"about {name.lower()}"
        self.objects[resource] = spec
        return f"create {kind} {resource} {spec}"

    def update(self) -> str:
        resource = self.rng.choice(sorted(self.objects))
        spec = dict(self.objects[resource])
        what = self.rng.choice(("name", "group", "tags", "url", "info", "several"))
        if what in ("name", "several"):
            spec["name"] = self.fresh_name()[1]
        if what in ("group", "several"):
            spec["group"] = self.rng.choice(GROUPS)
        if what in ("tags", "several") and spec["kind"] != "bookmark":
            spec["tags"] = self.rng.sample(TAGS, self.rng.randint(0, 3))
        if what == "url":
            kinds = ("bookmark",) if spec["kind"] == "bookmark" else ("app", "ingress")
            others = [u for u in self.urls(kinds) if u != spec["url"]]
            take = others and self.rng.random() < 0.5
            spec["url"] = self.rng.choice(others) if take else self.new_url(self.fresh_name()[0])
        if what == "info":
            spec["info"] = None if spec.get("info") else f"now {spec['name'].lower()}"
        self.objects[resource] = spec
        return f"update {resource} ({what}) to {spec}"

    def delete(self) -> str:
        resource = self.rng.choice(sorted(self.objects))
        spec = self.objects.pop(resource)
        return f"delete {spec['kind']} {resource}"

    def step(self) -> str:
        roll = self.rng.random()
        if len(self.objects) < 4 or roll < 0.35:
            return self.create(self.rng.choice(("app", "app", "ingress", "bookmark")))
        if roll < 0.75:
            return self.update()
        return self.delete()

    def manifest(self, operation: int) -> str:
        docs = [
            _bookmark(
                "sync",
                {
                    "name": "Sync",
                    "group": "Zz",
                    "url": "https://sync.example/",
                    "info": f"op {operation}",
                },
            )
        ]
        for resource, spec in sorted(self.objects.items()):
            if spec["kind"] == "app":
                docs.append(_application(resource, spec))
            elif spec["kind"] == "ingress":
                docs.append(_ingress(resource, spec))
            else:
                docs.append(_bookmark(resource, spec))
        return "---\n".join(json.dumps(d) + "\n" for d in docs)


def _letters(n: int) -> str:
    """1 -> A, 27 -> AA: names that sort the same in Python and JavaScript."""
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _meta(resource: str) -> dict[str, Any]:
    return {"name": resource, "namespace": "fuzz"}


def _display(spec: dict[str, Any]) -> dict[str, Any]:
    shown = {"name": spec["name"], "group": spec["group"], "url": spec["url"]}
    if spec.get("info"):
        shown["info"] = spec["info"]
    return shown


def _application(resource: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = _display(spec)
    if spec.get("tags"):
        body["tags"] = ",".join(spec["tags"])
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": _meta(resource),
        "spec": body,
    }


def _ingress(resource: str, spec: dict[str, Any]) -> dict[str, Any]:
    prefix = "startpunkt.ullberg.us/"
    annotations = {
        prefix + "enable": "true",
        prefix + "appName": spec["name"],
        prefix + "group": spec["group"],
        prefix + "url": spec["url"],
    }
    if spec.get("info"):
        annotations[prefix + "info"] = spec["info"]
    if spec.get("tags"):
        annotations[prefix + "tags"] = ",".join(spec["tags"])
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**_meta(resource), "annotations": annotations},
        "spec": {"rules": [{"host": f"{resource}.cluster.example"}]},
    }


def _bookmark(resource: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Bookmark",
        "metadata": _meta(resource),
        "spec": _display(spec),
    }


def api_state(base: str) -> dict[str, Any]:
    """What the page should show, built from the REST API."""
    apps = httpx.get(base + "/api/apps", timeout=5).json()["groups"]
    marks = httpx.get(base + "/api/bookmarks", timeout=5).json()["groups"]

    def section(groups: list[dict[str, Any]], member: str) -> list[dict[str, Any]]:
        return [
            {
                "group": g["name"],
                "count": str(len(g[member])),
                "cards": [
                    {
                        "key": item["key"],
                        "name": item["name"],
                        "url": item.get("url"),
                        "info": item.get("info"),
                        "tags": [t for t in item.get("tags", "").split(",") if t],
                    }
                    for item in g[member]
                ],
            }
            for g in groups
        ]

    tags = {
        t.casefold()
        for g in apps
        for a in g["applications"]
        for t in a.get("tags", "").split(",")
        if t
    }
    return {
        "app": section(apps, "applications"),
        "bookmark": section(marks, "bookmarks"),
        "chips": sorted(tags),
    }


def sync_info(base: str) -> str | None:
    groups = httpx.get(base + "/api/bookmarks", timeout=5).json()["groups"]
    return next(
        (b.get("info") for g in groups for b in g["bookmarks"] if b["name"] == "Sync"), None
    )


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(".state.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def test_the_page_equals_the_api_after_every_random_change(page: Page, tmp_path: Path) -> None:
    world = World(random.Random(SEED))
    root = tmp_path / "manifests"
    root.mkdir()
    state = root / "objects.yaml"
    write_atomically(state, world.manifest(0))
    history: list[str] = []
    env = {"STARTPUNKT_AVAILABILITY_ENABLED": "false"}
    with Served(["--manifests", str(root)], tmp_path / "log", env=env) as served:
        page.goto(served.url)
        expect(page.locator("#live")).to_have_attribute("data-state", "connected")
        for operation in range(1, OPERATIONS + 1):
            history.append(f"{operation}: {world.step()}")
            write_atomically(state, world.manifest(operation))
            where = f"seed {SEED}, operation {history[-1]}"
            wait_until(
                lambda n=operation: sync_info(served.url) == f"op {n}",
                timeout=10,
                what=f"the API to apply {where}",
            )
            expected = api_state(served.url)
            seen: list[Any] = []

            def page_matches(expected: dict[str, Any] = expected, seen: list[Any] = seen) -> bool:
                seen[:] = [page.evaluate(PAGE_STATE)]
                return bool(seen[0] == expected)

            try:
                wait_until(page_matches, timeout=10, what="the page to equal the API")
            except AssertionError:
                recent = "\n".join(history[-8:])
                diff = difflib.unified_diff(
                    json.dumps(expected, indent=1).splitlines(),
                    json.dumps(seen[0], indent=1).splitlines(),
                    "api",
                    "page",
                    lineterm="",
                )
                raise AssertionError(
                    f"{where}\nlast operations:\n{recent}\n" + "\n".join(diff)
                ) from None
        assert page.evaluate("document.querySelectorAll('li.card').length") > 5
    assert not page.evaluate("window.__reloaded || false")
