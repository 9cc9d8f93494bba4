import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countTokens as gptTokenizerCount } from 'gpt-tokenizer/encoding/cl100k_base';
import { describe, expect, it } from 'vitest';
import { countTokens, renderCompact } from '../dist/engine-index.js';
import { SeededRandom } from '../dist/embed/packs/onnx-builder.js';
import { preview } from '../dist/search/compact.js';
import { REPO } from './helpers/packs.js';

/** gpt-tokenizer's count, with special tokens such as <|endoftext|> taken as the text they are (as ours does). */
const reference = (text: string) => gptTokenizerCount(text, { disallowedSpecial: new Set() });

/** Texts of every kind the daemon counts: code, prose, paths, numbers, whitespace runs, scripts beyond Latin. */
function corpus(): string[] {
  const files = [
    ...readdirSync(join(REPO, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(REPO, 'src', f)),
    join(REPO, 'README.md'),
    join(REPO, 'docs', 'ARCHITECTURE.md'),
  ];
  const texts = files.map((f) => readFileSync(f, 'utf8'));
  texts.push(
    'héllo wörld — ünïcödé 日本語のテキスト 中文 한국어 emoji 🎉🚀👩‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 العربية עברית ελληνικά',
    '   lots   of    spaces\n\n\n\t\ttabs\r\n trailing   ',
    "it's they're we'll I'd YOU'VE don'T",
    '1234567890 3.14159 0xdeadbeef 1e-9 -42',
    'a'.repeat(600),
    '=-'.repeat(300),
    'x\u0000y\u0007z\u001b[31m',
  );
  const rnd = new SeededRandom(14);
  const alphabet = [...'abcXYZ019 .,;:!?-_/\\\'"`\n\t\r(){}[]<>|@#$%^&*~éü日本🚀ß'];
  for (let i = 0; i < 300; i++)
    texts.push(
      Array.from(
        { length: 1 + Math.floor(rnd.next() * 120) },
        () => alphabet[Math.floor(rnd.next() * alphabet.length)],
      ).join(''),
    );
  return texts.flatMap((t) => [t, ...t.split('\n')]);
}

describe('the cl100k token counter (compact ranks, issue 14)', () => {
  it('counts exactly what gpt-tokenizer counts', () => {
    const texts = corpus();
    expect(texts.length).toBeGreaterThan(5000);
    const wrong = texts.filter((t) => countTokens(t) !== reference(t));
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it('counts the same from memory as afresh, past the number of texts it remembers', () => {
    const texts = corpus().filter((t) => t.length > 0 && t.length <= 1024);
    expect(texts.length).toBeGreaterThan(600);
    const first = texts.map((t) => countTokens(t));
    const again = texts.map((t) => countTokens(t));
    expect(again).toEqual(first);
    expect(first).toEqual(texts.map((t) => reference(t)));
  });

  it('counts special-token text as plain text instead of refusing it', () => {
    expect(() => gptTokenizerCount('a memory about <|endoftext|>')).toThrow();
    expect(countTokens('a memory about <|endoftext|>')).toBe(reference('a memory about <|endoftext|>'));
    expect(countTokens('')).toBe(0);
  });

  it('keeps rendered context within its budget as gpt-tokenizer counts it', () => {
    const rnd = new SeededRandom(7);
    const words = 'the daemon cache 🚀 naïve 日本語 src/store/db.ts fixed `code` "quote" a-b_c 12345'.split(' ');
    for (let round = 0; round < 200; round++) {
      const memories = Array.from({ length: 1 + Math.floor(rnd.next() * 10) }, (_, i) => ({
        hash: (i * 2654435761).toString(16).padStart(8, '0').slice(-8),
        preview: preview(
          Array.from(
            { length: 5 + Math.floor(rnd.next() * 60) },
            () => words[Math.floor(rnd.next() * words.length)],
          ).join(' '),
        ),
        tags: rnd.next() < 0.5 ? ['decision'] : [],
        type: 'note',
        created: 0,
      }));
      const budget = 20 + Math.floor(rnd.next() * 300);
      const r = renderCompact(memories, { budget, now: 1, header: 'mnemo: memories' });
      expect(reference(r.text), `round ${round}`).toBeLessThanOrEqual(budget);
      expect(r.tokens).toBe(reference(r.text));
    }
  });
});
