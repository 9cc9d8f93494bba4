// The worker's tokenizer (src/embed/tokenizer.ts) against the Rust `tokenizers` library it replaced (issue 14): the
// same ids for the same text, on generated text, for each kind of tokenizer.json mnemo ships or pulls.
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyVocabulary, wordPieceTokenizer } from '../dist/embed/packs/bert-pack.js';
import { wordLevelTokenizer } from '../dist/embed/packs/offline-pack.js';
import { jsTokenizer, loadTokenizer, parseTokenizerJson, UnsupportedTokenizer } from '../dist/embed/tokenizer.js';
import { sharedMiniLmTokenizer } from './helpers/packs.js';

type Native = typeof import('@anush008/tokenizers').Tokenizer;
const native: Native | undefined = await import('@anush008/tokenizers').then(
  (m) => m.Tokenizer,
  () => undefined,
);
if (!native) console.warn('tokenizer.test: @anush008/tokenizers is not installed; the comparisons are skipped');

const writeJson = (value: unknown): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'mnemo-tok-')), 'tokenizer.json');
  writeFileSync(path, JSON.stringify(value));
  return path;
};

const realMiniLm = sharedMiniLmTokenizer();
const TOKENIZERS: [string, string][] = [
  ['WordPiece, the generated BERT packs', writeJson(wordPieceTokenizer(tinyVocabulary()))],
  ['WordLevel, the offline pack', writeJson(wordLevelTokenizer(tinyVocabulary().slice(5), 256))],
  ...(realMiniLm ? [['WordPiece, all-MiniLM-L6-v2', writeJson(JSON.parse(realMiniLm))] as [string, string]] : []),
];

// Characters from blocks whose Unicode properties have not changed in years: the two libraries carry different
// Unicode versions, and characters assigned or recategorised since Unicode 10 may split differently.
const BLOCKS: [number, number][] = [
  [0x00, 0x24f], // ASCII, controls, Latin-1, Latin Extended
  [0x300, 0x36f], // combining marks
  [0x370, 0x3ff], // Greek
  [0x400, 0x4ff], // Cyrillic
  [0x2000, 0x206f], // general punctuation, spaces, format characters
  [0x3000, 0x303f], // CJK punctuation
  [0x4e00, 0x4eff], // CJK ideographs
  [0xe000, 0xe00f], // private use
  [0xfff0, 0xffff], // specials
  [0x1f600, 0x1f64f], // emoji
];
const char = fc.oneof(
  ...BLOCKS.map(([lo, hi]) => fc.integer({ min: lo, max: hi }).map((c) => String.fromCodePoint(c))),
);
const PIECES = [
  ..."Hello|café|ΣΊΣΥΦΟΣ|straße|İstanbul|ﬁle|東京|[CLS]|[SEP]|[MASK]x|[UNK|don't|e-mail|a/b.c_d\\e|$5.00".split('|'),
  ...['x\u0301', '\u00a0', '\t\n', '\u200b', 'unbelievable', 'x'.repeat(120), 'redis'],
];
const text = fc
  .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: char, maxLength: 6 }), fc.constantFrom(' ', '.')), {
    maxLength: 30,
  })
  .map((parts) => parts.join(''));

describe.skipIf(!native)('the tokenizer gives the Rust library ids', () => {
  for (const [name, path] of TOKENIZERS) {
    it(name, async () => {
      const maxTokens = 48;
      const ours = jsTokenizer(parseTokenizerJson(readFileSync(path)), maxTokens);
      const theirs = native!.fromFile(path);
      theirs.setTruncation(maxTokens);
      theirs.setPadding({});
      await fc.assert(
        fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 4 }), async (texts) => {
          const got = ours.encodeBatch(texts);
          const want = await theirs.encodeBatch(texts);
          expect(got.seq).toBe(want[0]!.getLength());
          want.forEach((enc, b) => {
            const row = Array.from(got.ids.slice(b * got.seq, (b + 1) * got.seq), Number);
            expect(row).toEqual(enc.getIds());
            expect(got.tokens[b]).toBe(enc.getAttentionMask().reduce((s, m) => s + m, 0));
          });
        }),
        { numRuns: 400 },
      );
    });
  }
});

describe('the tokenizer', () => {
  const bert = jsTokenizer(wordPieceTokenizer(tinyVocabulary()), 8);
  const vocab = tinyVocabulary();
  const id = (token: string) => vocab.indexOf(token);

  it('wraps a text in [CLS] and [SEP], splits unknown words into pieces and cuts to maxTokens', () => {
    const one = bert.encodeBatch(['The tests']);
    expect(Array.from(one.ids, Number)).toEqual([id('[CLS]'), id('the'), id('tests'), id('[SEP]')]);
    const long = bert.encodeBatch(['one two three four five six seven eight nine']);
    expect(long.seq).toBe(8);
    expect(Number(long.ids[7])).toBe(id('[SEP]'));
    const pieces = bert.encodeBatch(['zq']);
    expect(Array.from(pieces.ids, Number)).toEqual([id('[CLS]'), id('z'), id('##q'), id('[SEP]')]);
  });

  it('pads a batch at the end to its longest text with id 0', () => {
    const b = bert.encodeBatch(['the', 'the code file']);
    expect(b.seq).toBe(5);
    expect(Array.from(b.ids.slice(3, 5), Number)).toEqual([0, 0]);
    expect(b.tokens).toEqual([3, 5]);
  });

  it('keeps a special token written in the text whole, as the library does', () => {
    const b = bert.encodeBatch(['a[SEP]b']);
    expect(Array.from(b.ids, Number)).toEqual([id('[CLS]'), id('a'), id('[SEP]'), id('b'), id('[SEP]')]);
  });

  it('refuses what it does not implement, naming it', () => {
    const bpe = { model: { type: 'BPE', vocab: {}, merges: [] } };
    expect(() => jsTokenizer(bpe, 8)).toThrow(UnsupportedTokenizer);
    expect(() => jsTokenizer(bpe, 8)).toThrow(/model BPE/);
    const metaspace = { ...wordPieceTokenizer(vocab), pre_tokenizer: { type: 'Metaspace' } };
    expect(() => jsTokenizer(metaspace, 8)).toThrow(/pre_tokenizer Metaspace/);
  });

  it.skipIf(!native)('hands a model it does not implement to the native library', async () => {
    const unigram = writeJson({
      model: {
        type: 'Unigram',
        vocab: [
          ['<unk>', 0],
          ['▁a', -1],
          ['a', -2],
        ],
        unk_id: 0,
      },
    });
    const b = await (await loadTokenizer(unigram, 8)).encodeBatch(['a a']);
    expect(b.batch).toBe(1);
    expect(b.tokens[0]).toBeGreaterThan(0);
  });

  it('reads a vocabulary from bytes as JSON.parse would: escapes decoded, a repeated token keeps its last id', () => {
    const file = (vocab: string) =>
      Buffer.from(`{"model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": ${vocab}}, "normalizer": null}`);
    // Also a quote alone, a backslash alone and a key ending in one: the end of each key is found past its escapes.
    const vocab =
      '{"[UNK]": 0, "a\\"b": 1, "\\u00e9t\\u00e9": 2, "été": 3, "x": 4, "x": 5, "日本": 6, ' +
      '"\\"": 7, "\\\\": 8, "b\\\\": 9, "\\\\\\"": 10}';
    const parsed = parseTokenizerJson(file(vocab)) as { model: { vocab: { get(t: string): number; size: number } } };
    const plain = JSON.parse(vocab) as Record<string, number>;
    expect(parsed.model.vocab.size).toBe(9); // "\u00e9t\u00e9" is "été" again
    expect(Object.keys(plain)).toHaveLength(9);
    expect(parsed.model.vocab.get('\\"')).toBe(10);
    for (const [token, id] of Object.entries(plain)) expect(parsed.model.vocab.get(token)).toBe(id);
    expect(parsed.model.vocab.get('y')).toBeUndefined();
    // Values that are not plain integers: read by JSON.parse instead (and then refused by the model).
    const odd = parseTokenizerJson(file('{"[UNK]": 0, "a": 1.5}')) as { model: { vocab: unknown } };
    expect(odd.model.vocab).toEqual({ '[UNK]': 0, a: 1.5 });
    expect(() => jsTokenizer(odd, 8)).toThrow(/not an integer/);
  });

  it('says plainly when the file cannot be read', async () => {
    await expect(loadTokenizer(join(tmpdir(), 'no-such-dir', 'tokenizer.json'), 8)).rejects.toThrow(
      /cannot read the tokenizer/,
    );
  });
});
