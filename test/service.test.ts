import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../dist/client/client.js';
import { renderUnits, serviceManager } from '../dist/cli/service.js';
import { cleanup, CLI, socketOf, testEnv } from './helpers/daemon.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('service units', () => {
  it("are rendered with this installation's absolute paths", () => {
    const withHome = renderUnits({ MNEMO_HOME: '/tmp/mnemo-home', HOME: '/home/u' }, 'linux');
    expect(withHome.dir).toBe('/home/u/.config/systemd/user');
    const service = withHome.files['mnemo.service']!;
    expect(service).toContain(`ExecStart=${process.execPath} --max-semi-space-size=1 ${CLI} daemon\n`);
    // Socket activation skips the re-exec with the allocator settings (daemon/process-tuning.ts): the unit sets them.
    expect(service).toContain(
      'Environment=MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072\n',
    );
    expect(service).toContain('Environment=MNEMO_HOME=/tmp/mnemo-home\n');
    expect(service).not.toMatch(/@[A-Z_]+@/);
    expect(withHome.files['mnemo.socket']).toContain('ListenStream=/tmp/mnemo-home/run/mnemo.sock\n');
    const plain = renderUnits({ HOME: '/home/u', XDG_CONFIG_HOME: '/home/u/cfg' }, 'linux');
    expect(plain.dir).toBe('/home/u/cfg/systemd/user');
    expect(plain.files['mnemo.socket']).toContain('ListenStream=%t/mnemo/mnemo.sock\n');
    expect(plain.files['mnemo.service']).not.toContain('Environment=MNEMO_HOME');
    const mac = renderUnits({ HOME: '/Users/u', MNEMO_HOME: '/tmp/m&h' }, 'darwin');
    expect(mac.dir).toBe('/Users/u/Library/LaunchAgents');
    const plist = mac.files['com.mnemo.daemon.plist']!;
    expect(plist).toContain(
      `<string>${process.execPath}</string>\n    <string>${CLI}</string>\n    <string>daemon</string>`,
    );
    expect(plist).toContain('<key>MNEMO_HOME</key>\n    <string>/tmp/m&amp;h</string>');
    expect(plist).not.toMatch(/@[A-Z_]+@/);
  });

  it.runIf(hasAnalyze)('pass systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnemo-units-'));
    const env = { ...testEnv(), HOME: dir };
    const w = spawnSync(process.execPath, [CLI, 'service', 'install', '--no-enable', '--dir', dir], {
      env,
      encoding: 'utf8',
    });
    expect(w.status, w.stderr).toBe(0);
    const runtime = join(dir, 'rt');
    mkdirSync(runtime, { mode: 0o700 });
    const v = spawnSync(
      'systemd-analyze',
      ['--user', 'verify', join(dir, 'mnemo.socket'), join(dir, 'mnemo.service')],
      { env: { ...env, XDG_RUNTIME_DIR: runtime }, encoding: 'utf8' },
    );
    expect(v.status, v.stderr).toBe(0);
    // It reports unknown keys and bad values as warnings: none may mention our files.
    expect(`${v.stdout}${v.stderr}`).not.toContain(dir);
  });

  it.runIf(!serviceManager().ok)('say plainly when there is no user service manager, and install nothing', () => {
    const home = mkdtempSync(join(tmpdir(), 'mnemo-nosvc-'));
    const env = { ...testEnv(), HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') };
    const r = spawnSync(process.execPath, [CLI, 'service', 'install'], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^mnemo: no user service manager is available \(.+\); nothing was installed\. mnemo works without one/,
    );
    expect(existsSync(join(home, 'cfg', 'systemd'))).toBe(false);
  });
});

describe.runIf(spawnSync('python3', ['--version']).status === 0)('socket activation', () => {
  it('serves on a listening socket passed as descriptor 3 with LISTEN_FDS and LISTEN_PID', async () => {
    const env = testEnv();
    const path = socketOf(env);
    mkdirSync(join(env.MNEMO_HOME!, 'run'), { recursive: true, mode: 0o700 });
    // Stand in for systemd: a process binds and listens on the socket, puts it at descriptor 3, sets LISTEN_FDS and
    // LISTEN_PID to its own pid, and execs the daemon (which keeps that pid).
    const activator = [
      'import os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.bind(sys.argv[1]); s.listen(64)',
      'os.dup2(s.fileno(), 3); os.set_inheritable(3, True)',
      "os.environ['LISTEN_FDS'] = '1'; os.environ['LISTEN_PID'] = str(os.getpid())",
      "os.execv(sys.argv[2], [sys.argv[2], sys.argv[3], 'daemon', '--threads', '1'])",
    ].join('\n');
    const child = spawn('python3', ['-c', activator, path, process.execPath, CLI], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
      const inode = statSync(path).ino;
      const client = await connect({ env, waitReady: true, startTimeoutMs: 30_000 });
      const hello = await client.hello();
      expect(hello.pid).toBe(child.pid);
      expect(hello.ready).toBe(true);
      const stored = await client.store({ content: 'served over an inherited socket' });
      expect(stored.created).toBe(true);
      client.close();
      const log = readFileSync(join(env.MNEMO_HOME!, 'data', 'logs', 'daemon.log'), 'utf8');
      expect(log).toMatch(/"fd":3,.*"msg":"listening"/);
      // The daemon took the activator's socket over instead of binding a new one at the same path.
      expect(statSync(path).ino).toBe(inode);
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.on('exit', r));
      expect(code).toBe(0);
      // The socket path is systemd's: the daemon leaves it.
      expect(existsSync(path)).toBe(true);
      cleanup(env);
    }
  });
});
