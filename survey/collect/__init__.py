"""Every way a response comes in.

The kiosk (:mod:`.kiosk`), the enumerator app (:mod:`.enumerator`), public links and receipts
(:mod:`.links`), the submission API and its OpenAPI document (:mod:`.api`, :mod:`.openapi`),
the checks every channel shares (:mod:`.submissions`), the one store-a-response path
(:mod:`.responses`), device and enumerator credentials (:mod:`.credentials`) and the forms built
from questionnaires (:mod:`.forms`).

May import: ``survey.store`` and the app core (``survey.auth``, ``errors``, ``i18n``, ``text``,
``periods``, ``config``, ``ratelimit``), plus ``questionnaires``. Never ``survey.reports``,
``survey.staff`` or ``survey.portal``.
"""
