"""Agent specs in agents/*.toml: the bundled ones load and build, user specs are found by path,
and mistakes end in one line naming the file and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents import (
    Agent,
    AgentSpecError,
    ModelAgent,
    ReferenceAgent,
    ReplayAgent,
    build_agent,
    bundled_specs,
    limits_for,
    load_agent_spec,
)
from paperbench.papers import PaperBundle
from paperbench.resources import resource_dir


def test_the_bundled_agents_are_the_four_specs_and_the_two_container_examples() -> None:
    assert bundled_specs() == [
        "basic", "iterative", "python-openai", "reference", "replay", "shell-curl",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["basic", "iterative", "reference", "replay"])
def test_every_bundled_spec_builds_an_agent(name: str, tiny_paper: PaperBundle) -> None:
    agent = build_agent(load_agent_spec(name), tiny_paper)

    assert isinstance(agent, Agent)
    kinds = {"reference": ReferenceAgent, "replay": ReplayAgent}
    assert isinstance(agent, kinds.get(name, ModelAgent))


def test_a_model_agent_reads_its_prompts_from_the_agents_folder(tiny_paper: PaperBundle) -> None:
    agent = build_agent(load_agent_spec("iterative"), tiny_paper, model="anthropic/claude-opus-4")

    assert isinstance(agent, ModelAgent)
    assert agent.iterative and agent.model.name == "anthropic/claude-opus-4"
    prompts = resource_dir("agents") / "prompts"
    assert agent.settings.system_prompt == (prompts / "iterative_system.md").read_text().strip()
    assert agent.settings.continue_prompt == (prompts / "iterative_continue.md").read_text().strip()


def test_a_user_spec_is_found_by_path(tmp_path: Path, tiny_paper: PaperBundle) -> None:
    (tmp_path / "system.md").write_text("Be brief.")
    spec_file = tmp_path / "terse.toml"
    spec_file.write_text(
        'kind = "basic"\nmodel = "openai/gpt-4.1-mini"\nsystem_prompt = "system.md"\n'
        "[loop]\nreminder_every_steps = 3\n[limits]\nmax_steps = 40\n"
    )

    spec = load_agent_spec(str(spec_file))
    agent = build_agent(spec, tiny_paper)

    assert spec.name == "terse" and spec.limits.max_steps == 40
    assert isinstance(agent, ModelAgent)
    assert agent.settings.system_prompt == "Be brief."
    assert agent.settings.reminder_every_steps == 3


def test_the_papers_time_limit_is_the_working_time_limit(tiny_paper: PaperBundle) -> None:
    limits = limits_for(tiny_paper, load_agent_spec("basic"), max_steps=7, max_tokens=None)

    assert limits.working_time_seconds == 1800
    assert limits.max_steps == 7 and limits.max_tokens is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "basic"\nmodle = "x"\n', "modle: Extra inputs are not permitted"),
        ('kind = "robot"\n', "kind: Input should be"),
        ('kind = "basic"\n[limits]\nmax_steps = 0\n', "limits.max_steps"),
        ('kind = "basic"\nsystem_prompt = "missing.md"\n', "system_prompt:"),
        ("kind = \n", "not valid TOML"),
    ],
)
def test_malformed_specs_name_the_file_and_the_setting(
    text: str, message: str, tmp_path: Path
) -> None:
    spec_file = tmp_path / "broken.toml"
    spec_file.write_text(text)

    with pytest.raises(AgentSpecError) as error:
        load_agent_spec(str(spec_file))

    assert str(error.value).startswith(str(spec_file))
    assert message in str(error.value)


def test_an_unknown_agent_lists_the_bundled_ones() -> None:
    with pytest.raises(AgentSpecError, match="bundled agents: basic, iterative, python-openai"):
        load_agent_spec("gpt-engineer")


def test_bad_loop_settings_name_the_setting(tmp_path: Path, tiny_paper: PaperBundle) -> None:
    spec_file = tmp_path / "bad.toml"
    (tmp_path / "s.md").write_text("x")
    spec_file.write_text(
        'kind = "basic"\nmodel = "openai/gpt-4o"\nsystem_prompt = "s.md"\n'
        "[loop]\nreminder_every_stpes = 2\n"
    )

    with pytest.raises(AgentSpecError, match=r"loop\.reminder_every_stpes"):
        build_agent(load_agent_spec(str(spec_file)), tiny_paper)
