import pytest
from click.testing import CliRunner

from secmon.cli import cli


@pytest.mark.integration
def test_dbt_debug_connects_to_the_local_target(stack_env):
    result = CliRunner().invoke(cli, ["dbt", "debug", "-t", "local"])
    assert result.exit_code == 0, result.output


def test_dbt_exit_code_passes_through():
    result = CliRunner().invoke(cli, ["dbt", "run", "--no-such-flag"])
    assert result.exit_code == 2
