import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, testEnv } from './helpers/daemon.js';
import { makeProject } from './helpers/claude.js';

function mnemo(
  env: NodeJS.ProcessEnv,
  cwd: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A test HOME, so the user scope never reaches the real ~/.claude. */
function env(): NodeJS.ProcessEnv {
  return { ...testEnv(), HOME: mkdtempSync(join(tmpdir(), 'mnhome-')) };
}

const USER_SETTINGS = {
  permissions: { allow: ['Bash(npm test)'] },
  hooks: {
    PostToolUse: [{ matcher: 'Write|Edit', hooks: [{ type: 'command', command: 'npx prettier --write "$FILE"' }] }],
    Stop: [{ hooks: [{ type: 'command', command: 'notify-send done', timeout: 5 }] }],
  },
  model: 'opus',
};

/** A Claude Code settings file, with the fields these tests read. */
interface Settings {
  permissions?: unknown;
  model?: string;
  hooks?: Record<string, { matcher?: string; hooks: { command: string; timeout?: number }[] }[]>;
}
const readSettings = (text: string) => JSON.parse(text) as Settings;

const mnemoCommands = (settings: Settings) =>
  Object.entries(settings.hooks ?? {}).flatMap(([event, groups]) =>
    groups.flatMap((g) =>
      g.hooks
        .filter((h) => h.command.includes('mnemo-client hook'))
        .map((h) => `${event}: ${h.command.split(' ').slice(-2).join(' ')}`),
    ),
  );

describe('mnemo hooks install / uninstall / status', () => {
  it('writes a fresh settings.local.json with the five hooks, timeouts, and keeps it out of git', async () => {
    const e = env();
    const project = makeProject('fresh');
    const r = await mnemo(e, join(project, 'src'), ['hooks', 'install']);
    expect(r.code, r.stderr).toBe(0);
    const file = join(project, '.claude', 'settings.local.json');
    const settings = readSettings(readFileSync(file, 'utf8'));
    expect(mnemoCommands(settings)).toEqual([
      'SessionStart: hook SessionStart',
      'UserPromptSubmit: hook UserPromptSubmit',
      'PostToolUse: hook PostToolUse',
      'Stop: hook Stop',
      'SessionEnd: hook SessionEnd',
    ]);
    expect(settings.hooks?.SessionStart?.[0]?.hooks[0]?.timeout).toBe(5);
    expect(settings.hooks?.PostToolUse?.[0]?.matcher).toBe('*');
    const command = settings.hooks?.Stop?.[0]?.hooks[0]?.command ?? '';
    expect(existsSync(command.split(' ')[0]!)).toBe(true);
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toContain('.claude/settings.local.json');
    expect(r.stdout).toMatch(
      /^installed: mnemo hooks for SessionStart, UserPromptSubmit, PostToolUse, Stop, SessionEnd in /,
    );
  });

  it('removes a settings file it made, and its marker, when only its hooks were ever in it', async () => {
    const e = env();
    const project = makeProject('made-by-mnemo');
    const file = join(project, '.claude', 'settings.local.json');
    expect((await mnemo(e, project, ['hooks', 'install'])).code).toBe(0);
    expect(readFileSync(`${file}.mnemo-backup`, 'utf8')).toBe('');
    expect((await mnemo(e, project, ['hooks', 'uninstall'])).code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.mnemo-backup`)).toBe(false);

    // The user added a setting of their own in between: the file is theirs now, kept without mnemo's hooks.
    expect((await mnemo(e, project, ['hooks', 'install'])).code).toBe(0);
    const withTheirs = readSettings(readFileSync(file, 'utf8'));
    writeFileSync(file, `${JSON.stringify({ ...withTheirs, model: 'opus' }, null, 2)}\n`);
    expect((await mnemo(e, project, ['hooks', 'uninstall'])).code).toBe(0);
    expect(readSettings(readFileSync(file, 'utf8'))).toEqual({ model: 'opus' });
    expect(existsSync(`${file}.mnemo-backup`)).toBe(false);
  });

  it('keeps the user hooks and settings, adds no duplicates, and uninstalls back to the same bytes', async () => {
    const e = env();
    const project = makeProject('existing');
    const file = join(project, '.claude', 'settings.local.json');
    mkdirSync(join(project, '.claude'));
    const original = `${JSON.stringify(USER_SETTINGS, null, 4)}\n`;
    writeFileSync(file, original);
    writeFileSync(join(project, '.gitignore'), 'node_modules\n.claude/\n');

    expect((await mnemo(e, project, ['hooks', 'install'])).code).toBe(0);
    const once = readFileSync(file, 'utf8');
    const settings = readSettings(once);
    expect(settings.permissions).toEqual(USER_SETTINGS.permissions);
    expect(settings.model).toBe('opus');
    expect(settings.hooks?.PostToolUse?.[0]).toEqual(USER_SETTINGS.hooks.PostToolUse[0]);
    expect(settings.hooks?.Stop?.[0]).toEqual(USER_SETTINGS.hooks.Stop[0]);
    expect(once).toContain('    "permissions": {'); // the file's own 4-space indentation
    expect(readFileSync(`${file}.mnemo-backup`, 'utf8')).toBe(original);
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toBe('node_modules\n.claude/\n'); // already covered

    const second = await mnemo(e, project, ['hooks', 'install']);
    expect(second.stdout).toMatch(/^already installed/);
    expect(readFileSync(file, 'utf8')).toBe(once);
    expect(mnemoCommands(readSettings(once)).length).toBe(5);

    const status = await mnemo(e, project, ['hooks', 'status', '--json']);
    const s = JSON.parse(status.stdout) as { places: unknown[]; daemon: unknown };
    expect(s.places[0]).toMatchObject({
      scope: 'project',
      events: ['PostToolUse', 'Stop', 'SessionStart', 'UserPromptSubmit', 'SessionEnd'],
    });
    expect(s.daemon).toEqual({ running: false });

    const un = await mnemo(e, project, ['hooks', 'uninstall']);
    expect(un.stdout).toMatch(/^removed 5 mnemo hooks from /);
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect((await mnemo(e, project, ['hooks', 'uninstall'])).stdout).toMatch(/^no mnemo hooks in /);
  });

  it("gives back the user's exact bytes for every layout, keeps the first backup and keeps it out of git", async () => {
    const e = env();
    const layouts: Record<string, string> = {
      'empty object': '{}',
      'empty object, newline': '{}\n',
      compact: '{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"notify-send done"}]}]},"model":"opus"}',
      'one-line hook arrays':
        '{\n  "model": "opus",\n' +
        '  "hooks": { "Stop": [{ "hooks": [{ "type": "command", "command": "notify-send done" }] }] }\n}\n',
      'pretty, tabs, CRLF': '{\r\n\t"permissions": {\r\n\t\t"allow": ["Bash(npm test)"]\r\n\t}\r\n}\r\n',
      'pretty, 4 spaces, no final newline': '{\n    "model": "opus",\n    "env": {\n        "A": "1"\n    }\n}',
    };
    for (const [name, original] of Object.entries(layouts)) {
      const project = makeProject(`layout-${name.replace(/\W+/g, '-')}`);
      const file = join(project, '.claude', 'settings.local.json');
      mkdirSync(join(project, '.claude'), { recursive: true });
      writeFileSync(file, original);
      expect((await mnemo(e, project, ['hooks', 'install'])).code, name).toBe(0);
      expect(readFileSync(`${file}.mnemo-backup`, 'utf8'), name).toBe(original);
      // A second install (an upgrade that moved the client) never overwrites the original's backup.
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('mnemo-client hook', 'mnemo-client  hook'));
      expect((await mnemo(e, project, ['hooks', 'install'])).code, name).toBe(0);
      expect(readFileSync(`${file}.mnemo-backup`, 'utf8'), name).toBe(original);
      expect((await mnemo(e, project, ['hooks', 'uninstall'])).code, name).toBe(0);
      expect(readFileSync(file, 'utf8'), name).toBe(original);
      expect(readFileSync(join(project, '.gitignore'), 'utf8'), name).toContain(
        '.claude/settings.local.json.mnemo-backup',
      );
    }
  });

  it('refuses a settings file that is not valid JSON and leaves it untouched', async () => {
    const e = env();
    const project = makeProject('broken');
    mkdirSync(join(project, '.claude'));
    const file = join(project, '.claude', 'settings.local.json');
    const broken = '{\n  "hooks": {,\n}\n';
    writeFileSync(file, broken);
    const r = await mnemo(e, project, ['hooks', 'install']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not valid JSON .*left it untouched/);
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(existsSync(`${file}.mnemo-backup`)).toBe(false);
  });

  it('installs in the user scope under $HOME/.claude/settings.json', async () => {
    const e = env();
    const project = makeProject('user-scope');
    const r = await mnemo(e, project, ['hooks', 'install', '--scope', 'user', '--json']);
    const out = JSON.parse(r.stdout) as { path: string };
    expect(out.path).toBe(join(e.HOME!, '.claude', 'settings.json'));
    expect(mnemoCommands(readSettings(readFileSync(out.path, 'utf8'))).length).toBe(5);
    expect(existsSync(join(project, '.claude'))).toBe(false);
    expect((await mnemo(e, project, ['hooks', 'install', '--scope', 'galaxy'])).code).toBe(2);
  });
});
