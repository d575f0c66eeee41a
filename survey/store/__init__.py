"""Persistence: the typed models (:mod:`.models`), engine and session (:mod:`.db`), the Alembic
migrations (``migrations/``, driven by :mod:`.migrate`) and the questionnaire catalogue
(:mod:`.catalogue`).

May import only the app core's pure helpers and ``questionnaires``; everything else in
``survey`` sits above it.
"""

# Tables kept in modules of their own, imported here so that Base.metadata has them: the media
# files of OpenRosa submissions and the sealed Digest secrets (revision i14a, issue 14) in
# survey.store.odk_media, the background data exports (revision e15a, issue 15) in
# survey.store.export_records.
from survey.store import export_records as _export_records  # noqa: E402,F401
from survey.store import odk_media as _odk_media  # noqa: E402,F401
