import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateBertPack, MINILM_L6_SHAPE, TINY_SHAPE } from '../../dist/embed/packs/bert-pack.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Generated packs are cached here (git-ignored) so the suite does not rebuild them every run. */
export const PACK_CACHE = join(REPO, '.cache', 'packs');
/** Bump when the generator changes, so stale cached packs are not reused. */
const GENERATOR_VERSION = 1;

/** Max tokens of the tiny pack: small, so truncation is easy to test. */
export const TINY_MAX_TOKENS = 32;

export function tinyPack(seed = 1): string {
  const dir = join(PACK_CACHE, `tiny-bert-s${seed}-v${GENERATOR_VERSION}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    generateBertPack(dir, { name: `tiny-bert-s${seed}`, shape: TINY_SHAPE, seed, maxTokens: TINY_MAX_TOKENS });
  }
  return dir;
}

/** The real all-MiniLM-L6-v2 tokenizer, when ../shared is beside the checkout. */
export function sharedMiniLmTokenizer(): string | undefined {
  const path = join(REPO, '..', 'shared', 'models', 'all-MiniLM-L6-v2', 'tokenizer.json');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** A pack shaped exactly like all-MiniLM-L6-v2, with its real tokenizer where available. */
export function miniLmShapedPack(): string {
  const tokenizerJson = sharedMiniLmTokenizer();
  const dir = join(PACK_CACHE, `minilm-shaped-${tokenizerJson ? 'real-tok' : 'tiny-tok'}-v${GENERATOR_VERSION}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    generateBertPack(dir, {
      name: 'minilm-l6-shaped',
      shape: MINILM_L6_SHAPE,
      seed: 7,
      maxTokens: 256,
      ...(tokenizerJson ? { tokenizerJson } : {}),
    });
  }
  return dir;
}
