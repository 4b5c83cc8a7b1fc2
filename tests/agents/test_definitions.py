"""agent.yaml definitions: found by name or path like the TOML specs, checked strictly, and
every mistake a user can make is one line naming the file and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents import AgentSpecError, bundled_specs, load_agent_spec
from paperbench.agents.definitions import load_definition, render_env
from tests.support.byo import EXAMPLES

VALID = """\
model: openai/gpt-4o-mini
image: {build: {pip: [openai], copy: [agent.py]}}
command: [python3, /opt/agent/agent.py]
env: {BASE: "{openai_base_url}", WHO: "{model}"}
end: {when: file, file: /home/agent/done}
limits: {max_tokens: 1000}
"""


def write(folder: Path, text: str, files: tuple[str, ...] = ("agent.py",)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.yaml").write_text(text)
    for name in files:
        (folder / name).write_text("print('hi')\n")
    return folder


def test_the_examples_are_bundled_agents_found_by_name_folder_or_file() -> None:
    assert {"python-openai", "shell-curl"} <= set(bundled_specs())
    by_name = load_agent_spec("python-openai")
    by_folder = load_agent_spec(str(EXAMPLES / "python-openai"))
    by_file = load_agent_spec(str(EXAMPLES / "shell-curl" / "agent.yaml"))
    assert by_name.kind == by_file.kind == "container"
    assert by_name.container == by_folder.container
    assert by_file.container is not None and by_file.container.end.when == "file"


def test_a_definition_loads_with_its_limits_and_a_digest_of_its_files(tmp_path: Path) -> None:
    folder = write(tmp_path / "mine", VALID)
    spec = load_agent_spec(str(folder))
    assert spec.name == "mine" and spec.limits.max_tokens == 1000
    before = spec.container.files_sha256 if spec.container else ""
    (folder / "agent.py").write_text("print('changed')\n")
    after = load_definition(folder).files_sha256
    assert before and after != before  # a changed file changes the image it builds


def test_env_placeholders_are_filled_from_the_run(tmp_path: Path) -> None:
    definition = load_definition(write(tmp_path / "mine", VALID))
    values = {"openai_base_url": "http://gateway:8080/v1", "model": "gpt-4o-mini"}
    filled = render_env(definition, {**dict.fromkeys(("token", "x"), ""), **values})
    assert filled == {"BASE": "http://gateway:8080/v1", "WHO": "gpt-4o-mini"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (VALID.replace("end: {when: file,", "end: {on: file,"), "end"),
        (VALID.replace("{model}", "{api_key}"), "env.WHO: unknown placeholder {api_key}"),
        (VALID.replace("copy: [agent.py]", "copy: [missing.py]"), "missing.py is not a file"),
        (VALID.replace("copy: [agent.py]", "copy: [../../etc/passwd]"), "inside the agent"),
        (VALID.replace("pip: [openai]", "apt: ['curl; rm -rf /']"), "not a Debian package"),
        (VALID.replace("image: {build:", "image: {name: x, build:"), "either name"),
        (VALID.replace("command: [python3, /opt/agent/agent.py]", "command: python3 a.py"), "argv"),
        (
            VALID.replace("end: {when: file, file: /home/agent/done}", "end: {when: file}"),
            "needs file",
        ),
        (VALID.replace("max_tokens: 1000", "max_tokens: -1"), "limits.max_tokens"),
        (VALID + "colour: blue\n", "colour"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_broken_definition_is_one_line_naming_the_file_and_setting(
    text: str, says: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "broken", text)
    with pytest.raises(AgentSpecError) as raised:
        load_agent_spec(str(folder))
    message = str(raised.value)
    assert str(folder / "agent.yaml") in message and says in message and "\n" not in message
