"""Sign-in, sign-out and the page language over real HTTP; every page wants a signed-in user."""

from __future__ import annotations

import httpx

from tests.server.web.conftest import PASSWORD, Site, csrf_of, signed_in


def test_pages__signed_out__redirect_to_login(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        for path in (
            "/submissions",
            f"/submissions/{site.sub_id}",
            f"/attachments/{site.attachment_id}",
        ):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")


def test_login__wrong_password__401_and_message(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        page = client.get("/login")
        response = client.post(
            "/login", data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": "sai"}
        )
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text


def test_login__no_csrf__refused(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        response = client.post("/login", data={"username": "hoa.qng", "password": PASSWORD})
    assert response.status_code == 403


def test_language_switch__english_labels(site: Site) -> None:
    with signed_in(site, "admin") as client:
        client.get("/lang", params={"to": "en", "next": f"/submissions/{site.sub_id}"})
        detail = client.get(f"/submissions/{site.sub_id}")
        assert '<html lang="en">' in detail.text
        assert "Students" in detail.text
        assert "Edit history" in detail.text
