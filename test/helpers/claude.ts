import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATIVE_CLIENT } from './daemon.js';

/** A git repository standing in for the user's project, on a feature branch with a commit. */
export function makeProject(name: string, branch = 'fix-migration-order'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'mnproj-')), name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'migrations.ts'), 'export const migrations = [];\n');
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
  git('init', '-q');
  git('checkout', '-q', '-b', branch);
  git('add', '.');
  git('commit', '-q', '-m', 'Run schema migrations inside one transaction each');
  return dir;
}

export interface HookRun {
  code: number | null;
  stdout: string;
  ms: number;
}

/** Runs one hook exactly as Claude Code does: a new native client process, the event JSON on stdin. */
export function hook(env: NodeJS.ProcessEnv, event: string, payload: Record<string, unknown>): Promise<HookRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(NATIVE_CLIENT, ['hook', event], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stdin.end(JSON.stringify({ hook_event_name: event, ...payload }));
    p.on('exit', (code) => resolve({ code, stdout, ms: performance.now() - t0 }));
  });
}

/** A realistic Claude Code session, as the hooks see it: prompts, reads, a failing test run, an edit, a passing run. */
export function recordedSession(sessionId: string, cwd: string): [string, Record<string, unknown>][] {
  const base = { session_id: sessionId, transcript_path: join(cwd, '.transcript.jsonl'), cwd };
  const tool = (
    promptId: string,
    id: string,
    tool_name: string,
    tool_input: Record<string, unknown>,
    tool_response: unknown,
    duration_ms = 40,
  ) =>
    [
      'PostToolUse',
      {
        ...base,
        prompt_id: promptId,
        tool_name,
        tool_input,
        tool_use_id: id,
        tool_response,
        duration_ms,
        permission_mode: 'default',
        extra_future_field: { nested: true },
      },
    ] as [string, Record<string, unknown>];
  return [
    ['SessionStart', { ...base, source: 'startup', model: 'claude-sonnet-4-5' }],
    [
      'UserPromptSubmit',
      {
        ...base,
        prompt: 'The migrations test fails with "no such table memories". Find out why and fix it.',
        prompt_id: 'p-1',
        permission_mode: 'default',
      },
    ],
    tool(
      'p-1',
      'toolu_01',
      'Read',
      { file_path: join(cwd, 'src', 'migrations.ts') },
      { type: 'text', file: { filePath: join(cwd, 'src', 'migrations.ts'), numLines: 1 } },
    ),
    tool(
      'p-1',
      'toolu_02',
      'Grep',
      { pattern: 'user_version', path: join(cwd, 'src') },
      { mode: 'files_with_matches', filenames: [], numFiles: 0 },
    ),
    tool(
      'p-1',
      'toolu_03',
      'Bash',
      { command: 'npx vitest run test/migrations.test.ts', description: 'Run the migrations test' },
      {
        stdout: '',
        stderr: 'FAIL test/migrations.test.ts > opens the db\nSqliteError: no such table: memories',
        interrupted: false,
        isImage: false,
        exitCode: 1,
      },
      2300,
    ),
    tool(
      'p-1',
      'toolu_04',
      'Edit',
      {
        file_path: join(cwd, 'src', 'migrations.ts'),
        old_string: 'export const migrations = [];',
        new_string: 'export const migrations = [createMemories];',
      },
      { filePath: join(cwd, 'src', 'migrations.ts'), structuredPatch: [] },
    ),
    tool(
      'p-1',
      'toolu_05',
      'Bash',
      { command: 'npx vitest run test/migrations.test.ts' },
      { stdout: 'Test Files  1 passed (1)', stderr: '', interrupted: false, isImage: false },
      1900,
    ),
    [
      'Stop',
      {
        ...base,
        prompt_id: 'p-1',
        stop_hook_active: false,
        last_assistant_message:
          'The migration list was empty, so the memories table was never created. ' +
          'I added the createMemories migration; the test passes now.',
      },
    ],
    [
      'UserPromptSubmit',
      {
        ...base,
        prompt: 'Also add an index on created_at so listing recent memories stays fast.',
        prompt_id: 'p-2',
        permission_mode: 'default',
      },
    ],
    tool(
      'p-2',
      'toolu_06',
      'Edit',
      { file_path: join(cwd, 'src', 'migrations.ts'), old_string: 'a', new_string: 'b' },
      { filePath: join(cwd, 'src', 'migrations.ts') },
    ),
    [
      'Stop',
      {
        ...base,
        prompt_id: 'p-2',
        stop_hook_active: false,
        last_assistant_message: 'Added memories_created index on created_at in a new migration.',
      },
    ],
    ['SessionEnd', { ...base, reason: 'prompt_input_exit' }],
  ];
}
