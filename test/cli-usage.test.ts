import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../dist/cli/commands/index.js';
import { CLI, cleanup, testEnv } from './helpers/daemon.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mnemo(env: NodeJS.ProcessEnv, args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under a folder, for "nothing was written". */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

describe('the CLI says what is wrong in the terms the user typed, and --help only helps', () => {
  const env = testEnv();
  // A project folder and a HOME of its own: `hooks install --help` must not write settings into either.
  const project = mkdtempSync(join(tmpdir(), 'mnemo-usage-'));
  const home = join(project, 'home');
  mkdirSync(join(project, '.git'), { recursive: true });
  mkdirSync(home);
  env.HOME = home;
  afterAll(() => {
    cleanup(env);
    rmSync(project, { recursive: true, force: true });
  });

  it("prints each command's own usage for --help and -h, and does nothing else", async () => {
    const before = [tree(env.MNEMO_HOME!), tree(project)];
    const variants = (name: string) =>
      ['model', 'hooks', 'service'].includes(name)
        ? [
            [name, 'install', '--help'],
            [name, '-h'],
          ]
        : [
            [name, '--help'],
            [name, 'x', '-h'],
          ];
    for (const [, name] of COMMANDS) {
      for (const args of variants(name)) {
        const r = await mnemo(env, args, project);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stdout, args.join(' ')).toMatch(new RegExp(`^usage: mnemo ${name}`));
        expect(r.stdout, args.join(' ')).toContain('-h, --help');
      }
    }
    // No daemon started, no settings written, no service installed, no reindex run.
    expect([tree(env.MNEMO_HOME!), tree(project)]).toEqual(before);
  }, 120_000);

  it('refuses `delete --all-tags` without tags as a usage mistake, before anything is sent', async () => {
    const r = await mnemo(env, ['delete', '--all-tags', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mnemo: --all-tags needs --tag \(which tags must all match\?\); refusing to delete with an empty filter: .*\n$/,
    );
    expect(existsSync(join(env.MNEMO_HOME!, 'run'))).toBe(false); // no daemon was needed to say so
  });

  it('gives every usage mistake exit status 2 and names the flag as typed', async () => {
    const cases: [string[], RegExp][] = [
      [['search', 'x', '--limit', '0'], /^mnemo: --limit must be an integer from 1 to 100, got 0\n$/],
      [['search', 'x', '--limit', 'abc'], /^mnemo: --limit must be an integer from 1 to 100, got 'abc'\n$/],
      [['search', 'x', '--mode', 'bogus'], /^mnemo: --mode must be one of hybrid, semantic, keyword, got 'bogus'\n$/],
      [['search', 'x', '--min-score', '2'], /^mnemo: --min-score must be a number from 0 to 1, got 2\n$/],
      [['search', 'x', '--since', 'someday'], /--since must be a date/],
      [['search', 'x', '--bogus'], /Unknown option '--bogus'.*mnemo search --help/],
      [['search'], /give a query/],
      [['get', 'xyz'], /^mnemo: <hash> must be hex digits/],
      [['update', 'abcdef12'], /nothing to update/],
      [['store', 'x', '--metadata', '[1]'], /--metadata must be an object/],
      [['store', 'x', '--type', 'has spaces'], /--type must be 1 to 50 letters/],
      [['hooks', 'install', '--scope', 'bogus'], /--scope must be project or user/],
      [['hooks', 'status', '--scope', 'user'], /--scope is for install and uninstall/],
      [['service', 'status', '--print'], /--print is for install/],
      [['service', 'uninstall', '--no-enable'], /--no-enable is for install/],
      [['reindex', '--batch', 'x'], /--batch must be a whole number/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = await mnemo(env, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const j = await mnemo(env, ['search', 'x', '--limit', '0', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      error: { code: 'E_BAD_ARGS', message: '--limit must be an integer from 1 to 100, got 0' },
    });
  });

  it('refuses an empty delete at the edge, without starting a daemon', async () => {
    const r = await mnemo(env, ['delete']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'mnemo: refusing to delete with an empty filter: give <hash>..., --tag, ' +
        'a time range (--since, --until or --time), --project, --session or --type\n',
    );
    expect(existsSync(join(env.MNEMO_HOME!, 'run'))).toBe(false);
  });

  it('checks an import file for --dry-run without storing anything or starting a daemon', async () => {
    const file = join(project, 'in.jsonl');
    writeFileSync(file, '{"content":"one"}\n{"content":"two","tags":["a"]}\n{"content":""}\nnot json\n');
    const r = await mnemo(env, ['import', file, '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^would import 2 memories \(dry run, nothing changed.*; 2 lines refused; line 3: `content` must not be empty\n$/,
    );
    expect(existsSync(join(env.MNEMO_HOME!, 'run'))).toBe(false);
  });

  it('lists every command in `mnemo help`, with the summary its --help shows', async () => {
    const r = await mnemo(env, ['help']);
    expect(r.code).toBe(0);
    const width = Math.max(...COMMANDS.map(([, name]) => name.length)) + 2;
    for (const [, name] of COMMANDS) {
      const own = (await mnemo(env, [name, '--help'])).stdout.split('\n')[2]!;
      expect(r.stdout).toContain(`  ${name.padEnd(width)}${own}`);
    }
  });

  it("says why a start failed: this start's cause, not a line an earlier start left behind", async () => {
    const other = testEnv();
    try {
      mkdirSync(join(other.MNEMO_HOME!, 'config'), { recursive: true });
      writeFileSync(join(other.MNEMO_HOME!, 'config', 'config.json'), JSON.stringify({ threads: 'abc' }));
      const bad = await mnemo(other, ['start']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        new RegExp(
          '^mnemo: the daemon did not start: failed to start: ' +
            ".*`threads` must be an integer from 1 to 64, got 'abc'",
        ),
      );
      writeFileSync(join(other.MNEMO_HOME!, 'config', 'config.json'), '{}');
      mkdirSync(join(other.MNEMO_HOME!, 'data'), { recursive: true });
      writeFileSync(join(other.MNEMO_HOME!, 'data', 'mnemo.db'), Buffer.alloc(8192, 0x5a));
      const corrupt = await mnemo(other, ['start']);
      expect(corrupt.code).toBe(1);
      expect(corrupt.stderr).toMatch(/file is not a database/);
      expect(corrupt.stderr).not.toMatch(/threads/);
    } finally {
      cleanup(other);
    }
  }, 60_000);

  it('checks config.json: a wrong value or an unknown key fails doctor, naming the key', async () => {
    const other = testEnv();
    try {
      mkdirSync(join(other.MNEMO_HOME!, 'config'), { recursive: true });
      writeFileSync(
        join(other.MNEMO_HOME!, 'config', 'config.json'),
        JSON.stringify({ context: { sessionStartBudget: 'lots' } }),
      );
      const d = await mnemo(other, ['doctor']);
      expect(d.code).toBe(1);
      expect(d.stdout).toMatch(
        new RegExp(
          '^fail +config +.*config\\.json: ' +
            "`context\\.sessionStartBudget` must be an integer from 50 to 20000, got 'lots'$",
          'm',
        ),
      );
      writeFileSync(join(other.MNEMO_HOME!, 'config', 'config.json'), JSON.stringify({ treads: 2 }));
      expect((await mnemo(other, ['doctor'])).stdout).toMatch(/unknown argument `treads` \(did you mean `threads`\?\)/);
      writeFileSync(
        join(other.MNEMO_HOME!, 'config', 'config.json'),
        JSON.stringify({ runtime: { path: 'ort', providers: ['gpu'] } }),
      );
      const runtime = (await mnemo(other, ['doctor'])).stdout;
      expect(runtime).toMatch(/`runtime\.path` must be an absolute path to an onnxruntime-node folder/);
      expect(runtime).toMatch(/`runtime\.providers\[0\]` must be cpu, cuda, coreml or webgpu/);
    } finally {
      cleanup(other);
    }
  });
});
