import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolvePaths } from '../dist/paths.js';
import { FALLBACK_CLIENT, NATIVE_CLIENT } from './helpers/daemon.js';

/** The environments the path rule distinguishes (no test touches these paths: the clients only print them). */
const ENVS: Record<string, string | undefined>[] = [
  { MNEMO_HOME: '/tmp/mnemo-paths-home' },
  { MNEMO_HOME: '/tmp/mnemo-paths-home', XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/someone' },
  { XDG_RUNTIME_DIR: '/run/user/1000', XDG_DATA_HOME: '/xdg/data', HOME: '/home/someone' },
  { HOME: '/home/someone' },
  { XDG_DATA_HOME: '/xdg/data', HOME: '/home/someone' },
  { MNEMO_HOME: '', XDG_RUNTIME_DIR: '', HOME: '/home/someone' },
];

describe('one rule for where the socket is', () => {
  const clients: [string, string[]][] = [['node fallback', [process.execPath, FALLBACK_CLIENT]]];
  if (existsSync(NATIVE_CLIENT)) clients.push(['native', [NATIVE_CLIENT]]);
  else it.skip('native client (not built on this machine)', () => {});

  for (const [name, cmd] of clients) {
    it(`the ${name} client resolves the socket and its log exactly as src/paths.ts does`, () => {
      for (const vars of ENVS) {
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
        for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
        const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'paths'], { env, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const p = resolvePaths(env);
        expect(r.stdout, JSON.stringify(vars)).toBe(`socket ${p.socketPath}\nclientLog ${p.clientLog}\n`);
      }
    });
  }
});
