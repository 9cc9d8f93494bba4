// Assembles src/store/vector-kernels.wat into dist/store/vector-kernels.wasm: the vector index's two scans (run by
// `npm run build`, after tsc). wabt is the assembler, at build time only; the package ships the .wasm.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'store', 'vector-kernels.wat');
const out = join(root, 'dist', 'store', 'vector-kernels.wasm');
const wabt = await initWabt();
const module = wabt.parseWat(source, readFileSync(source, 'utf8'), { simd: true });
try {
  module.validate();
  const { buffer } = module.toBinary({});
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, buffer);
} finally {
  module.destroy();
}
