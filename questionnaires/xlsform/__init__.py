"""XLSForm interop: export any questionnaire for ODK Collect and KoboToolbox, import any XLSForm.

:mod:`.export` writes a questionnaire as an XLSForm workbook; :mod:`.importer` reads any
XLSForm through pyxform's own reader into a questionnaire and a row-by-row :mod:`.report` of
what was changed or left out (or an :class:`XLSFormError` naming every problem).
"""

from questionnaires.xlsform.export import (
    LANGUAGE_NAMES,
    XLS_TYPES,
    export_xlsform,
    to_workbook,
    to_xlsx_bytes,
)
from questionnaires.xlsform.importer import ImportResult, import_xlsform
from questionnaires.xlsform.report import Problem, XLSFormError

__all__ = [
    "LANGUAGE_NAMES",
    "XLS_TYPES",
    "ImportResult",
    "Problem",
    "XLSFormError",
    "export_xlsform",
    "import_xlsform",
    "to_workbook",
    "to_xlsx_bytes",
]
