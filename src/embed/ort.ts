/**
 * The ONNX runtime: onnxruntime-node's CPU files, which the package carries in vendor/onnxruntime-node (put there by
 * scripts/vendor-ort.mjs) instead of depending on onnxruntime-node, whose install script downloads a CUDA provider
 * mnemo never uses (issue 13). Its API and types are onnxruntime-common's, a plain dependency of the same version.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-common';
import { modelError } from '../errors.js';
import { PACKAGE_ROOT } from '../install-paths.js';

export const ORT_PATH = join(PACKAGE_ROOT, 'vendor', 'onnxruntime-node');

/** The runtime's native binding for this platform, where onnxruntime-node's own loader looks for it. */
export const ORT_BINDING_PATH = join(
  ORT_PATH,
  'bin',
  'napi-v6',
  process.platform,
  process.arch,
  'onnxruntime_binding.node',
);

/**
 * Loads the runtime (its native binding for this platform), or says plainly why it cannot. `path` is another
 * onnxruntime-node folder (config `runtime.path`), for a user who installed one with a GPU provider.
 */
export function loadOrt(path = ORT_PATH): typeof Ort {
  try {
    return createRequire(import.meta.url)(path) as typeof Ort;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint =
      path === ORT_PATH ? ' (in a checkout of mnemo, `npm run prepare` puts it there)' : ' (config `runtime.path`)';
    const why =
      e.code === 'MODULE_NOT_FOUND'
        ? `it is not in ${path}${hint}`
        : `${path} has no build for ${process.platform}/${process.arch} (${e.message.split('\n')[0]})`;
    throw modelError(`cannot load the ONNX runtime: ${why}`);
  }
}
