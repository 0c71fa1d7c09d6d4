"""`issuer achievements build`: exit 2, a message naming the problem, and nothing written."""

import json
from pathlib import Path

from typer.testing import CliRunner

from issuer.cli import app
from tests.conftest import NUCLEAR, RADIOLOGY, framework_document


def test_builds_every_level_of_every_framework(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["achievements", "build", str(RADIOLOGY), str(NUCLEAR), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.rglob("*.json"))) == 8
    achievement = json.loads((out / "29-2033.00/advanced.json").read_text())
    assert achievement["id"] == "http://127.0.0.1:8000/achievements/29-2033.00/advanced"
    assert not list(out.rglob("*.tmp"))


def test_one_bad_file_means_nothing_is_written(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    document = framework_document(NUCLEAR)
    document["framework"]["levels"]["proficient"]["statements"] = []
    bad.write_text(json.dumps(document))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["achievements", "build", str(RADIOLOGY), str(bad), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert "$.framework.levels.proficient.statements" in result.output
    assert not out.exists() or not any(out.rglob("*"))


def test_malformed_json_is_reported_with_its_position(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_bytes(RADIOLOGY.read_bytes()[:500])
    result = runner.invoke(app, ["achievements", "build", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "truncated.json: $: malformed JSON" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_two_files_for_one_occupation_clash(runner: CliRunner, tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(RADIOLOGY.read_bytes())
    result = runner.invoke(
        app, ["achievements", "build", str(RADIOLOGY), str(copy), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "29-2034.00 is given by two files" in result.output


def test_existing_files_survive_a_failed_build(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        runner.invoke(app, ["achievements", "build", str(RADIOLOGY), "--out", str(out)]).exit_code
        == 0
    )
    before = {p: p.read_bytes() for p in out.rglob("*.json")}
    bad = tmp_path / "bad.json"
    bad.write_text('{"schemaVersion": "9"}')
    result = runner.invoke(
        app, ["achievements", "build", str(RADIOLOGY), str(bad), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in out.rglob("*.json")} == before
