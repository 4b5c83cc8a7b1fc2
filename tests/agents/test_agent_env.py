"""``--agent-env FILE``: variables for the agent's own code, in its container and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents.agent_env import AgentEnvError, load_agent_env

CANARY = "hf_agentEnvCanary0123456789abcdefghijklmnop"


def env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.env"
    path.write_text(text)
    return path


def test_the_file_s_variables_are_read_and_recorded_by_name_only(tmp_path: Path) -> None:
    env = load_agent_env(env_file(tmp_path, f'# keys\nHF_TOKEN="{CANARY}"\nMODE=fast\n'))
    assert env.values == {"HF_TOKEN": CANARY, "MODE": "fast"}
    assert env.names == ("HF_TOKEN", "MODE")
    assert env.redacted() == {"HF_TOKEN": "[redacted]", "MODE": "[redacted]"}
    assert CANARY not in repr(env)


def test_the_harness_s_own_key_is_refused_by_name_never_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-harness-0123456789abcdef")
    path = env_file(tmp_path, "OPENAI_API_KEY=sk-harness-0123456789abcdef\n")
    with pytest.raises(AgentEnvError) as raised:
        load_agent_env(path)
    assert "OPENAI_API_KEY holds the harness's own OPENAI_API_KEY" in str(raised.value)
    assert "sk-harness" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PATH=/evil\n", "PATH is set by the harness"),
        ("PAPERBENCH_EXEC_ID=x\n", "PAPERBENCH_EXEC_ID is set by the harness"),
        ("HF_TOKEN=\n", "HF_TOKEN has no value"),
        ("HF_TOKEN\n", "HF_TOKEN has no value"),
    ],
)
def test_names_the_sandbox_relies_on_and_empty_values_are_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(AgentEnvError, match=message):
        load_agent_env(env_file(tmp_path, text))


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentEnvError, match=r"--agent-env .*nope\.env: no such file"):
        load_agent_env(tmp_path / "nope.env")
