"""bench/http_load.py runs end to end on a small plan and reports what it measured: every
attestation answered once, the claim e-mails all sent, the CPU split into its columns.

The figures themselves are not checked (speed is measured by the benchmark, never in a test);
what is checked is that the script still does what bench/README.md says it does, with each
load generator this machine has."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LEARNERS, VERIFICATIONS, WARMUP = 12, 8, 4


@pytest.mark.parametrize("generator", ["httpx", "wrk"])
def test_the_benchmark_runs_and_reports_every_column(generator: str) -> None:
    if generator == "wrk" and shutil.which("wrk") is None:
        if os.environ.get("CI"):
            pytest.fail("wrk must be installed in CI (.ci/run installs it)")
        pytest.skip("wrk is not installed (apt install wrk; .ci/run does)")
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "http_load.py"),
            "--learners",
            str(LEARNERS),
            "--verifications",
            str(VERIFICATIONS),
            "--warmup",
            str(WARMUP),
            "--clients",
            "2",
            "--workers",
            "2",
            "--generator",
            generator,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    out = finished.stdout
    assert f"2 concurrent clients ({generator})" in out and f"after {WARMUP} of each" in out
    assert re.search(r"machine speed: a fixed Python loop took \d+ ms .* and \d+ ms after", out)
    assert re.search(rf"issuance \(attest → signed, stored\) +[\d.]+ /s +\({LEARNERS} in ", out)
    assert re.search(r"verification API throughput +[\d.]+ /s", out)
    header = re.search(
        r"CPU ms per request +app +mail +database +load gen +cores busy +stolen", out
    )
    assert header, out
    issuance = re.search(r"^issuance +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)", out, re.M)
    assert issuance, out
    app, mail = float(issuance[1]), float(issuance[2])
    # The app signed and stored; the mail worker composed and sent each claim e-mail.
    assert app > 0 and mail > 0, out
    assert re.search(r"claim e-mails all sent +[\d.]+ s after the last issuance", out)
    assert re.search(r"issuance with its mail, \d+ cores +[\d.]+ /s", out)
