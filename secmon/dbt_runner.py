"""dbt, run in-process with this project's directories and the stack's addresses."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from secmon import settings
from secmon.core.endpoints import Endpoints
from secmon.errors import SecmonError


def dbt_environment(endpoints: Endpoints | None) -> dict[str, str]:
    env = {"DBT_PROJECT_DIR": str(settings.PROJECT_DIR), "DBT_PROFILES_DIR": str(settings.PROJECT_DIR)}
    if endpoints is not None:
        env.update(endpoints.environment())
    else:
        # dbt renders the default target's profile even to parse or to compile for RisingWave: the
        # embedded stack's default addresses, where the environment gives none.
        env.update({name: value for name, value in Endpoints.default().environment().items() if name not in os.environ})
    return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """dbt reads its settings from the process environment; set them for one invocation only."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(args: Sequence[str], endpoints: Endpoints | None) -> int:
    """Invoke dbt with `args`; returns dbt's own exit code (0 ok, 1 failure, 2 error)."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    with _environment(dbt_environment(endpoints)):
        result = dbtRunner().invoke(list(args))
    if result.exception is not None:
        return 2
    return 0 if result.success else 1


def compile_inline(sql: str, endpoints: Endpoints | None, target: str = "local") -> str:
    """`sql` with the project's macros rendered for `target`, offline (tests check macros this way)."""
    from dbt.cli.main import dbtRunner

    args = ["compile", "--inline", sql, "-t", target, "--no-populate-cache", "--no-introspect", "--quiet"]
    with _environment(dbt_environment(endpoints)):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise SecmonError(f"dbt could not compile {sql[:60]!r}: {result.exception}")
    return result.result.results[0].node.compiled_code
