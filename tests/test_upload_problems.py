"""The staff's three file uploads (Decision 766 figures, commune boundaries, unit figures) share one
macro, ``upload_with_problems`` (survey/templates/staff/_upload.html): a refused file's problems,
each naming its row, in one alert above the form that sends the corrected file; every field of
the form labelled. Both databases (the app fixture)."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string

from survey.staff import admin_index_upload, boundaries_upload, covariates_upload

CALL = ('{% from "staff/_upload.html" import upload_with_problems %}'
        '{{ upload_with_problems(form, fields, problems, "Tệp chưa được lưu", "Sửa các dòng sau:", "Tải lên") }}')
FORMS = {  # the form of each page and the fields its template shows, in order
    "admin_index": (admin_index_upload.UploadForm, ["file", "period"]),
    "boundaries": (boundaries_upload.UploadForm, ["province", "file", "code_property"]),
    "covariates": (covariates_upload.UploadForm, ["file", "source"]),
}


@pytest.mark.parametrize("page", sorted(FORMS))
def test_the_problems_come_before_the_form_each_in_its_own_item(app: Flask, page: str) -> None:
    form_class, fields = FORMS[page]
    with app.test_request_context("/"):
        form = form_class()
        if page == "boundaries":
            form.province.choices = [("96", "Tỉnh Cà Mau")]
        html = render_template_string(CALL, form=form, fields=fields,
                                      problems=["Dòng 3: không có đơn vị 99999.", "Dòng 4: <b>sai</b>"])
    alert = re.search(r'<div class="errors" role="alert" id="upload-problems">(.*?)</div>', html, re.S)
    assert alert is not None and alert.start() < html.index("<form")
    assert "<h2>Tệp chưa được lưu</h2>" in alert.group(1) and "<p>Sửa các dòng sau:</p>" in alert.group(1)
    assert re.findall(r"<li>(.*?)</li>", alert.group(1)) == ["Dòng 3: không có đơn vị 99999.",
                                                            "Dòng 4: &lt;b&gt;sai&lt;/b&gt;"]  # escaped
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    shown = re.findall(r'<(?:input|select)[^>]*\bname="(\w+)"[^>]*\bid="(\w+)"|'
                       r'<(?:input|select)[^>]*\bid="(\w+)"[^>]*\bname="(\w+)"', html)
    named = [(a or d, b or c) for a, b, c, d in shown if (a or d) != "csrf_token"]
    assert [name for name, _id in named] == fields
    for _name, control_id in named:
        assert f'for="{control_id}"' in html, control_id  # a label names every field
    assert html.count("<button") == 1 and "Tải lên" in html


def test_without_problems_only_the_form_is_shown(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string(CALL, form=covariates_upload.UploadForm(), fields=["file", "source"],
                                      problems=[])
    assert "upload-problems" not in html and "role=\"alert\"" not in html and "<form" in html


@pytest.mark.parametrize("page", sorted(FORMS))
def test_each_upload_page_uses_the_macro(page: str) -> None:
    """No page keeps its own copy of the block (the read-through found three)."""
    from pathlib import Path

    template = (Path(__file__).parent.parent / "survey/templates/staff" / f"{page}.html").read_text(encoding="utf-8")
    assert "upload_with_problems(form, " in template and 'id="upload-problems"' not in template
    for field in FORMS[page][1]:
        assert f'"{field}"' in template or f"'{field}'" in template
