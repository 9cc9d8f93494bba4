/**
 * Writing a model pack (model.onnx, tokenizer.json, manifest.json) into its folder. The offline pack is written at
 * first start; the generated test packs (bert-pack.ts, for tests and the bench only) use the same writer.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PackManifest, Pooling } from '../manifest.js';

export interface PackSpec {
  name: string;
  source: string;
  revision?: string;
  model: Uint8Array;
  tokenizerJson: string;
  dimension: number;
  maxTokens: number;
  pooling: Pooling;
  normalize: boolean;
  queryPrefix?: string;
  documentPrefix?: string;
}

/**
 * Writes a model pack atomically: everything goes into a sibling temp folder that is renamed into place, so a reader
 * sees either no pack or a whole one.
 */
export function writePack(dir: string, spec: PackSpec): PackManifest {
  const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
  const manifest: PackManifest = {
    name: spec.name,
    source: spec.source,
    ...(spec.revision ? { revision: spec.revision } : {}),
    dimension: spec.dimension,
    maxTokens: spec.maxTokens,
    pooling: spec.pooling,
    normalize: spec.normalize,
    queryPrefix: spec.queryPrefix ?? '',
    documentPrefix: spec.documentPrefix ?? '',
    files: {
      'model.onnx': { sha256: sha(spec.model), size: spec.model.byteLength },
      'tokenizer.json': { sha256: sha(spec.tokenizerJson), size: Buffer.byteLength(spec.tokenizerJson) },
    },
  };
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, 'model.onnx'), spec.model);
    writeFileSync(join(tmp, 'tokenizer.json'), spec.tokenizerJson);
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another process may have won the race to write the same pack; theirs is as good as ours.
    if (existsSync(join(dir, 'manifest.json'))) return manifest;
    throw err;
  }
  return manifest;
}
