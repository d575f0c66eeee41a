"""The set-up area: the official list of units, and (for admins only) villages, desks, services,
accounts and assignments from forms and templates."""
