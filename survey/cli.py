"""What every ``hailong`` subcommand shares: an application built from the configuration, its
context around the command, and refusals as one clear line instead of a traceback.

One place for it (there were four copies): ``survey.commands``, the set-up area's
``hailong units/setup/covariates``, and the portal's ``hailong release/portal/admin-index``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any, overload

import click
from flask import Flask
from flask_babel import force_locale

from survey.errors import AppError


@contextmanager
def app_context(*, request: bool = False) -> Iterator[Flask]:
    """An app from the configuration with its context (and a request context when the command
    builds addresses with ``url_for``), in the default language; its engine disposed after."""
    from survey import create_app

    try:
        app = create_app()
    except (RuntimeError, ValueError) as exc:  # a configuration the app refuses: its message
        raise click.ClickException(str(exc)) from None
    try:
        with ExitStack() as stack:
            stack.enter_context(app.app_context())
            if request:
                stack.enter_context(app.test_request_context())
            stack.enter_context(force_locale(app.config["DEFAULT_LANGUAGE"]))
            try:
                yield app
            except AppError as exc:
                raise click.ClickException(exc.message) from None
    finally:
        app.extensions["hailong.engine"].dispose()  # no connection left open behind the command


@overload
def in_app(command: Callable[..., Any], /) -> Callable[..., Any]: ...
@overload
def in_app(*, request: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def in_app(command: Callable[..., Any] | None = None, /, *, request: bool = False) -> Any:
    """Decorate a click command to run inside :func:`app_context` (``@in_app`` or ``@in_app(request=True)``)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with app_context(request=request):
                return func(*args, **kwargs)

        return wrapped

    return decorate(command) if command is not None else decorate
