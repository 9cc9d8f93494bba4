import { isAbsolute, relative } from 'node:path';
import { redact } from '../store/redact.js';
import { sliceChars } from '../text.js';

/** One captured tool call, reduced to what a memory needs. All text is redacted. */
export interface ToolSummary {
  input: string;
  outcome: string;
  filesRead: string[];
  filesChanged: string[];
  isError: boolean;
  exitCode: number | null;
}

const INPUT_MAX = 300;
const OUTCOME_MAX = 300;

export const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${sliceChars(flat, 0, max - 1)}…`;
};

const firstLine = (text: string): string =>
  text
    .split('\n')
    .find((l) => l.trim().length > 0)
    ?.trim() ?? '';

/** A path as the project sees it: relative to the project root when inside it. */
export function displayPath(path: string, root: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const s = (v: unknown): string => (typeof v === 'string' ? v : '');
const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Whether a tool call failed and how, from the shapes tool responses come in: an exit status under one of its usual
 * names, an `is_error`/`error` field, an interrupted command, or (for commands) an error written to stderr with nothing
 * on stdout.
 */
function failureOf(tool: string, response: unknown): { isError: boolean; exitCode: number | null; message: string } {
  if (typeof response === 'string') {
    const isError = /^(error|failed)\b/i.test(response.trim());
    return { isError, exitCode: null, message: isError ? firstLine(response) : '' };
  }
  if (response === null || typeof response !== 'object') return { isError: false, exitCode: null, message: '' };
  const r = response as Record<string, unknown>;
  const exitCode = n(r.exitCode) ?? n(r.exit_code) ?? n(r.returncode) ?? n(r.return_code) ?? n(r.code);
  const stderr = s(r.stderr);
  const stdout = s(r.stdout) || s(r.output);
  const errorText = s(r.error) || (typeof r.error === 'object' && r.error ? JSON.stringify(r.error) : '');
  let isError = r.is_error === true || r.isError === true || r.success === false || errorText.length > 0;
  if (exitCode !== null && exitCode !== 0) isError = true;
  if (r.interrupted === true) isError = true;
  if (
    tool === 'Bash' &&
    !isError &&
    stderr.trim() &&
    !stdout.trim() &&
    /error|fail|not found|denied|exception|fatal/i.test(stderr)
  ) {
    isError = true;
  }
  const message = isError
    ? firstLine(errorText || stderr || stdout) || (r.interrupted === true ? 'interrupted' : `exit ${exitCode}`)
    : '';
  return { isError, exitCode, message };
}

/** Reduces a PostToolUse event to its summary: what was asked, what came of it, which files it read or changed. */
export function summarizeTool(
  tool: string,
  input: Record<string, unknown> | undefined,
  response: unknown,
  root: string,
): ToolSummary {
  const i = input ?? {};
  const path = s(i.file_path) || s(i.notebook_path) || s(i.path);
  const shown = path ? displayPath(path, root) : '';
  const filesRead: string[] = [];
  const filesChanged: string[] = [];
  let inputText: string;
  let okOutcome = 'ok';
  switch (tool) {
    case 'Bash':
      inputText = s(i.command);
      if (s(i.description)) okOutcome = 'ok';
      break;
    case 'Read':
      inputText = shown;
      if (shown) filesRead.push(shown);
      okOutcome = 'read';
      break;
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
      inputText = shown;
      if (shown) filesChanged.push(shown);
      okOutcome = tool === 'Write' ? 'written' : 'edited';
      break;
    case 'Grep':
      inputText = `${s(i.pattern)}${shown ? ` in ${shown}` : ''}`;
      break;
    case 'Glob':
      inputText = `${s(i.pattern)}${shown ? ` in ${shown}` : ''}`;
      break;
    case 'WebFetch':
      inputText = s(i.url);
      break;
    case 'WebSearch':
      inputText = s(i.query);
      break;
    case 'Task':
    case 'Agent':
      inputText = s(i.description) || s(i.prompt);
      break;
    case 'TodoWrite':
      inputText = Array.isArray(i.todos) ? `${i.todos.length} todos` : '';
      break;
    default:
      inputText = Object.entries(i)
        .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
  }
  const failure = failureOf(tool, response);
  return {
    input: oneLine(redact(inputText), INPUT_MAX),
    outcome: oneLine(redact(failure.isError ? `failed: ${failure.message}` : okOutcome), OUTCOME_MAX),
    filesRead,
    filesChanged,
    isError: failure.isError,
    exitCode: failure.exitCode,
  };
}

/** Head and tail of a long text around a marker that says how much was cut. */
export function capText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const half = Math.floor((max - 64) / 2);
  const cut = text.length - 2 * half;
  return {
    text: `${sliceChars(text, 0, half)}\n…[mnemo: ${cut} characters cut]…\n${sliceChars(text, text.length - half)}`,
    truncated: true,
  };
}
