/**
 * What Claude Code sends a hook on stdin (one JSON object), read leniently: unknown fields are ignored, missing
 * optional ones are undefined, a wrong type counts as missing. Only `session_id` is required to capture anything.
 */
export interface HookInput {
  sessionId: string;
  transcriptPath?: string;
  cwd?: string;
  eventName?: string;
  // SessionStart
  source?: string;
  model?: string;
  agentType?: string;
  // UserPromptSubmit
  prompt?: string;
  promptId?: string;
  permissionMode?: string;
  // PreToolUse / PostToolUse
  toolName?: string;
  toolInput?: Record<string, unknown>;
  toolUseId?: string;
  toolResponse?: unknown;
  durationMs?: number;
  // Stop
  stopHookActive?: boolean;
  lastAssistantMessage?: string;
  // SessionEnd
  reason?: string;
}

const str = (v: unknown, max = 1_000_000): string | undefined =>
  typeof v === 'string' && v.length > 0 ? (v.length > max ? v.slice(0, max) : v) : undefined;
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * The hook's JSON text with every escaped NUL (`\u0000`) taken out of its strings. A NUL in a prompt or in a failed
 * command's stderr used to reach the compressed memory, which refuses it, and a whole session's summary was parked for
 * one character; capture keeps the rest of the text. (A raw NUL byte is not valid JSON and is refused by the parser.)
 */
export function withoutNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : json;
}

export type ParsedHook = { ok: true; input: HookInput } | { ok: false; reason: string };

export function parseHookInput(payload: Buffer): ParsedHook {
  if (payload.length === 0) return { ok: false, reason: 'empty hook input' };
  let raw: unknown;
  try {
    raw = JSON.parse(withoutNul(payload.toString('utf8')));
  } catch (err) {
    return { ok: false, reason: `hook input is not JSON: ${(err as Error).message}` };
  }
  const o = obj(raw);
  if (!o) return { ok: false, reason: 'hook input is not a JSON object' };
  const sessionId = str(o.session_id, 200);
  if (!sessionId) return { ok: false, reason: 'hook input has no session_id' };
  const promptId = o.prompt_id;
  const input: HookInput = { sessionId };
  const set = <K extends keyof HookInput>(key: K, value: HookInput[K] | undefined) => {
    if (value !== undefined) input[key] = value;
  };
  set('transcriptPath', str(o.transcript_path, 4096));
  set('cwd', str(o.cwd, 4096));
  set('eventName', str(o.hook_event_name, 100));
  set('source', str(o.source, 100));
  set('model', str(o.model, 200) ?? str(obj(o.model)?.id, 200));
  set('agentType', str(o.agent_type, 200));
  set('prompt', str(o.prompt));
  set('promptId', typeof promptId === 'number' ? String(promptId) : str(promptId, 200));
  set('permissionMode', str(o.permission_mode, 100));
  set('toolName', str(o.tool_name, 200));
  set('toolInput', obj(o.tool_input));
  set('toolUseId', str(o.tool_use_id, 200));
  if (o.tool_response !== undefined) input.toolResponse = o.tool_response;
  set(
    'durationMs',
    typeof o.duration_ms === 'number' && Number.isFinite(o.duration_ms) ? Math.round(o.duration_ms) : undefined,
  );
  set('stopHookActive', typeof o.stop_hook_active === 'boolean' ? o.stop_hook_active : undefined);
  set('lastAssistantMessage', str(o.last_assistant_message));
  set('reason', str(o.reason, 200));
  return { ok: true, input };
}
