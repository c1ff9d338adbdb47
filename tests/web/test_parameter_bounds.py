"""Nothing a client sends is echoed back at length, and pages bound their parameters like the
API: a long URL costs a short answer, never a page that grows with it."""

from __future__ import annotations

import pytest

from tests.web.conftest import Site

LONG = 6000  # well under any request-line limit, far over every parameter bound
ECHO_LIMIT = 200  # an error may quote a little of what it got, not all of it


def assert_short_echo(body: str, garbage: str) -> None:
    assert garbage[:ECHO_LIMIT] not in body, "the whole value was echoed back"
    assert len(body) < 1000, len(body)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/i8n/" + "x" * LONG, 400),
        ("/api/apps/" + "g" * LONG + "/" + "n" * LONG, 404),
        ("/api/" + "p" * LONG, 404),
        ("/api/diagnostics?verdict=" + "v" * LONG, 400),
        ("/api/diagnostics?verdict=" + ",".join(f"v{i}" for i in range(LONG // 4)), 400),
        ("/api/apps?tags=" + "t" * LONG, 400),
        ("/api/" + "t" * LONG + "/" + "u" * LONG, 404),
    ],
)
async def test_api_errors_quote_at_most_a_little_of_the_input(
    site: Site, path: str, status: int
) -> None:
    response = await site.get(path)
    assert response.status_code == status
    assert_short_echo(response.text, path.rsplit("/", 1)[-1].rsplit("=", maxsplit=1)[-1])
    assert response.json()["error"]


async def test_a_wrong_method_on_a_long_api_path_is_a_short_405(site: Site) -> None:
    path = "/api/apps/" + "g" * LONG + "/" + "n" * LONG
    response = await site.client.post(path)
    assert response.status_code == 405
    assert_short_echo(response.text, "n" * LONG)


async def baseline(site: Site) -> int:
    response = await site.get("/")
    assert response.status_code == 200
    return len(response.content)


@pytest.mark.parametrize(
    "path",
    [
        "/" + ",".join(f"tag{i}" for i in range(LONG // 5)),
        "/" + "t" * LONG,
        "/?tags=" + ",".join(f"tag{i}" for i in range(LONG // 5)),
        "/admin?tags=" + "t" * LONG,
    ],
)
async def test_tag_pages_refuse_what_the_api_refuses(site: Site, path: str) -> None:
    site.put("Grafana", tags=["admin"])
    normal = await baseline(site)
    response = await site.get(path)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert len(response.content) <= normal, "the page grew with the URL"
    api = await site.get("/api/apps?tags=" + path.rsplit("?tags=", maxsplit=1)[-1].lstrip("/"))
    assert api.status_code == 400
    # the page says what is wrong in words, as the API does
    assert "tags: at most" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/?lang=" + "l" * LONG,
        "/diagnostics?verdict=" + "v" * LONG,
        "/no/such/" + "p" * LONG,
        "/statics/" + "s" * LONG,
    ],
)
async def test_other_page_parameters_do_not_make_the_page_grow(site: Site, path: str) -> None:
    site.put("Grafana")
    normal = await baseline(site)
    response = await site.get(path)
    assert response.status_code in (200, 400, 404)
    assert len(response.content) <= normal + 2 * ECHO_LIMIT, "the page grew with the URL"
    assert path[-ECHO_LIMIT:] not in response.text
