#!/usr/bin/env node
// The client of the mnemo daemon: store two memories, then search them.
//
//   node examples/client.mjs
//
// It talks to your running daemon (the one hooks and `mnemo` use) and starts it if none runs, so what it stores
// stays: `mnemo delete -t example` removes it again. Run it with MNEMO_HOME=$(mktemp -d) to keep your memories apart.
import { connect, isMnemoError } from 'mnemo';

// autostart: start the daemon when none answers, and wait until its model is warm.
const mnemo = await connect({ autostart: true });
try {
  for (const content of [
    'We chose pino for structured logs: JSON lines, one per event',
    'The orders table keeps money as integer cents, never floats',
  ]) {
    const { hash, created } = await mnemo.store({ content, tags: ['example', 'decision'] });
    console.log(`${created ? 'stored' : 'already stored'} ${hash.slice(0, 8)}: ${content}`);
  }

  // The compact form: an 8-character hash, a preview, tags and a 0..1 score per hit.
  const found = await mnemo.search({ query: 'which logging library do we use', tags: ['example'], limit: 2 });
  console.log('\nsearch "which logging library do we use":');
  for (const hit of found.results) console.log(`  ${hit.hash} ${hit.score.toFixed(2)} ${hit.preview}`);

  // The same search as text for an agent's context, cut to fit 60 tokens.
  const text = await mnemo.search({ query: 'money in orders', tags: ['example'], format: 'text', budget: 60 });
  console.log(`\nas context (${text.tokens} tokens):\n${text.text}`);
} catch (err) {
  // Errors from the daemon carry a code (E_BAD_ARGS, E_NOT_FOUND, ...) and a message naming what was wrong.
  console.error(isMnemoError(err) ? `${err.code}: ${err.message}` : err);
  process.exitCode = 1;
} finally {
  mnemo.close();
}
