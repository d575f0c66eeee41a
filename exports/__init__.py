"""Results → files. Renderers are pure functions registered by kind and format in
:data:`exports.downloads.DOWNLOADS`, the one registry every download of the app goes through.

``render(fmt, table)`` returns bytes; an unknown format raises :class:`UnknownFormat` naming the
formats there are. What this package takes: aggregate result tables
(:class:`~exports.tables.ResultTable`), and de-identified response-level data for analysts
(:class:`~exports.microdata.Microdata`: one row per response, answers and their unit, service and
period — never dossier codes, questions marked ``personal`` or free text, which
``survey.reports.microdata_frame`` leaves out of the frame). It has no database and no web code.
"""

from exports.renderers import RENDERERS, Rendered, UnknownFormat, render
from exports.tables import Column, ResultTable

__all__ = ["RENDERERS", "Column", "Rendered", "ResultTable", "UnknownFormat", "render"]
