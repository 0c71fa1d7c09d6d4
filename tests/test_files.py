import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer.files import PRIVATE, stage_file, write_atomic


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


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask set for one test: modes must not depend on it."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_private_file_gets_0600_in_new_0700_directories(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "data" / "outbox" / "message.eml"
    write_atomic(target, b"secret", mode=PRIVATE)
    assert mode(target) == 0o600
    assert mode(tmp_path / "data") == mode(tmp_path / "data" / "outbox") == 0o700


def test_a_public_file_gets_0644_in_0755_directories(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "achievements" / "29-2034.00" / "proficient.json"
    write_atomic(target, b"{}")
    assert mode(target) == 0o644
    assert mode(tmp_path / "achievements") == mode(target.parent) == 0o755


def test_an_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    """It may be shared (the working directory, /var/lib): the private file is enough."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    write_atomic(shared / "key.pem", b"secret", mode=PRIVATE)
    assert mode(shared) == 0o755 and mode(shared / "key.pem") == 0o600
