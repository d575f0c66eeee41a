"""The set-up area: the official list of units, and (for admins only) villages, desks, services,
accounts and assignments from forms and templates.

A view layer beside ``survey.staff`` (``lint-imports``: staff : portal : admin): may import
``survey.reports``, ``survey.collect``, ``survey.store`` and the app core; ``survey.portal``
never imports it."""
