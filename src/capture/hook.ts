import { badArgs } from '../errors.js';
import type { HookResult } from '../protocol/messages.js';

/** The Claude Code lifecycle events mnemo answers. */
export const HOOK_EVENTS = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'SessionEnd'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Checks a hook request: a known event and the hook's raw stdin (bytes or text). */
export function parseHookArgs(args: Record<string, unknown>): { event: HookEvent; payload: Buffer } {
  const { event, payload } = args;
  if (typeof event !== 'string' || !(HOOK_EVENTS as readonly string[]).includes(event)) {
    throw badArgs(`\`event\` must be one of ${HOOK_EVENTS.join(', ')}, got ${JSON.stringify(event)}`);
  }
  if (payload === undefined || payload === null) return { event: event as HookEvent, payload: Buffer.alloc(0) };
  if (typeof payload === 'string') return { event: event as HookEvent, payload: Buffer.from(payload, 'utf8') };
  if (payload instanceof Uint8Array) return { event: event as HookEvent, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) };
  throw badArgs('`payload` must be the hook input as bytes or text');
}

/**
 * Answers a hook. Capture and context injection come with the capture work; until then every event is acknowledged
 * with empty output and exit status 0, which Claude Code treats as "nothing to add".
 */
export function handleHook(_event: HookEvent, _payload: Buffer): HookResult {
  return { stdout: '', exitCode: 0 };
}
