"""Issue 9 point 6: after the whole official list is imported (34 provinces, 3,321 commune-level
units) the unit picker stays usable — the admin forms no longer list thousands of options but
a searchable field, and the server search (tone-insensitive, survey.text.fold) answers within the
user's area; a field typed without JavaScript is read by code, "Name (code)" or a unique name.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey.store.models import Unit, UnitLevel


@pytest.fixture
def whole_country(app, db, demo):  # type: ignore[no-untyped-def]
    """The demo (Cà Mau with its history) and every other province of today's map."""
    from survey.admin.official import import_official

    import_official(db, history=False)
    db.commit()
    assert db.scalar(select(func.count()).select_from(Unit).where(
        Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_(None))) == 3321
    return demo


def _admin(client):  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"username": "admin", "password": "hailong-demo"}).status_code == 302


def test_the_admin_forms_search_instead_of_listing_every_unit(client, db, whole_country) -> None:  # type: ignore[no-untyped-def]
    _admin(client)
    page = client.get("/admin/").get_data(as_text=True)
    village_form = page[page.index('id="village"'):page.index('id="desk"')]
    assert village_form.count("<option") == 5  # the five kinds of village, no commune listed
    field = re.search(r'<input[^>]*id="village-commune"[^>]*>', page)
    assert field is not None and 'class="unit-combobox"' in field.group(0) and 'data-levels="commune"' in field.group(0)
    assert "3.321 đơn vị" in page or "3321 đơn vị" in page  # the hint says how many there are
    selects = re.findall(r"<select.*?</select>", page, re.S)
    assert max(sel.count("<option") for sel in selects) <= 300  # no list of 3,321 communes
    assert len(page) < 250_000
    assert "unit-combobox.js" in page

    found = client.get("/staff/units/search?q=thoi binh&levels=commune").get_json()
    labels = [r["label"] for r in found["results"]]
    thoi_binh = [r for r in found["results"] if r["name"] == "Xã Thới Bình"]
    assert thoi_binh and thoi_binh[0]["parent"] == "Tỉnh Cà Mau" and thoi_binh[0]["kind"] == "Xã"
    assert all("thoi" in _fold(r["name"]).split() and "binh" in _fold(r["name"]).split()
               for r in found["results"]), labels  # every word, whatever the tone marks
    assert labels[0] == "Xã Thới Bình (32065)"  # the name as typed first
    many = client.get("/staff/units/search?q=phuong").get_json()
    assert len(many["results"]) == 20 and many["more"] is True  # a page of answers, not thousands
    by_code = client.get(f"/staff/units/search?q={thoi_binh[0]['code']}").get_json()
    assert by_code["results"][0]["code"] == thoi_binh[0]["code"]
    hanoi = client.get("/staff/units/search?q=ba dinh&levels=commune").get_json()
    assert any(r["parent"] == "Thành phố Hà Nội" for r in hanoi["results"])  # the admin's area: the country

    # Without JavaScript the field is typed: "Name (code)" as the combobox sends it, a code, or a unique name.
    label = thoi_binh[0]["label"]
    assert client.post("/admin/villages", data={"commune": label, "name": "Ấp Mới Một", "kind": "ap"}).status_code == 302
    added = db.scalar(select(Unit).where(Unit.name == "Ấp Mới Một"))
    assert added is not None and added.parent.code == thoi_binh[0]["code"]
    ambiguous = client.post("/admin/villages", data={"commune": "xa tan tien", "name": "Ấp X", "kind": "ap"})
    text = ambiguous.get_data(as_text=True)
    assert ambiguous.status_code == 422 and "Có nhiều đơn vị tên xa tan tien" in text
    assert 'value="xa tan tien"' in text  # what was typed stays in the field
    nowhere = client.post("/admin/villages", data={"commune": "Xã Không Có", "name": "Ấp Y"})
    assert "Không có đơn vị mã Xã Không Có" in nowhere.get_data(as_text=True)

    # The staff pages' unit picker too: a searchable field holding the unit's code.
    for url in ("/staff/results?unit=32065", "/staff/export"):
        staff_page = client.get(url)
        assert staff_page.status_code == 200, url
        html = staff_page.get_data(as_text=True)
        picker = re.search(r'<input[^>]*id="unit"[^>]*>', html)
        assert picker is not None and 'class="unit-combobox"' in picker.group(0) and 'data-submit="code"' in picker.group(0)
        assert max([s.count("<option") for s in re.findall(r"<select.*?</select>", html, re.S)] + [0]) <= 300, url
    assert 'value="32065"' in client.get("/staff/results?unit=32065").get_data(as_text=True)
    for url in ("/staff/releases/new", "/staff/targets/"):  # a release's scope, a goal's unit
        html = client.get(url).get_data(as_text=True)
        field = re.search(r'<input[^>]*id="unit"[^>]*>', html)
        assert field is not None and 'class="unit-combobox"' in field.group(0), url
        assert max([s.count("<option") for s in re.findall(r"<select.*?</select>", html, re.S)] + [0]) <= 300, url


def test_staff_search_stays_inside_their_province(client, db, whole_country, staff) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from survey.store.models import User

    province = db.scalar(select(Unit.id).where(Unit.code == "96"))
    db.execute(update(User).where(User.username == "canbo").values(view_unit_id=province))
    db.commit()
    staff.login()  # canbo views Cà Mau (96) only
    found = client.get("/staff/units/search?q=ba dinh").get_json()
    assert found["results"] == []  # Hà Nội's wards are outside the account's area
    mine = client.get("/staff/units/search?q=an xuyen").get_json()
    assert [r["code"] for r in mine["results"]][:1] == ["32002"]
    outside = client.get("/staff/units/search?q=ba dinh&within=01").get_json()
    assert outside["results"] == []  # asking for another province's area gives the account's own
    assert client.get("/staff/units/search?q=a&levels=nope").status_code == 200  # unknown levels are ignored
    client.post("/auth/logout")
    assert client.get("/staff/units/search?q=an").status_code == 302  # signed-in staff only


def _fold(text: str) -> str:
    from survey.text import fold

    return fold(text)
