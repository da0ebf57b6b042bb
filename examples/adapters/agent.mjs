// A stand-in agent in Node.js (no packages) that reports what it does to wrkr through the adapter
// protocol (docs/contracts/adapter_protocol.md): one JSON object per line on the descriptor named
// by WRKR_EVENTS_FD. Outside wrkr it does the same work and reports nothing.
import fs from "node:fs";

const fd = process.env.WRKR_EVENTS_FD;

function report(record) {
  if (fd !== undefined) {
    fs.writeSync(Number(fd), JSON.stringify(record) + "\n");
  }
}

report({ type: "progress", note: "reading the task" });
report({ type: "tool_call", name: "search", count: 2 });
report({ type: "tokens", count: 1200 });
report({ type: "cost", usd: 0.004 });

fs.writeFileSync("answer.md", "# Answer\n\nThe config loader reads config.toml before the environment.\n");
report({ type: "artifact", path: "answer.md" });

report({
  type: "checkpoint",
  checkpoint_type: "decision-needed",
  summary: "answer.md is written: publish it?",
  required_action: { kind: "approval", instructions: "read answer.md, then wrkr approve" },
});
console.log("node agent: wrote answer.md");
