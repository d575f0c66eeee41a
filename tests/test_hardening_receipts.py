"""Issue 12, left over at stop 16: a receipt token (the QR of ``/r/<token>`` on a phiếu hẹn) keeps
the dossier code secret — encrypted, not only signed — and refuses any change; tokens of the
earlier signed-only format, printed on receipts citizens already hold, are still read."""

from __future__ import annotations

import base64
import binascii
import re

from flask import Flask
from itsdangerous import URLSafeSerializer

from survey import create_app
from survey.collect.links import Receipt, make_receipt, read_receipt

DOSSIER = "000.00.12.H12-250101-0042"


def _app(secret: str = "r" * 32) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": secret})


def _decodings(token: str) -> list[bytes]:
    """Every base64 reading of the token's parts (what anyone holding the address could try)."""
    out = []
    for part in re.split(r"[.]", token):
        for candidate in (part, part[1:], part[:-1]):
            try:
                out.append(base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4)))
            except (binascii.Error, ValueError):
                pass
    return out


def test_a_receipt_token_hides_the_dossier_code_and_reads_back() -> None:
    app = _app()
    with app.test_request_context():
        tokens = {make_receipt("32002", "CHUNG-THUC", DOSSIER) for _ in range(5)}
        assert len(tokens) == 5  # a fresh nonce each time: two receipts of one dossier do not match
        for token in tokens:
            assert read_receipt(token) == Receipt("32002", "CHUNG-THUC", DOSSIER)
            assert DOSSIER not in token and "H12" not in token and "32002" not in token
            assert not any(b"H12" in raw or b"32002" in raw or b"CHUNG" in raw for raw in _decodings(token))
            assert len(token) < 200 and re.fullmatch(r"[A-Za-z0-9_.\-]+", token)  # fits a QR and a URL path


def test_a_changed_token_or_one_made_with_another_key_is_refused() -> None:
    app, other = _app(), _app("o" * 32)
    with app.test_request_context():
        token = make_receipt("32002", "CHUNG-THUC", DOSSIER)
    with other.test_request_context():
        assert read_receipt(token) is None
    with app.test_request_context():
        for i in range(2, len(token) - 1):  # (the last character may carry only padding bits)
            changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
            assert read_receipt(changed) is None, i
        assert read_receipt(token[:-4]) is None and read_receipt("2.") is None and read_receipt("2.%%%") is None
        assert read_receipt("x" * 600) is None


def test_receipts_of_the_earlier_signed_format_stay_valid_and_tamper_evident() -> None:
    app = _app()
    with app.test_request_context():
        legacy = str(URLSafeSerializer(app.config["SECRET_KEY"], salt="hailong-receipt").dumps(
            {"u": "32002", "s": "CHUNG-THUC", "d": DOSSIER}))  # as make_receipt wrote it before
        assert read_receipt(legacy) == Receipt("32002", "CHUNG-THUC", DOSSIER)
        forged = str(URLSafeSerializer("another-key", salt="hailong-receipt").dumps(
            {"u": "32002", "s": "CHUNG-THUC", "d": DOSSIER}))
        assert read_receipt(forged) is None
        assert read_receipt(legacy[:-2] + ("AA" if legacy[-2:] != "AA" else "BB")) is None


def test_the_receipt_page_opens_from_a_new_token_and_refuses_a_changed_one(app, demo, client) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        token = make_receipt("32002", "CHUNG-THUC", DOSSIER)
    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert DOSSIER not in html and "0042" in html  # masked on screen (tests/channels/test_kiosk_links.py posts it)
    refused = client.get(f"/r/{token[:-3]}xyz")
    assert refused.status_code == 400 and "Mã QR này không hợp lệ" in refused.get_data(as_text=True)


def test_no_qr_for_a_receipt_whose_unit_does_not_offer_its_service(app, demo, client) -> None:  # type: ignore[no-untyped-def]
    """The QR of a receipt is printed only for a token its survey would open: a unit that does not
    (or no longer) offer the service gets a 404 with the receipt's own message, as its survey does."""
    with app.test_request_context():
        offered = make_receipt("32002", "CHUNG-THUC", DOSSIER)
        not_offered = make_receipt("32002", "GPXD", DOSSIER)  # building permits: not a commune's service
        no_unit = make_receipt("99999", "CHUNG-THUC", DOSSIER)
    assert client.get(f"/r/{offered}/qr.png").data.startswith(b"\x89PNG")
    for token in (not_offered, no_unit):
        for path in (f"/r/{token}/qr.png", f"/r/{token}/qr.svg", f"/r/{token}"):
            refused = client.get(path)
            assert refused.status_code == 404, path
            page = refused.get_data(as_text=True)
            assert "Mã QR này không hợp lệ" in page and "áp phích" not in page, path  # not the poster's words
    assert client.get(f"/r/{offered[:-3]}xyz/qr.png").status_code == 400  # a changed token, as before
    assert client.get(f"/r/{offered}/qr.gif").status_code == 404
