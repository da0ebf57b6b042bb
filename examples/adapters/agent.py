"""A stand-in agent in Python (standard library only) that reports what it does to wrkr through
the adapter protocol (docs/contracts/adapter_protocol.md): one JSON object per line on the
descriptor named by WRKR_EVENTS_FD. Outside wrkr it does the same work and reports nothing.
The SDK's `wrkr.step()` writes the same records for you (docs/guides/python-sdk.md)."""
import json
import os

FD = os.environ.get("WRKR_EVENTS_FD")


def report(record):
    if FD is not None:
        os.write(int(FD), (json.dumps(record) + "\n").encode())


report({"type": "progress", "note": "reading the task"})
report({"type": "tool_call", "name": "search", "count": 2})
report({"type": "tokens", "count": 1200})
report({"type": "cost", "usd": 0.004})

with open("answer.md", "w", encoding="utf-8") as f:
    f.write("# Answer\n\nThe config loader reads config.toml before the environment.\n")
report({"type": "artifact", "path": "answer.md"})

report({
    "type": "checkpoint",
    "checkpoint_type": "decision-needed",
    "summary": "answer.md is written: publish it?",
    "required_action": {"kind": "approval", "instructions": "read answer.md, then wrkr approve"},
})
print("python agent: wrote answer.md")
