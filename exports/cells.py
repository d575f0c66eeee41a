"""Cells a spreadsheet reads as meant: identifiers stay text, text never runs as a formula.

When Excel or LibreOffice opens a CSV it guesses each cell's type: the unit code ``96-04-02``
becomes the date 1996-04-02, the version ``2025.2`` a number, ``00123`` loses its zeros; and a
text starting with ``=``, ``+``, ``-`` or ``@`` runs as a formula (the "CSV injection" OWASP
describes). The CSV for Excel therefore writes

* identifiers as ``="96-04-02"`` (:func:`excel_text`): a formula that only returns its text, the
  one form both Excel and LibreOffice keep as text; the inner quotes are doubled, so nothing in
  the identifier can escape the string;
* any other text that would start a formula with an apostrophe in front (:func:`defuse`);
* numbers unchanged, so they stay numbers.

Plain CSV for programs is written as stored. In XLSX every text cell is written as text (never a
formula), which needs none of this.
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "defuse", "excel_text"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """Text a spreadsheet would run as a formula, with an apostrophe in front; anything else as is.

    >>> defuse('=HYPERLINK("http://x")'), defuse("-2"), defuse(-2), defuse("Cà Mau")
    ('\\'=HYPERLINK("http://x")', "'-2", -2, 'Cà Mau')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def excel_text(value: object) -> object:
    """An identifier as ``="…"`` so a spreadsheet keeps it as text; empty stays empty.

    >>> excel_text("96-04-02"), excel_text('a"b'), excel_text(None)
    ('="96-04-02"', '="a""b"', None)
    """
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return value
    return '="' + str(value).replace('"', '""') + '"'
