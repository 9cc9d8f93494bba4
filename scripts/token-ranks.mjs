// Writes dist/search/cl100k.ranks: the cl100k_base byte-pair ranks in a compact form for src/search/tokens.ts (run
// by `npm run build`, after tsc). Format: a u32 count (little-endian), one u8 byte length per rank, then every rank's
// bytes in rank order. 744 KB, read into typed arrays by the daemon (about 2 MiB resident) instead of gpt-tokenizer's
// Map of 100,256 strings (35 MiB resident, measured; issue 14). gpt-tokenizer is the source, at build time only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { default: ranks } = await import('gpt-tokenizer/bpeRanks/cl100k_base');
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'search', 'cl100k.ranks');
const encoder = new TextEncoder();
const tokens = ranks.map((t, rank) => {
  // A string is the token's bytes as UTF-8; an array is bytes that are not valid UTF-8 on their own.
  const bytes = typeof t === 'string' ? encoder.encode(t) : Uint8Array.from(t ?? []);
  if (bytes.length === 0 || bytes.length > 255) throw new Error(`cl100k rank ${rank} has ${bytes.length} bytes`);
  return bytes;
});
const size = tokens.reduce((n, t) => n + t.length, 0);
const file = new Uint8Array(4 + tokens.length + size);
new DataView(file.buffer).setUint32(0, tokens.length, true);
let at = 4 + tokens.length;
tokens.forEach((t, rank) => {
  file[4 + rank] = t.length;
  file.set(t, at);
  at += t.length;
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, file);
