"""A tiny bring-your-own agent: read the task, let the model run shell commands, stop when it
answers without a tool call. Everything it needs comes from paperbench's environment variables:
OPENAI_BASE_URL / OPENAI_API_KEY (the run's gateway and token), PAPERBENCH_MODEL,
PAPERBENCH_INSTRUCTIONS (the task), PAPERBENCH_SUBMISSION_DIR."""

import json
import os
import subprocess

from openai import OpenAI

client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY
model = os.environ["PAPERBENCH_MODEL"]
submission = os.environ["PAPERBENCH_SUBMISSION_DIR"]
with open(os.environ["PAPERBENCH_INSTRUCTIONS"], encoding="utf-8") as task:
    messages = [
        {"role": "system", "content": "You replicate papers. Use the bash tool to work."},
        {"role": "user", "content": task.read()},
    ]
bash = {
    "type": "function",
    "function": {
        "name": "bash",
        "description": "Run a bash command and see its output.",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    },
}

for step in range(int(os.environ.get("AGENT_MAX_STEPS", "40"))):
    reply = client.chat.completions.create(model=model, messages=messages, tools=[bash])
    message = reply.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    if not message.tool_calls:
        os.makedirs(submission, exist_ok=True)
        with open(os.path.join(submission, "AGENT_NOTES.md"), "w", encoding="utf-8") as notes:
            notes.write(message.content or "")
        break
    for call in message.tool_calls:
        command = json.loads(call.function.arguments or "{}").get("command", "")
        print(f"[step {step}] $ {command}", flush=True)
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=600
        )
        output = (done.stdout + done.stderr)[-20000:] + f"\n[exit {done.returncode}]"
        messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
