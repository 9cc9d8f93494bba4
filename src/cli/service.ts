import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MnemoError } from '../errors.js';
import { CLI_PATH, PACKAGE_ROOT } from '../install-paths.js';
import { resolvePaths } from '../paths.js';

/**
 * `mnemo service install|uninstall|status`: the daemon as a user service. On Linux, systemd user units with socket
 * activation (systemd owns the socket and starts the daemon on the first connection); on macOS, a launchd agent. The
 * daemon works without any of this: the hook client starts it when needed.
 */

const TEMPLATES = join(PACKAGE_ROOT, 'systemd');

export interface RenderedUnits {
  platform: 'systemd' | 'launchd';
  dir: string;
  files: Record<string, string>;
}

const xml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The unit files with this installation's absolute paths (and MNEMO_HOME, when one is set). */
export function renderUnits(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): RenderedUnits {
  const paths = resolvePaths(env);
  const home = env.HOME || homedir();
  const vars: Record<string, string> = {
    '@NODE@': process.execPath,
    '@CLI@': CLI_PATH,
    '@ROOT@': PACKAGE_ROOT,
    '@LOG@': paths.daemonOut,
  };
  const fill = (text: string) => Object.entries(vars).reduce((t, [k, v]) => t.replaceAll(k, v), text);
  if (platform === 'darwin') {
    const plistEnv = env.MNEMO_HOME
      ? '  <key>EnvironmentVariables</key>\n  <dict>\n    <key>MNEMO_HOME</key>\n' +
        `    <string>${xml(env.MNEMO_HOME)}</string>\n  </dict>`
      : '';
    return {
      platform: 'launchd',
      dir: join(home, 'Library', 'LaunchAgents'),
      files: {
        'com.mnemo.daemon.plist': fill(readFileSync(join(TEMPLATES, 'com.mnemo.daemon.plist'), 'utf8')).replace(
          '@PLIST_ENVIRONMENT@\n',
          plistEnv ? `${plistEnv}\n` : '',
        ),
      },
    };
  }
  // Without MNEMO_HOME the socket is the one systemd's %t (the runtime dir) names; with it, the path mnemo uses.
  const socket = env.MNEMO_HOME ? paths.socketPath : '%t/mnemo/mnemo.sock';
  const environment = env.MNEMO_HOME ? `Environment=MNEMO_HOME=${env.MNEMO_HOME}` : '';
  return {
    platform: 'systemd',
    dir: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user'),
    files: {
      'mnemo.service': fill(readFileSync(join(TEMPLATES, 'mnemo.service'), 'utf8')).replace(
        '@ENVIRONMENT@\n',
        environment ? `${environment}\n` : '',
      ),
      'mnemo.socket': fill(readFileSync(join(TEMPLATES, 'mnemo.socket'), 'utf8')).replace('@SOCKET@', socket),
    },
  };
}

interface Run {
  ok: boolean;
  out: string;
}

function run(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error)
    return {
      ok: false,
      out: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed` : r.error.message,
    };
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Whether a user service manager answers here, and why not when it does not. */
export function serviceManager(platform: NodeJS.Platform = process.platform): { ok: boolean; why: string } {
  if (platform === 'darwin') {
    const r = run('launchctl', ['version']);
    return r.ok ? { ok: true, why: '' } : { ok: false, why: r.out || 'launchctl did not answer' };
  }
  const r = run('systemctl', ['--user', 'show-environment']);
  return r.ok ? { ok: true, why: '' } : { ok: false, why: r.out.split('\n')[0] || 'systemctl --user did not answer' };
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

export interface ServiceResult {
  platform: 'systemd' | 'launchd';
  dir: string;
  written: string[];
  enabled: boolean;
  message: string;
}

/**
 * Writes the units and (unless `enable` is false) enables and starts them. With no user service manager, nothing is
 * written and the error says so.
 */
export function installService(options: { enable: boolean; dir?: string }): ServiceResult {
  const units = renderUnits();
  const dir = options.dir ?? units.dir;
  if (options.enable) {
    const manager = serviceManager();
    if (!manager.ok) {
      throw new MnemoError(
        ErrorCode.NOT_FOUND,
        `no user service manager is available (${manager.why}); nothing was installed. ` +
          'mnemo works without one: hooks start the daemon, or run `mnemo start`',
      );
    }
  }
  mkdirSync(dir, { recursive: true });
  const written = Object.entries(units.files).map(([name, text]) => {
    writeAtomically(join(dir, name), text);
    return join(dir, name);
  });
  if (!options.enable)
    return { platform: units.platform, dir, written, enabled: false, message: `wrote ${written.join(', ')}` };
  const steps: [string, string[]][] =
    units.platform === 'systemd'
      ? [
          ['systemctl', ['--user', 'daemon-reload']],
          ['systemctl', ['--user', 'enable', '--now', 'mnemo.socket']],
        ]
      : [['launchctl', ['load', '-w', join(dir, 'com.mnemo.daemon.plist')]]];
  for (const [cmd, args] of steps) {
    const r = run(cmd, args);
    if (!r.ok)
      throw new MnemoError(
        ErrorCode.INTERNAL,
        `${cmd} ${args.join(' ')} failed: ${r.out}; the unit files are in ${dir}`,
      );
  }
  return {
    platform: units.platform,
    dir,
    written,
    enabled: true,
    message:
      units.platform === 'systemd'
        ? `installed and started mnemo.socket (${dir}); systemd starts the daemon on the first connection`
        : `installed and loaded com.mnemo.daemon (${dir})`,
  };
}

export function uninstallService(options: { dir?: string } = {}): ServiceResult {
  const units = renderUnits();
  const dir = options.dir ?? units.dir;
  const present = Object.keys(units.files)
    .map((f) => join(dir, f))
    .filter((f) => existsSync(f));
  if (present.length > 0 && serviceManager().ok) {
    if (units.platform === 'systemd') {
      run('systemctl', ['--user', 'disable', '--now', 'mnemo.socket', 'mnemo.service']);
    } else run('launchctl', ['unload', '-w', join(dir, 'com.mnemo.daemon.plist')]);
  }
  for (const f of present) rmSync(f, { force: true });
  if (present.length > 0 && units.platform === 'systemd') run('systemctl', ['--user', 'daemon-reload']);
  return {
    platform: units.platform,
    dir,
    written: present,
    enabled: false,
    message: present.length ? `removed ${present.join(', ')}` : `no mnemo units in ${dir}`,
  };
}

export function serviceStatus(): { platform: string; installed: boolean; manager: boolean; state: string } {
  const units = renderUnits();
  const installed = Object.keys(units.files).every((f) => existsSync(join(units.dir, f)));
  const manager = serviceManager();
  let state = manager.ok ? 'unknown' : `no user service manager (${manager.why})`;
  if (manager.ok && units.platform === 'systemd') {
    const socket = run('systemctl', ['--user', 'is-active', 'mnemo.socket']).out || 'inactive';
    const service = run('systemctl', ['--user', 'is-active', 'mnemo.service']).out || 'inactive';
    state = `mnemo.socket ${socket}, mnemo.service ${service}`;
  } else if (manager.ok) {
    state = run('launchctl', ['list', 'com.mnemo.daemon']).ok ? 'loaded' : 'not loaded';
  }
  return { platform: units.platform, installed, manager: manager.ok, state };
}
