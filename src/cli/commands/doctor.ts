import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { connect, socketPathFor } from '../../client/client.js';
import { chooseModel, readConfig, type MnemoConfig } from '../../config.js';
import { readManifest } from '../../embed/manifest.js';
import { NATIVE_CLIENT_PATH, PACKAGE_ROOT } from '../../install-paths.js';
import { join } from 'node:path';
import { resolvePaths } from '../../paths.js';
import { isFailedState, PROTOCOL_VERSION } from '../../protocol/messages.js';
import type { Command } from '../command.js';

type Status = 'ok' | 'warn' | 'fail';
interface Check {
  check: string;
  status: Status;
  detail: string;
}

/** Checks what mnemo needs, one line each; exit status 1 when anything fails. */
export async function doctor(json: boolean): Promise<number> {
  const paths = resolvePaths();
  const checks: Check[] = [];
  const add = (check: string, status: Status, detail: string) => checks.push({ check, status, detail });

  for (const [name, dir, privateDir] of [
    ['runtime dir', paths.runtimeDir, true],
    ['data dir', paths.dataDir, true],
  ] as const) {
    if (!existsSync(dir)) {
      add(name, 'warn', `${dir} does not exist yet (made on first start)`);
      continue;
    }
    try {
      accessSync(dir, constants.W_OK);
      const mode = statSync(dir).mode & 0o777;
      if (privateDir && mode & 0o077)
        add(name, 'warn', `${dir} is mode ${mode.toString(8)}; other users can look in (want 700)`);
      else add(name, 'ok', dir);
    } catch {
      add(name, 'fail', `${dir} is not writable`);
    }
  }

  const socket = socketPathFor();
  add('socket path', socket.length <= 107 ? 'ok' : 'fail', `${socket} (${socket.length} bytes; the limit is 107)`);

  let config: MnemoConfig = {};
  try {
    config = readConfig(paths);
    add('config', 'ok', existsSync(paths.configPath) ? paths.configPath : 'none (defaults)');
  } catch (err) {
    add('config', 'fail', (err as Error).message);
  }

  try {
    const choice = chooseModel(paths, process.env, undefined, config);
    if (choice.build) {
      const { wordVectorsPath } = await import('../../embed/registry.js');
      if (wordVectorsPath())
        add(
          'model',
          'warn',
          `the offline pack is built at the first start (${choice.dir}); ${choice.notice ?? ''}`.trim(),
        );
      else
        add(
          'model',
          'fail',
          'no model installed and no word vectors to build the offline pack from; run `mnemo model pull`',
        );
    } else {
      const m = readManifest(choice.dir);
      add(
        'model',
        choice.notice ? 'warn' : 'ok',
        `${m.name} (${m.dimension} dimensions) in ${choice.dir}${choice.notice ? `; ${choice.notice}` : ''}`,
      );
    }
  } catch (err) {
    add('model', 'fail', (err as Error).message);
  }

  if (existsSync(NATIVE_CLIENT_PATH)) {
    try {
      accessSync(NATIVE_CLIENT_PATH, constants.X_OK);
      add('native client', 'ok', NATIVE_CLIENT_PATH);
    } catch {
      add('native client', 'fail', `${NATIVE_CLIENT_PATH} is not executable`);
    }
  } else {
    add(
      'native client',
      'warn',
      `not built (no C compiler, or npm did not run mnemo's install script); hooks use the slower Node.js ` +
        `client; build it with \`node ${join(PACKAGE_ROOT, 'scripts', 'build-client.mjs')}\``,
    );
  }

  const { ORT_BINDING_PATH, ORT_PATH } = await import('../../embed/ort.js');
  if (existsSync(ORT_BINDING_PATH)) add('onnx runtime', 'ok', ORT_PATH);
  else
    add(
      'onnx runtime',
      'fail',
      `no build for ${process.platform}/${process.arch} in ${ORT_PATH}; ` +
        'mnemo runs on Linux (x64, arm64) and macOS (arm64)',
    );

  try {
    const client = await connect({ connectTimeoutMs: 1000, timeoutMs: 5000 });
    const hello = client.greeting;
    client.close();
    if (hello.protocol !== PROTOCOL_VERSION)
      add('daemon', 'fail', `pid ${hello.pid} speaks protocol ${hello.protocol}; run mnemo restart`);
    else if (!hello.ready)
      add('daemon', isFailedState(hello.state) ? 'fail' : 'warn', `pid ${hello.pid}: ${hello.state}`);
    else add('daemon', 'ok', `pid ${hello.pid}, ${hello.model?.name}, up ${Math.round(hello.uptimeMs / 1000)} s`);
  } catch {
    add('daemon', 'warn', 'not running (hooks start it; or run mnemo start)');
  }

  if (existsSync(paths.dbPath)) {
    const problems = await checkDatabase(paths.dbPath);
    if (problems.length > 0) add('database', 'fail', `${paths.dbPath} is damaged: ${problems.join('; ')}`);
    else
      add(
        'database',
        'ok',
        `${paths.dbPath} (${(statSync(paths.dbPath).size / 1048576).toFixed(1)} MiB, structure checked)`,
      );
  } else add('database', 'warn', `${paths.dbPath} does not exist yet (made on first start)`);
  try {
    const s = statfsSync(paths.dataDir);
    const free = (s.bavail * s.bsize) / 1048576;
    add('disk', free < 64 ? 'warn' : 'ok', `${Math.round(free)} MiB free for ${paths.dataDir}`);
  } catch {
    // No data dir yet: reported above.
  }

  if (json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else for (const c of checks) process.stdout.write(`${c.status.padEnd(4)}  ${c.check.padEnd(13)} ${c.detail}\n`);
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

/** quick_check on a read-only connection (the daemon may hold the database; WAL lets both read). */
async function checkDatabase(path: string): Promise<string[]> {
  const { default: Database } = await import('better-sqlite3');
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
      return rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    } finally {
      db.close();
    }
  } catch (err) {
    return [(err as Error).message];
  }
}

export const doctorCommand: Command = {
  name: 'doctor',
  usage: '',
  summary:
    'check paths, permissions, config, model, native client, daemon and database, one line each (exit 1 on a failure)',
  flags: [],
  ops: ['hello'],
  run: ({ json }) => doctor(json),
};
