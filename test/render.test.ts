import { describe, expect, it } from 'vitest';
import { countTokens, renderCompact, type CompactMemory } from '../dist/engine-index.js';
import { SeededRandom } from '../dist/embed/packs/onnx-builder.js';
import { preview, relativeAge } from '../dist/search/compact.js';

const now = Date.parse('2026-11-25T12:00:00Z');
const WORDS =
  'the daemon cache socket 🚀 naïve 日本語 src/store/db.ts fixed bug refactor `code` "quote" a-b_c 12345 ok'.split(' ');

function randomMemories(rnd: SeededRandom, n: number): CompactMemory[] {
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from(
      { length: 5 + Math.floor(rnd.next() * 80) },
      () => WORDS[Math.floor(rnd.next() * WORDS.length)],
    );
    return {
      hash: (i * 2654435761).toString(16).padStart(8, '0').slice(-8),
      preview: preview(words.join(' ')),
      tags: rnd.next() < 0.5 ? ['decision', 'auth'] : [],
      type: 'note',
      created: now - Math.floor(rnd.next() * 400 * 86_400_000),
      score: rnd.next(),
    };
  });
}

describe('compact text renderer', () => {
  it('never exceeds its budget', () => {
    const rnd = new SeededRandom(42);
    for (let round = 0; round < 300; round++) {
      const memories = randomMemories(rnd, Math.floor(rnd.next() * 12));
      const budget = Math.floor(rnd.next() * 400);
      const r = renderCompact(memories, { budget, now, header: rnd.next() < 0.5 ? 'Relevant memories:' : undefined });
      expect(countTokens(r.text), `round ${round}`).toBeLessThanOrEqual(budget);
      expect(r.tokens).toBe(countTokens(r.text));
      expect(r.shown + r.omitted).toBe(memories.length);
    }
  });

  it('counts a text as the sum of its lines (each with its line break), the premise of counting each line once', () => {
    const rnd = new SeededRandom(7);
    for (let round = 0; round < 300; round++) {
      const r = renderCompact(randomMemories(rnd, 1 + Math.floor(rnd.next() * 10)), {
        budget: 100_000,
        now,
        header: 'mnemo: 8 memories from shop-api (`mnemo get <hash>` shows one in full)',
      });
      const lines = r.text.split('\n');
      const sum = lines.reduce((n, l, i) => n + countTokens(i === lines.length - 1 ? l : `${l}\n`), 0);
      expect(sum, `round ${round}`).toBe(countTokens(r.text));
    }
  });

  it('renders one line per memory with hash, age, score, tags and preview', () => {
    const r = renderCompact(
      [
        {
          hash: 'a1b2c3d4',
          preview: 'Switched token refresh to rotating keys',
          tags: ['decision', 'auth'],
          type: 'decision',
          created: now - 3 * 86_400_000,
          score: 0.8234,
        },
        { hash: 'e5f6a7b8', preview: 'Plain note', tags: [], type: 'note', created: now - 30_000 },
      ],
      { budget: 1000, now, header: 'Memories:' },
    );
    expect(r.text).toBe(
      'Memories:\n- a1b2c3d4 3d 0.82 [decision, auth] Switched token refresh to rotating keys\n' +
        '- e5f6a7b8 now Plain note',
    );
    expect(r).toMatchObject({ shown: 2, omitted: 0 });
  });

  it('shortens a preview that does not fit and says how many were left out', () => {
    const long = { hash: 'deadbeef', preview: 'word '.repeat(40).trim(), tags: [], type: 'note', created: now };
    const r = renderCompact([long, { ...long, hash: 'feedface' }, { ...long, hash: 'cafebabe' }], { budget: 30, now });
    expect(r.tokens).toBeLessThanOrEqual(30);
    expect(r.shown).toBeGreaterThanOrEqual(1);
    expect(r.text).toContain('deadbeef');
    expect(r.text).toContain('…');
    if (r.omitted > 0) expect(r.text).toMatch(/\(\+\d+ more\)$/);
  });

  it('gives empty text for a zero budget', () => {
    const r = renderCompact(randomMemories(new SeededRandom(1), 3), { budget: 0, now });
    expect(r).toMatchObject({ text: '', tokens: 0, shown: 0, omitted: 3 });
  });

  it('cuts previews at word boundaries and collapses whitespace', () => {
    expect(preview('a  b\n\tc')).toBe('a b · c');
    const p = preview('alpha beta gamma delta epsilon', 18);
    expect(p).toBe('alpha beta gamma…');
    expect(p.length).toBeLessThanOrEqual(18);
    expect(preview('x'.repeat(500)).length).toBe(200);
  });

  it('writes ages as people do', () => {
    const ago = (ms: number) => relativeAge(now - ms, now);
    expect([
      ago(5_000),
      ago(5 * 60_000),
      ago(3 * 3_600_000),
      ago(2 * 86_400_000),
      ago(21 * 86_400_000),
      ago(100 * 86_400_000),
      ago(800 * 86_400_000),
    ]).toEqual(['now', '5m', '3h', '2d', '3w', '3mo', '2y']);
  });
});
