import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { modelError } from '../errors.js';

export type Pooling = 'mean' | 'cls' | 'none';

export interface PackFile {
  sha256: string;
  size: number;
}

/** `manifest.json` of a model pack (docs/ARCHITECTURE.md, "Embedding"). */
export interface PackManifest {
  name: string;
  /** Where the weights came from: a hub repository and revision, or a generator and its seed. */
  source: string;
  revision?: string;
  dimension: number;
  maxTokens: number;
  pooling: Pooling;
  normalize: boolean;
  queryPrefix: string;
  documentPrefix: string;
  files: { 'model.onnx': PackFile; 'tokenizer.json': PackFile } & Record<string, PackFile>;
}

export interface ModelPack {
  dir: string;
  manifest: PackManifest;
  /** Identifies these exact weights: the model file's SHA-256. Stored with every vector table. */
  fingerprint: string;
}

const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'none'];

/** Reads and checks `manifest.json` (shape only; see verifyPack for the files). */
export function readManifest(dir: string): PackManifest {
  const path = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message;
    throw modelError(`cannot read model manifest ${path}: ${reason}`);
  }
  const m = raw as Partial<PackManifest>;
  const bad = (field: string, want: string): never => {
    throw modelError(`model manifest ${path}: \`${field}\` must be ${want}`);
  };
  if (typeof m.name !== 'string' || m.name.length === 0) bad('name', 'a non-empty string');
  if (typeof m.source !== 'string') bad('source', 'a string');
  if (!Number.isInteger(m.dimension) || m.dimension! < 1 || m.dimension! > 8192)
    bad('dimension', 'an integer from 1 to 8192');
  if (!Number.isInteger(m.maxTokens) || m.maxTokens! < 2 || m.maxTokens! > 8192)
    bad('maxTokens', 'an integer from 2 to 8192');
  if (!POOLINGS.includes(m.pooling as Pooling)) bad('pooling', `one of ${POOLINGS.join(', ')}`);
  if (typeof m.normalize !== 'boolean') bad('normalize', 'true or false');
  if (typeof (m.queryPrefix ?? '') !== 'string') bad('queryPrefix', 'a string');
  if (typeof (m.documentPrefix ?? '') !== 'string') bad('documentPrefix', 'a string');
  if (typeof m.files !== 'object' || m.files === null) bad('files', 'an object of file checksums');
  for (const name of ['model.onnx', 'tokenizer.json']) {
    const f = (m.files as Record<string, PackFile>)[name];
    if (!f || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isInteger(f.size)) {
      bad(`files.${name}`, '{ sha256: 64 hex digits, size: bytes }');
    }
  }
  return { ...m, queryPrefix: m.queryPrefix ?? '', documentPrefix: m.documentPrefix ?? '' } as PackManifest;
}

/**
 * Reads in 1 MiB chunks: above the daemon's malloc mmap threshold (daemon-env.ts), so each goes back to the system
 * when freed, and faster: hashing the 22 MB MiniLM pack took 44-49 ms against 82-118 with the default 64 KiB chunks,
 * which also left the main malloc arena 12.5 MiB larger in process (the daemon reused that space later: its RSS after
 * warm-up was the same, 169 against 168 MiB at 10k memories).
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads the manifest and checks every listed file's size and SHA-256; any mismatch is a clear E_MODEL error. */
export async function loadPack(dir: string): Promise<ModelPack> {
  const pack = openPack(dir);
  await verifyPack(pack);
  return pack;
}

/** Reads the manifest and checks that every listed file is there with its size (the cheap half of loadPack). */
export function openPack(dir: string): ModelPack {
  const manifest = readManifest(dir);
  for (const [name, want] of Object.entries(manifest.files)) {
    let size: number;
    try {
      size = statSync(join(dir, name)).size;
    } catch {
      throw modelError(`model pack ${dir} is incomplete: ${name} is missing`);
    }
    if (size !== want.size) {
      throw modelError(
        `model pack ${dir}: ${name} is ${size} bytes but the manifest says ${want.size}; ` +
          'the file is damaged or from another model',
      );
    }
  }
  return { dir, manifest, fingerprint: manifest.files['model.onnx'].sha256 };
}

/** Checks every listed file's SHA-256 (the slow half of loadPack: 60-80 ms for a 22 MB model, measured). */
export async function verifyPack({ dir, manifest }: ModelPack): Promise<void> {
  for (const [name, want] of Object.entries(manifest.files)) {
    const sha = await sha256File(join(dir, name));
    if (sha !== want.sha256) {
      throw modelError(
        `model pack ${dir}: ${name} has SHA-256 ${sha.slice(0, 12)}… ` +
          `but the manifest says ${want.sha256.slice(0, 12)}…; ` +
          'the file is damaged or from another model',
      );
    }
  }
}
