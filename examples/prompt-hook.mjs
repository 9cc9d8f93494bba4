#!/usr/bin/env node
// A Claude Code UserPromptSubmit hook of your own: two searches for the prompt in one round trip to the daemon.
//
//   echo '{"prompt":"which logging library do we use?"}' | node examples/prompt-hook.mjs
//
// Claude Code runs a hook with the event's JSON on stdin and adds what it prints to the prompt's context. One `batch`
// request carries both searches, and the daemon embeds their query texts in one model call. Like mnemo's own hooks,
// it fails open: whatever goes wrong, it prints nothing and exits 0, because a hook that fails gets in the agent's
// way. (mnemo's installed hooks already add related memories; this shows how to ask for something of your own.
// From a shell script, `mnemo-client batch` sends the same request without starting Node.js.)
import { connect } from 'mnemo';

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { prompt } = JSON.parse(input);
  if (typeof prompt !== 'string' || prompt.trim() === '') return;

  // No autostart and short deadlines: a hook must not wait for a daemon to start.
  const mnemo = await connect({ connectTimeoutMs: 100, timeoutMs: 1500 });
  try {
    const [decisions, related] = await mnemo.batch({
      calls: [
        // The decisions on record closest to the prompt, by words and by meaning.
        { op: 'search', args: { query: prompt, tags: ['decision'], limit: 2 } },
        // Anything from the last 30 days that shares the prompt's words. Keyword mode returns only real matches,
        // where a hybrid search always returns its nearest neighbours, related or not.
        { op: 'search', args: { query: prompt, mode: 'keyword', time: 'past 30 days', limit: 3 } },
      ],
    });
    // Each call is answered on its own: one that failed does not sink the other.
    const hits = [decisions, related].flatMap((item) => (item.ok ? item.result.results : []));
    const seen = new Set();
    const lines = hits
      .filter((h) => !seen.has(h.hash) && seen.add(h.hash))
      .map((h) => `- ${h.hash} [${h.tags.join(', ')}] ${h.preview}`);
    if (lines.length > 0) process.stdout.write(`Related notes from mnemo:\n${lines.join('\n')}\n`);
  } finally {
    mnemo.close();
  }
}

main().catch(() => {
  // Fail open: no output, exit 0.
});
