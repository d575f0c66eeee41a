"""Results → files. Renderers are pure functions registered by format name.

``render(fmt, table)`` returns bytes; an unknown format raises :class:`UnknownFormat` naming the
formats there are. Only aggregate tables reach this package: it never sees personal data.
"""

from exports.renderers import RENDERERS, Rendered, UnknownFormat, render
from exports.tables import Column, ResultTable

__all__ = ["RENDERERS", "Column", "Rendered", "ResultTable", "UnknownFormat", "render"]
