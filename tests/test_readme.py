"""Every README snippet runs as written, in README order, in a fresh folder and home.

Python blocks run in a fresh interpreter; shell blocks run command by command
(``$ `` prompts, comments and ``\\`` continuations handled; ``a && b`` is two
commands). The folder holds links to the repository's folders, the photos the
README names (``photo.jpg``, ``photo1.jpg``, ``photo2.jpg``: copies of the sample),
and nothing else: ``clip.mp4`` is made by the README's own command. HOME and the
XDG folders point into it, so no user's journal, config or token is touched.

What cannot run here is only *parsed*: the command's real entry point is called
and stops right after argparse accepted the command line. Python snippets that
cannot run are only compiled. The lists below say which and why; a block may also
be marked in the README with ``<!-- readme-test: parse-only (why) -->`` or
``<!-- readme-test: skip (why) -->`` on the line before it.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = ROOT / "sdk" / "moodlens" / "samples" / "astronaut.jpg"
PHOTOS = ("photo.jpg", "photo1.jpg", "photo2.jpg")  # placeholders the README uses

# Commands that are neither run nor parsed: they change the environment or run the suite.
NOT_RUN = (
    (r"^pip install\b", "installs packages: the tests run in the installed environment"),
    (r"^python -m pytest\b", "runs this test suite"),
    (r"^bash \.ci/run\b", "runs CI in a fresh virtual environment"),
)
# Commands that are only parsed: (pattern, why).
PARSE_ONLY = (
    (r"--camera\b", "needs a camera"),
    (r"--show\b", "needs a GUI"),
    (r"^moodlens spotify login\b", "needs a Spotify account and a browser"),
    (r"--plugin spotify-playlist\b", "needs a Spotify account"),
    (r"--apply\b", "writes to a Spotify account"),
    (r"^moodlens-train\b", "a long training run on FER2013"),
    (r"^moodlens-export\b", "needs a trained run folder and FER2013"),
    (r"^moodlens-evaluate\b", "scores thousands of FER2013 faces"),
    (r"^moodlens analyze\b.*--engine ray\b", "starts a Ray cluster"),
)
# Python snippets that are only compiled: (pattern, why).
PYTHON_COMPILE_ONLY = (
    (r"MoodStream\(\s*\d", "needs a camera"),
    (r"CameraSource\(", "needs a camera"),
    (r"SpotifyPlaylistPlugin\((?![^)]*dry_run=True)", "needs a Spotify account"),
    (r"postgresql\+psycopg://", "needs a PostgreSQL server"),
)
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|parse-only)\b[^>]*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```\s*$", re.M | re.S)
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}
TIMEOUT = 120


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    body: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang or 'shell'}"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        lang = m.group("lang").lower()
        if lang == "python" or lang in SHELL_LANGS:
            blocks.append(Block(line, lang, m.group("body"), marker.group(1) if marker else None))
    return blocks


def shell_commands(body: str) -> list[list[str]]:
    """The commands of a shell block as argv lists: prompts, comments and && handled."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        if tokens[:1] == ["$"]:
            tokens = tokens[1:]
        current: list[str] = []
        for token in [*tokens, "&&"]:
            if token == "&&":
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
    return commands


def _first_match(rules: tuple[tuple[str, str], ...], text: str) -> str | None:
    return next((why for pattern, why in rules if re.search(pattern, text)), None)


# -- the folder a newcomer would work in -----------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name not in {"README.md"}:
            (folder / entry.name).symlink_to(entry)
    for name in PHOTOS:
        shutil.copy(SAMPLE, folder / name)
    (folder / "home").mkdir()
    return folder


@pytest.fixture(scope="module")
def env(workdir: Path) -> dict[str, str]:
    home = workdir / "home"
    drop = {"MOODLENS_CONFIG", "MOODLENS_SPOTIFY_DIR", "MOODLENS_JOURNAL_URL", "SPOTIPY_CLIENT_ID"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        MPLBACKEND="Agg",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


# -- parse only: the real entry point, stopped once argparse accepted the line ---------------


class _Parsed(BaseException):
    """Raised by the patched parse_args; a BaseException so no CLI catches it."""


def _entry(argv: list[str]) -> tuple[Callable[[], object], list[str]]:
    """What runs ``argv``: a console script's function, a script, or a module."""
    program, rest = argv[0], argv[1:]
    if program == "python":
        if rest[:1] == ["-m"]:
            return (lambda: runpy.run_module(rest[1], run_name="__main__")), rest[1:]
        return (lambda: runpy.run_path(rest[0], run_name="__main__")), rest
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == program]
    function = script.load()
    return (lambda: function(rest)), [program, *rest]


def parse_only(argv: list[str], workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, sys_argv = _entry(argv)
    original = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    with monkeypatch.context() as m:
        m.chdir(workdir)
        m.setattr(argparse.ArgumentParser, "parse_args", parse_args)
        m.setattr(sys, "argv", sys_argv)
        try:
            run()
        except _Parsed:
            return
        except SystemExit as exc:
            pytest.fail(f"`{shlex.join(argv)}` does not parse (exit {exc.code})")
    pytest.fail(f"`{shlex.join(argv)}` finished without parsing a command line")


# -- the tests ---------------------------------------------------------------------------------

BLOCKS = readme_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, workdir: Path, env: dict, monkeypatch, capsys):
    if block.marker == "skip":
        pytest.skip(f"marked in the README: {block.id}")
    if block.lang == "python":
        why = _first_match(PYTHON_COMPILE_ONLY, re.sub(r"#.*$", "", block.body, flags=re.M))
        compile(block.body, f"README.md:{block.line}", "exec")
        if why or block.marker == "parse-only":
            return
        out = subprocess.run(
            [sys.executable, "-c", block.body],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert out.returncode == 0, f"README.md:{block.line}\n{out.stdout}\n{out.stderr}"
        return
    for argv in shell_commands(block.body):
        line = shlex.join(argv)
        if _first_match(NOT_RUN, line):
            continue
        if block.marker == "parse-only" or _first_match(PARSE_ONLY, line):
            parse_only(argv, workdir, monkeypatch)
            capsys.readouterr()
            continue
        out = subprocess.run(
            line, shell=True, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert out.returncode == 0, f"README.md:{block.line}: {line}\n{out.stdout}\n{out.stderr}"


def test_the_readme_snippets_are_what_this_test_expects():
    """The lists above stay honest: each rule matches a snippet, and most snippets run."""
    commands = [shlex.join(c) for b in BLOCKS if b.lang != "python" for c in shell_commands(b.body)]
    expected = (
        r"^pip install\b",
        r"^python -m pytest\b",
        r"--camera\b",
        r"^moodlens spotify login\b",
        r"^moodlens-train\b",
        r"^moodlens-export\b",
        r"^moodlens-evaluate\b",
    )
    for pattern in expected:
        assert any(re.search(pattern, c) for c in commands), f"no README command: {pattern}"
    ran = [c for c in commands if not _first_match(NOT_RUN + PARSE_ONLY, c)]
    assert len(ran) >= 8, ran
    assert sum(b.lang == "python" for b in BLOCKS) >= 3


@pytest.mark.parametrize(
    "argv",
    [
        ["moodlens", "watch", "--camera", "zero"],
        ["moodlens-train", "--data", "fer2013.csv"],
        ["moodlens", "spotify", "login", "--no-such-option"],
    ],
)
def test_parse_only_fails_on_a_command_line_that_does_not_parse(argv, tmp_path, monkeypatch):
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        parse_only(argv, tmp_path, monkeypatch)
