import stat
from pathlib import Path

import pytest

from issuer.files import stage_file, write_atomic


def test_replaces_content_in_one_step_with_the_given_mode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "secret.pem"
    write_atomic(target, b"old")
    write_atomic(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["secret.pem"]


def test_staging_leaves_the_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(b"kept")
    staged = stage_file(target, b"next")
    assert target.read_bytes() == b"kept" and staged.read_bytes() == b"next"


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        stage_file(tmp_path / "x", "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
