#!/usr/bin/env bash
# A bring-your-own agent in shell: ask the model for reproduce.sh, write it, say we are done.
# ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY are the run's gateway and token (set by paperbench).
set -euo pipefail
task=$(cat "$PAPERBENCH_INSTRUCTIONS")
request=$(jq -n --arg model "$PAPERBENCH_MODEL" --arg task "$task" \
  --arg max "${AGENT_MAX_TOKENS:-2048}" '{
  model: $model, max_tokens: ($max | tonumber),
  system: "Reply with only the contents of a bash script, reproduce.sh, for this task.",
  messages: [{role: "user", content: $task}]
}')
reply=$(curl -sS --fail-with-body "$ANTHROPIC_BASE_URL/v1/messages" \
  -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01" \
  -H "content-type: application/json" -d "$request")
mkdir -p "$PAPERBENCH_SUBMISSION_DIR"
echo "$reply" | jq -r '[.content[] | select(.type == "text") | .text] | join("")' \
  > "$PAPERBENCH_SUBMISSION_DIR/reproduce.sh"
echo "wrote reproduce.sh with the model's script" > "$PAPERBENCH_END_FILE"
