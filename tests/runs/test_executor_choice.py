"""`--executor` is an option like every other (flag, environment, config file), and `ray` is an
optional extra: without it, `--executor ray` says how to install it, in one line. So does a URL
run root without fsspec (``paperbench[remote]``); a URL is never turned into a local folder
named after its scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT
from tests.support.runs import paperbench_process, write_paper


@pytest.mark.parametrize("how", ["flag", "environment", "config file"])
def test_executor_ray_without_ray_installed_says_how_to_install_it(
    tmp_path: Path, how: str
) -> None:
    hidden = tmp_path / "no-ray" / "ray"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    config = tmp_path / "paperbench.toml"
    config.write_text('[run]\nexecutor = "ray"\n')
    chosen = {
        "flag": (["--executor", "ray"], {}),
        "environment": ([], {"PAPERBENCH_EXECUTOR": "ray"}),
        "config file": (["--config", str(config)], {}),
    }
    extra, env = chosen[how]
    process = paperbench_process(
        "run",
        "--papers",
        "toy-a",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--agent",
        "reference",
        "--judge",
        "openai-compatible/judge@http://127.0.0.1:9/v1",
        "--judge-context-window",
        "32000",
        "--runs-dir",
        str(tmp_path / "runs"),
        *extra,
        home=tmp_path / "home",
        env={"PYTHONPATH": f"{hidden.parent}:{REPO_ROOT}", **env},
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out + err
    assert err.strip().splitlines() == [
        "error: --executor ray needs Ray: pip install 'paperbench[ray]' (or pip install ray)"
    ]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("root", "said"),
    [
        ("s3://bucket/runs", "a URL run root needs fsspec: pip install 'paperbench[remote]'"),
        ("s3:/bucket/runs", "looks like a URL with one slash"),
    ],
)
def test_a_url_runs_dir_without_fsspec_says_how_to_install_it_in_one_line(
    tmp_path: Path, root: str, said: str
) -> None:
    hidden = tmp_path / "no-fsspec" / "fsspec"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'fsspec'\")\n")
    process = paperbench_process(
        "run",
        "--papers",
        "spiral-optimizers",
        "--agent",
        "reference",
        "--judge",
        "openai-compatible/judge@http://127.0.0.1:9/v1",
        "--judge-context-window",
        "32000",
        "--runs-dir",
        root,
        home=tmp_path / "home",
        cwd=tmp_path,
        env={"PYTHONPATH": f"{hidden.parent}:{REPO_ROOT}"},
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out + err
    [line] = err.strip().splitlines()
    assert line.startswith("error: --runs-dir:") and said in line
    assert not (tmp_path / "s3:").exists()
