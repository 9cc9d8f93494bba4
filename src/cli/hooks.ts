import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import {
  applyEdits,
  modify,
  parse,
  printParseErrorCode,
  type FormattingOptions,
  type JSONPath,
  type ParseError,
} from 'jsonc-parser';
import { ErrorCode, MnemoError } from '../errors.js';
import { CLIENT_LAUNCHER_PATH, NATIVE_CLIENT_PATH } from '../install-paths.js';

/**
 * Installs mnemo's hooks into Claude Code's settings: project scope in `<project>/.claude/settings.local.json` (kept
 * out of git), user scope in `~/.claude/settings.json`. Idempotent, keeps everything the user had, backs the file up,
 * replaces it atomically, and refuses to touch a file that is not valid JSON.
 */

/** The events mnemo registers, with the `timeout` (seconds) Claude Code enforces on each. */
export const HOOKED_EVENTS: readonly { event: string; timeout: number; matcher?: string }[] = [
  { event: 'SessionStart', timeout: 5 },
  { event: 'UserPromptSubmit', timeout: 3 },
  { event: 'PostToolUse', timeout: 3, matcher: '*' },
  { event: 'Stop', timeout: 3 },
  { event: 'SessionEnd', timeout: 2 },
];

const MARK = /mnemo-client["']?\s+hook\s/;

interface HookCommand {
  type: string;
  command?: string;
  timeout?: number;
  [key: string]: unknown;
}
interface MatcherGroup {
  matcher?: string;
  hooks?: HookCommand[];
  [key: string]: unknown;
}
type Settings = Record<string, unknown> & { hooks?: Record<string, MatcherGroup[]> };

/** The client hooks run: the native binary when it was built, else the launcher that falls back to Node.js. */
export function clientCommand(): string {
  const path = existsSync(NATIVE_CLIENT_PATH) ? NATIVE_CLIENT_PATH : CLIENT_LAUNCHER_PATH;
  return /[\s"'$`\\]/.test(path) ? `'${path.replaceAll("'", "'\\''")}'` : path;
}

export type Scope = 'project' | 'user';

export function settingsPath(scope: Scope, projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return scope === 'user'
    ? join(env.HOME || homedir(), '.claude', 'settings.json')
    : join(projectDir, '.claude', 'settings.local.json');
}

interface SettingsFile {
  path: string;
  /** The file's text, or null when there is no file yet. */
  text: string | null;
  settings: Settings;
  format: FormattingOptions;
}

function readSettings(path: string): SettingsFile {
  const format: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: '\n' };
  if (!existsSync(path)) return { path, text: null, settings: {}, format };
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return { path, text, settings: {}, format };
  const errors: ParseError[] = [];
  const parsed = parse(text, errors, { allowTrailingComma: false, disallowComments: true }) as unknown;
  if (errors.length > 0) {
    throw new MnemoError(
      ErrorCode.BAD_ARGS,
      `${path} is not valid JSON (${printParseErrorCode(errors[0]!.error)} at offset ${errors[0]!.offset}); ` +
        'fix it first, mnemo left it untouched',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MnemoError(ErrorCode.BAD_ARGS, `${path} does not hold a JSON object; mnemo left it untouched`);
  }
  const hooks = (parsed as Settings).hooks;
  if (hooks !== undefined && (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks))) {
    throw new MnemoError(ErrorCode.BAD_ARGS, `${path}: "hooks" is not an object; mnemo left the file untouched`);
  }
  // New text is written in the file's own style: its indentation and line ends.
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  if (indent?.startsWith('\t')) format.insertSpaces = false;
  else if (indent) format.tabSize = indent.length;
  if (text.includes('\r\n')) format.eol = '\r\n';
  return { path, text, settings: parsed as Settings, format };
}

/**
 * Edits the text in place (jsonc-parser computes the smallest edit for one path), so what mnemo does not touch keeps
 * its bytes: the user's other settings and their own hooks.
 */
function edit(file: SettingsFile, path: JSONPath, value: unknown, isArrayInsertion = false): void {
  const text = file.text ?? '{}\n';
  const edits = modify(text, path, value, { formattingOptions: file.format, isArrayInsertion });
  file.text = applyEdits(text, edits);
  file.settings = parse(file.text) as Settings;
}

/**
 * The copy of a settings file as it was before mnemo first changed it. Empty when there was no file: mnemo made it,
 * so uninstalling removes it again when nothing but mnemo's hooks was ever in it.
 */
export const backupOf = (path: string): string => `${path}.mnemo-backup`;

/**
 * Writes via a temp file and rename; nothing is written if nothing changed. An install's first change keeps a backup
 * of the file as it was; a backup already there is never overwritten (it is the user's original, not mnemo's last
 * edit), and an uninstall never makes one (it would hold mnemo's own hooks).
 */
function writeSettings(file: SettingsFile, before: string | null, text: string | null, backup: boolean): boolean {
  if (text === null || text === before) return false;
  mkdirSync(dirname(file.path), { recursive: true });
  const mode = before !== null ? statSync(file.path).mode & 0o777 : 0o644;
  if (backup && !existsSync(backupOf(file.path))) {
    if (before !== null) copyFileSync(file.path, backupOf(file.path));
    else writeFileSync(backupOf(file.path), '', { mode });
  }
  const tmp = `${file.path}.mnemo-${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file.path);
  return true;
}

/** Whether two JSON texts hold the same value (key order aside). */
function sameJson(a: string, b: string): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  try {
    return JSON.stringify(canon(parse(a))) === JSON.stringify(canon(parse(b)));
  } catch {
    return false;
  }
}

/** A new file ends with a newline; an existing one keeps whether it had one. */
function withFinalNewline(text: string | null, before: string | null): string | null {
  if (text === null) return null;
  const wanted = before === null || before.endsWith('\n');
  if (wanted && !text.endsWith('\n')) return `${text}\n`;
  if (!wanted && text.endsWith('\n')) return text.replace(/\r?\n$/, '');
  return text;
}

const isOurs = (h: unknown): boolean =>
  typeof (h as HookCommand | undefined)?.command === 'string' && MARK.test((h as HookCommand).command!);

/** Where mnemo's commands sit under one event: [group index, hook index], in order. */
function oursIn(groups: unknown): [number, number][] {
  if (!Array.isArray(groups)) return [];
  const out: [number, number][] = [];
  groups.forEach((g: MatcherGroup, gi) => {
    if (g && Array.isArray(g.hooks)) g.hooks.forEach((h, hi) => isOurs(h) && out.push([gi, hi]));
  });
  return out;
}

/** Removes mnemo's commands under one event; a group left empty by that goes, and so does an event left empty. */
function removeOurs(file: SettingsFile, event: string): number {
  const places = oursIn(file.settings.hooks?.[event]);
  for (const [gi, hi] of [...places].reverse()) {
    const group = file.settings.hooks![event]![gi]!;
    if (group.hooks!.length === 1) edit(file, ['hooks', event, gi], undefined);
    else edit(file, ['hooks', event, gi, 'hooks', hi], undefined);
  }
  if (places.length > 0 && Array.isArray(file.settings.hooks?.[event]) && file.settings.hooks[event].length === 0) {
    edit(file, ['hooks', event], undefined);
    if (file.settings.hooks && Object.keys(file.settings.hooks).length === 0) edit(file, ['hooks'], undefined);
  }
  return places.length;
}

export interface InstallResult {
  path: string;
  changed: boolean;
  events: string[];
  gitignore?: string;
}

export function installHooks(scope: Scope, projectDir: string, env: NodeJS.ProcessEnv = process.env): InstallResult {
  const path = settingsPath(scope, projectDir, env);
  const file = readSettings(path);
  const before = file.text;
  const command = clientCommand();
  for (const { event, timeout, matcher } of HOOKED_EVENTS) {
    const entry: HookCommand = { type: 'command', command: `${command} hook ${event}`, timeout };
    const groups = file.settings.hooks?.[event];
    const places = oursIn(groups);
    if (places.length === 0) {
      const group: MatcherGroup = matcher === undefined ? { hooks: [entry] } : { matcher, hooks: [entry] };
      if (Array.isArray(groups)) edit(file, ['hooks', event, -1], group, true);
      else edit(file, ['hooks', event], [group]);
      continue;
    }
    // Already there: bring the first entry up to date (a moved installation) and drop any duplicates.
    const [gi, hi] = places[0]!;
    for (const [dgi, dhi] of places.slice(1).reverse()) {
      const group = file.settings.hooks![event]![dgi]!;
      if (group.hooks!.length === 1) edit(file, ['hooks', event, dgi], undefined);
      else edit(file, ['hooks', event, dgi, 'hooks', dhi], undefined);
    }
    if (JSON.stringify(file.settings.hooks![event]![gi]!.hooks![hi]) !== JSON.stringify(entry)) {
      edit(file, ['hooks', event, gi, 'hooks', hi], entry);
    }
  }
  const changed = writeSettings(file, before, withFinalNewline(file.text, before), true);
  const result: InstallResult = { path, changed, events: HOOKED_EVENTS.map((h) => h.event) };
  if (scope === 'project') {
    const ignored = ensureGitIgnored(projectDir, path);
    if (ignored) result.gitignore = ignored;
  }
  return result;
}

export function uninstallHooks(
  scope: Scope,
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; removed: number } {
  const path = settingsPath(scope, projectDir, env);
  if (!existsSync(path)) return { path, removed: 0 };
  const file = readSettings(path);
  const before = file.text;
  let removed = 0;
  for (const event of Object.keys(file.settings.hooks ?? {})) removed += removeOurs(file, event);
  if (removed === 0) return { path, removed };
  // When what is left is exactly what was there before mnemo's first change, the user's own bytes go back (a compact
  // array, `{}`, a missing final newline: an edit-based removal would reformat them). Otherwise the smallest edit.
  const backup = existsSync(backupOf(path)) ? readFileSync(backupOf(path), 'utf8') : null;
  if (backup === '') {
    // mnemo made this file: if only mnemo's hooks were ever in it, it goes; else the user's additions stay, and the
    // file is theirs now (no marker left).
    if (Object.keys(file.settings).length === 0) rmSync(path);
    else writeSettings(file, before, withFinalNewline(file.text, before), false);
    rmSync(backupOf(path), { force: true });
    return { path, removed };
  }
  const original = backup !== null && file.text !== null && sameJson(backup, file.text) ? backup : null;
  writeSettings(file, before, original ?? withFinalNewline(file.text, before), false);
  if (original !== null) rmSync(backupOf(path), { force: true });
  return { path, removed };
}

/** Which mnemo hooks a settings file has (by event), or null when it has none or does not exist. */
export function installedEvents(path: string): string[] | null {
  if (!existsSync(path)) return null;
  let settings: Settings;
  try {
    settings = readSettings(path).settings;
  } catch {
    return null;
  }
  const events = Object.entries(settings.hooks ?? {})
    .filter(([, groups]) => oursIn(groups).length > 0)
    .map(([event]) => event);
  return events.length > 0 ? events : null;
}

/**
 * Keeps the project-local settings out of git: adds the path to the project's .gitignore unless a line there already
 * covers it. Returns the .gitignore written, if any.
 */
function ensureGitIgnored(projectDir: string, settingsFile: string): string | undefined {
  if (!existsSync(join(projectDir, '.git'))) return undefined;
  const gitignore = join(projectDir, '.gitignore');
  const rel = relative(projectDir, settingsFile).split('\\').join('/');
  const existing = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const covered = existing
    .split('\n')
    .map((l) => l.trim())
    .some(
      (l) =>
        l === rel ||
        l === `/${rel}` ||
        l === '.claude/' ||
        l === '.claude' ||
        l === '/.claude/' ||
        l === '*.local.json' ||
        l === '.claude/*.local.json' ||
        l === 'settings.local.json',
    );
  const backupCovered = existing
    .split('\n')
    .map((l) => l.trim())
    .some(
      (l) =>
        l === `${rel}.mnemo-backup` ||
        l === `/${rel}.mnemo-backup` ||
        l === '*.mnemo-backup' ||
        l === '.claude/' ||
        l === '.claude' ||
        l === '/.claude/',
    );
  const lines = [...(covered ? [] : [rel]), ...(backupCovered ? [] : [`${rel}.mnemo-backup`])];
  if (lines.length === 0) return undefined;
  const separator = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
  appendFileSync(
    gitignore,
    `${separator}# mnemo hooks (per machine) and the backup of that file\n${lines.join('\n')}\n`,
  );
  return gitignore;
}

/** The project a command run in `cwd` is about: the git work tree above it, else `cwd`. */
export function projectDirOf(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd);
    dir = parent;
  }
}
