"""The moodlens CLI: detect (every image reported), sub-commands from entry points, exit codes.

One rule for every command: 0 success, 1 a failure while running, 2 a usage error
(with the usage line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from moodlens import __version__
from moodlens._cli import discover_commands, main


def run_cli(*args: str, env: dict | None = None, python: tuple = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *python, "-m", "moodlens", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def images(tmp_path: Path, sample_path: Path) -> dict[str, str]:
    """A good photo, a photo with no face, an empty file and a path that does not exist."""
    import cv2

    no_face = tmp_path / "wall.png"
    cv2.imwrite(str(no_face), np.full((120, 160, 3), 200, np.uint8))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    return {
        "good": str(sample_path),
        "no_face": str(no_face),
        "empty": str(empty),
        "missing": str(tmp_path / "missing.jpg"),
    }


def test_detect_prints_one_happy_face(sample_path):
    out = run_cli("detect", str(sample_path))
    assert out.returncode == 0, out.stderr
    assert "1 face" in out.stdout and "happy" in out.stdout


def test_detect_json_is_a_list_even_for_one_image(sample_path, capsys):
    assert main(["detect", "--json", str(sample_path)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["image"] == str(sample_path) and result["error"] is None
    assert [f["emotion"] for f in result["faces"]] == ["happy"]


def test_detect_json_reports_every_image_and_exits_1_when_any_failed(images, capsys):
    order = ["good", "empty", "no_face", "missing"]
    assert main(["detect", "--json", *(images[k] for k in order)]) == 1
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [r["image"] for r in results] == [images[k] for k in order]
    good, empty, no_face, missing = results
    assert [f["emotion"] for f in good["faces"]] == ["happy"] and good["error"] is None
    assert no_face["faces"] == [] and no_face["error"] is None  # no face is not an error
    assert empty["faces"] is None and "empty" in empty["error"].lower()
    assert missing["faces"] is None and "does not exist" in missing["error"]
    assert "2 of 4 images failed" in captured.err


def test_detect_json_is_a_list_even_when_the_model_cannot_load(images, tmp_path, capsys):
    model = tmp_path / "missing.onnx"
    assert main(["detect", "--json", "--model", str(model), images["good"], images["empty"]]) == 1
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [r["image"] for r in results] == [images["good"], images["empty"]]
    assert all(r["faces"] is None and "missing.onnx" in r["error"] for r in results)
    assert "missing.onnx" in captured.err


def test_detect_text_mode_prints_the_error_for_an_image_and_goes_on(images, capsys):
    assert main(["detect", images["missing"], images["good"]]) == 1
    captured = capsys.readouterr()
    assert f"{images['missing']}: " in captured.err and "does not exist" in captured.err
    assert f"{images['good']}: 1 face" in captured.out and "happy" in captured.out


def test_detect_all_good_exits_0(images, capsys):
    assert main(["detect", images["good"], images["no_face"]]) == 0
    out = capsys.readouterr().out
    assert "1 face" in out and "0 faces" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        # failures while running: exit 1 with the reason
        (["detect", "missing.jpg"], 1, "does not exist"),
        (["detect", "--model", "missing.onnx", "x.jpg"], 1, "'missing.onnx'"),
        # usage errors: exit 2 with the usage line
        (["detect"], 2, "required"),
        (["detect", "--threads", "0", "x.jpg"], 2, "must be 1 or more"),
        (["detect", "--threads", "two", "x.jpg"], 2, "not a whole number"),
        (["frobnicate"], 2, "invalid choice"),
        ([], 2, "usage: moodlens"),
    ],
)
def test_exit_codes(args, code, message, capsys):
    try:
        got = main(args)
    except SystemExit as exc:
        got = exc.code
    assert got == code
    err = capsys.readouterr().err
    assert message in err
    if code == 2:
        assert "usage: moodlens" in err


def test_non_image_file_is_exit_1(tmp_path, capsys):
    bad = tmp_path / "x.png"
    bad.write_text("hello")
    assert main(["detect", str(bad)]) == 1
    assert "not an image" in capsys.readouterr().err


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"moodlens {__version__}"


def _console_scripts() -> list:
    """Every command line the moodlens distribution installs."""
    from importlib.metadata import distribution

    return sorted(
        (ep for ep in distribution("moodlens").entry_points if ep.group == "console_scripts"),
        key=lambda ep: ep.name,
    )


@pytest.mark.parametrize("ep", _console_scripts(), ids=lambda ep: ep.name)
def test_every_console_script_has_version(ep):
    code = f"import sys; from {ep.module} import {ep.attr} as m; sys.exit(m(['--version']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{ep.name} {__version__}"


def _subcommands() -> list:
    """`moodlens detect` and every sub-command the moodlens distribution registers."""
    from importlib.metadata import distribution

    return ["detect"] + sorted(
        ep.name for ep in distribution("moodlens").entry_points if ep.group == "moodlens.cli"
    )


@pytest.mark.parametrize("name", _subcommands())
def test_every_subcommand_has_version(name):
    out = run_cli(name, "--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"moodlens {name} {__version__}"


def test_detect_help_gives_each_default_once(capsys):
    from moodlens._cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["detect", "--help"])
    listing = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0
    assert "(default: blazeface)" in listing and "(default: the bundled model)" in listing
    assert "(default: None)" not in listing and "(default: False)" not in listing


# -- sub-commands come from the entry-point group moodlens.cli ----------------------------------


def test_first_party_commands_are_registered_entry_points():
    commands = discover_commands()
    assert {"watch", "plugins", "journal", "spotify"} <= set(commands)
    assert commands["journal"].extras == ["journal"]
    assert commands["spotify"].extras == ["spotify"]


HEAVY = ("moodlens_journal", "moodlens_spotify", "sqlalchemy", "spotipy", "tensorflow", "keras")


def test_help_lists_the_commands_without_importing_them():
    code = textwrap.dedent(
        f"""
        import sys
        from moodlens._cli import main
        try:
            main(["--help"])
        except SystemExit as exc:
            assert exc.code == 0
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        print("IMPORTED", heavy, "CLI_STREAM" if "moodlens._cli_stream" in sys.modules else "")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "IMPORTED [] \n" in out.stdout or out.stdout.rstrip().endswith("IMPORTED []")
    for name, words in [
        ("detect", "detect faces"),
        ("journal", "summaries"),
        ("spotify", "playlist"),
        ("plugins", "plugins"),
        ("watch", "camera"),
    ]:
        line = next(ln for ln in out.stdout.splitlines() if ln.strip().startswith(name + " "))
        assert words in line or words in out.stdout, line


def _fake_distribution(root: Path, entry: str, module_source: str) -> dict[str, str]:
    """A third-party distribution installed as pip would lay it out: dist-info + module."""
    dist = root / "moodlens_hello-1.2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: moodlens-hello\nVersion: 1.2.0\n")
    (dist / "entry_points.txt").write_text(f"[moodlens.cli]\n{entry}\n")
    pkg = root / "moodlens_hello"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_cli.py").write_text(textwrap.dedent(module_source))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    return env


HELLO = '''
    """The hello command."""
    import sys

    def main(argv):
        """greet someone, the third-party way"""
        print("hello", *argv)
        return 3 if argv == ["fail"] else 0
'''


def test_a_third_party_package_adds_a_subcommand(tmp_path):
    env = _fake_distribution(tmp_path, "hello = moodlens_hello._cli:main", HELLO)
    out = run_cli("hello", "Ada", env=env)
    assert (out.returncode, out.stdout) == (0, "hello Ada\n"), out.stderr
    assert run_cli("hello", "fail", env=env).returncode == 3
    listing = run_cli("--help", env=env).stdout
    assert "greet someone, the third-party way" in listing


def test_a_broken_third_party_command_is_a_clear_exit_1(tmp_path):
    env = _fake_distribution(tmp_path, "hello = moodlens_hello._cli:nope", HELLO)
    out = run_cli("hello", env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "`moodlens hello` command" in out.stderr and "moodlens-hello 1.2.0" in out.stderr


@pytest.mark.parametrize(
    ("command", "blocked", "extra"),
    [
        (["journal", "info"], "sqlalchemy", "journal"),
        (["spotify", "login", "--client-id", "x"], "spotipy", "spotify"),
    ],
)
def test_a_missing_extra_names_the_pip_command(command, blocked, extra, tmp_path):
    block = f"import sys; sys.modules[{blocked!r}] = None; "
    code = block + f"from moodlens._cli import main; sys.exit(main({command!r}))"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 1, out.stderr
    assert f"pip install 'moodlens[{extra}]'" in out.stderr and "Traceback" not in out.stderr


def test_a_third_party_command_missing_its_extra_names_its_own_pip_command(tmp_path):
    source = HELLO.replace('"""The hello command."""', "import not_installed_anywhere")
    env = _fake_distribution(tmp_path, "hello = moodlens_hello._cli:main [loud]", source)
    out = run_cli("hello", env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "pip install 'moodlens-hello[loud]'" in out.stderr
