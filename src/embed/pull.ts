import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badArgs } from '../errors.js';
import { downloadFile } from './download.js';
import { loadPack, type PackManifest } from './manifest.js';
import { fileUrl, hubEndpoint, REGISTRY, registryModel, type RegistryModel } from './registry.js';

export interface PullProgress {
  file: string;
  received: number;
  total: number;
}

export interface PullResult {
  dir: string;
  manifest: PackManifest;
  alreadyInstalled: boolean;
  downloadedBytes: number;
  resumedBytes: number;
}

/**
 * Fetches a registry model into `<modelsDir>/<name>`. Files collect under `<modelsDir>/.downloads/<name>` (so an
 * interrupted pull resumes), each is verified, and the finished folder is renamed into place: a half-downloaded pack
 * is never visible where packs are looked for.
 */
export async function pullModel(
  nameOrModel: string | RegistryModel,
  modelsDir: string,
  options: { env?: NodeJS.ProcessEnv; force?: boolean; onProgress?: (p: PullProgress) => void } = {},
): Promise<PullResult> {
  const model = typeof nameOrModel === 'string' ? registryModel(nameOrModel) : nameOrModel;
  if (!model) {
    // Only a name can fail to resolve: a model passed in is used as it is.
    throw badArgs(
      `unknown model '${nameOrModel as string}'; models that can be pulled: ${REGISTRY.map((m) => m.name).join(', ')}`,
    );
  }
  const dir = join(modelsDir, model.name);
  if (!options.force && existsSync(join(dir, 'manifest.json'))) {
    try {
      const pack = await loadPack(dir);
      if (pack.fingerprint === model.files['model.onnx'].sha256) {
        return { dir, manifest: pack.manifest, alreadyInstalled: true, downloadedBytes: 0, resumedBytes: 0 };
      }
    } catch {
      // A damaged install is replaced below.
    }
  }
  const staging = join(modelsDir, '.downloads', model.name);
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  const endpoint = hubEndpoint(options.env);
  let downloaded = 0;
  let resumed = 0;
  for (const [packName, file] of Object.entries(model.files)) {
    const dest = join(staging, packName);
    if (existsSync(dest)) continue;
    const r = await downloadFile(fileUrl(endpoint, model, file.path), dest, file, {
      partPath: `${dest}.part`,
      onProgress: (received, total) => options.onProgress?.({ file: file.path, received, total }),
    });
    downloaded += r.bytes - r.resumedFrom;
    resumed += r.resumedFrom;
  }
  const manifest: PackManifest = {
    name: model.name,
    source: `https://huggingface.co/${model.repo}`,
    revision: model.revision,
    dimension: model.dimension,
    maxTokens: model.maxTokens,
    pooling: model.pooling,
    normalize: model.normalize,
    queryPrefix: model.queryPrefix,
    documentPrefix: model.documentPrefix,
    files: {
      'model.onnx': { sha256: model.files['model.onnx'].sha256, size: model.files['model.onnx'].size },
      'tokenizer.json': { sha256: model.files['tokenizer.json'].sha256, size: model.files['tokenizer.json'].size },
    },
  };
  writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const leftover of readdirSync(staging))
    if (leftover.endsWith('.part')) rmSync(join(staging, leftover), { force: true });
  if (existsSync(dir)) {
    const old = `${dir}.old-${process.pid}`;
    renameSync(dir, old);
    renameSync(staging, dir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(staging, dir);
  }
  return { dir, manifest, alreadyInstalled: false, downloadedBytes: downloaded, resumedBytes: resumed };
}
