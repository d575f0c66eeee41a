"""Persistence: the typed models (:mod:`.models`), engine and session (:mod:`.db`), the Alembic
migrations (``migrations/``, driven by :mod:`.migrate`) and the questionnaire catalogue
(:mod:`.catalogue`).

May import only the app core's pure helpers and ``questionnaires``; everything else in
``survey`` sits above it.
"""

# The media files of OpenRosa submissions and the sealed Digest secrets (revision i14a, issue 14)
# are in survey.store.odk_media; imported here so that Base.metadata has their tables.
from survey.store import odk_media as _odk_media  # noqa: E402,F401
