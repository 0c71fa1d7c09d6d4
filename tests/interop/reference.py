"""Drive tests/interop/reference.mjs (the Digital Bazaar stack) from Python tests and benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

INTEROP_DIR = Path(__file__).parent
SCRIPT = INTEROP_DIR / "reference.mjs"
# A node_modules from before a package was added to package.json needs `npm ci` again.
PACKAGES = (
    "@digitalbazaar/vc",
    "@digitalbazaar/ecdsa-rdfc-2019-cryptosuite",
    "jose",
    "handlebars",
)


def missing() -> str | None:
    """Why the reference stack cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    modules = INTEROP_DIR / "node_modules"
    if not all((modules / package).exists() for package in PACKAGES):
        return "run `npm ci` in tests/interop (make test does)"
    return None


def run_reference(op: str, timeout: float = 300, **arguments: Any) -> Any:
    return run_script(SCRIPT, timeout, op=op, **arguments)


def render_like_lcw(credential: Any, template: str) -> Any:
    """`credential` drawn with `template` as the Learner Credential Wallet would
    (render.mjs): `{"id": renderMethod[0].id, "rendered": text}`."""
    return run_script(INTEROP_DIR / "render.mjs", 60, credential=credential, template=template)


def run_script(script: Path, timeout: float, **arguments: Any) -> Any:
    completed = subprocess.run(
        ["node", str(script)],
        input=json.dumps(arguments),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    if completed.returncode != 0 or not completed.stdout:
        raise RuntimeError(f"reference stack crashed: {completed.stderr[-2000:]}")
    answer = json.loads(completed.stdout)
    if not answer["ok"]:
        raise RuntimeError(f"reference stack: {answer['error']}")
    return answer["result"]
