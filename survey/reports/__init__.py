"""Stored answers → tables: the services behind the staff result pages and the downloads.

:mod:`.frames` is the DB→DataFrame bridge; :mod:`.sipas_tables`, :mod:`.ranking`,
:mod:`.papi_tables` turn those frames into result tables with ``scoring``; :mod:`.microdata_frame`
builds the de-identified response-level table for analysts.

May import: ``survey.store``, the app core (``text``, ``periods``), ``scoring``, ``questionnaires``
and ``exports``. No Flask views, requests or templates here: never ``survey.staff``,
``survey.portal`` or ``survey.collect``.
"""
