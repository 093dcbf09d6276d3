"""The package's public surface, and what importing it costs or needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import moodlens_journal
import pytest


def test_all_is_the_complete_public_surface():
    public = {n for n in dir(moodlens_journal) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(moodlens_journal, n)).__name__ == "module"}
    assert set(moodlens_journal.__all__) == public - modules
    assert len(set(moodlens_journal.__all__)) == len(moodlens_journal.__all__)
    for name in moodlens_journal.__all__:
        assert getattr(moodlens_journal, name) is not None


def test_the_entry_point_names_the_plugin():
    from importlib import metadata

    (ep,) = [e for e in metadata.entry_points(group="moodlens.plugins") if e.name == "mood-journal"]
    assert ep.load() is moodlens_journal.JournalPlugin


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_moodlens_does_not_load_the_journal_or_sqlalchemy():
    run = _python(
        """
        import sys, moodlens
        assert "moodlens_journal" not in sys.modules
        assert "sqlalchemy" not in sys.modules and "alembic" not in sys.modules
        """
    )
    assert run.returncode == 0, run.stderr


def test_missing_sqlalchemy_names_the_pip_command():
    run = _python(
        """
        import sys
        sys.modules["sqlalchemy"] = None  # as if it were not installed
        from moodlens import MissingDependencyError
        try:
            import moodlens_journal
        except MissingDependencyError as e:
            print(e)
        """
    )
    assert run.returncode == 0, run.stderr
    assert "pip install 'moodlens[journal]'" in run.stdout


def test_missing_sqlalchemy_through_the_cli():
    run = _python(
        """
        import sys
        sys.modules["sqlalchemy"] = None
        from moodlens._cli import main
        sys.exit(main(["journal", "summary"]))
        """
    )
    assert run.returncode == 1 and "pip install 'moodlens[journal]'" in run.stderr


def test_missing_matplotlib_for_a_chart_names_the_pip_command(tmp_path):
    db = tmp_path / "j.db"
    run = _python(
        f"""
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        from moodlens_journal._cli import main
        assert main(["--db", {str(db)!r}, "add", "--mood", "4"]) == 0
        sys.exit(main(["--db", {str(db)!r}, "summary", "--chart", {str(tmp_path / "c.png")!r}]))
        """
    )
    assert run.returncode == 1, run.stderr
    assert "pip install 'moodlens[journal]'" in run.stderr and "Traceback" not in run.stderr
    assert "Mood journal" not in run.stdout.split("entry 1")[-1]  # said before any work


@pytest.mark.parametrize(
    ("url", "module"),
    [("mysql://u@127.0.0.1/j", "MySQLdb"), ("mysql+pymysql://u@127.0.0.1/j", "pymysql")],
)
def test_a_driver_the_extra_does_not_bring_is_named_without_a_useless_pip_command(url, module):
    """The journal extra brings psycopg only: for another driver, name the module instead."""
    import importlib.util

    from moodlens_journal import Journal, JournalError

    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(JournalError) as error:
        Journal(url)
    message = str(error.value)
    assert repr(module) in message and "not installed" in message
    assert "moodlens[journal]" in message and "PostgreSQL" in message  # what the extra is for
