import re

import click
from click.testing import CliRunner

from secmon import settings
from secmon.cli import cli


def walk(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from walk(command, prefix + (name,))


def test_every_command_has_help_text():
    missing = [" ".join(path) for path, command in walk(cli) if not (command.help or "").strip()]
    assert missing == []


def test_every_command_help_shows_an_example():
    runner = CliRunner()
    for path, _command in walk(cli):
        if path == ("dbt",):
            continue  # `secmon dbt --help` is dbt's own help, checked in test_dbt.py
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example:" in result.output, path


def test_env_without_a_stack_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SECMON_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("SECMON_PG_URL", raising=False)
    result = CliRunner().invoke(cli, ["env", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "run `secmon up` first" in result.output


def test_the_readme_command_table_lists_every_command_and_no_other():
    """The README's table of `secmon` commands is the CLI's, command for command."""
    readme = (settings.PROJECT_DIR / "README.md").read_text()
    table = readme.split("## The runner: `secmon`", 1)[1].split("\n\n", 2)[1]
    documented = {
        re.match(r"\| `secmon ([a-z]+(?: [a-z][a-z-]*)?)", line)[1]
        for line in table.splitlines()
        if line.startswith("| `secmon ")
    }
    commands = {
        " ".join(path)
        for path, command in walk(cli)
        if not isinstance(command, click.Group) or command.invoke_without_command
    }
    assert documented == commands


def test_an_alert_is_printed_as_data_whatever_its_example_holds():
    """An attacker writes the example URL (and can make it look like markup): it prints as it is."""
    from secmon.console import alert_line, console

    alert = {
        "window_start": "2026-12-07T04:00:00",
        "severity": "high",
        "detection": "web_attack",
        "entity": "192.0.2.1",
        "target_username": None,
        "event_count": 4,
        "distinct_count": 4,
        "example": "/a?[/x][bold]b[/bold]",
    }
    with console.capture() as captured:
        console.print(alert_line(alert, "[red]XX[/red]"), highlight=False)
    assert "e.g. /a?[/x][bold]b[/bold])" in captured.get() and "[[red]XX[/red]]" in captured.get()
