import { createHash } from 'node:crypto';
import type { SessionFacts } from '../store/capture-store.js';
import type { CaptureStorage } from '../store/storage.js';
import { redact, redactDeep } from '../store/redact.js';
import type { HookInput } from './payload.js';
import type { Project } from './project.js';
import { capText, oneLine, summarizeTool } from './summarize.js';

/** Raw tool payloads are kept redacted and capped at this many characters (head and tail). */
export const PAYLOAD_CAP = 16 * 1024;
const PROMPT_CAP = 32 * 1024;
const ASSISTANT_CAP = 8 * 1024;

/**
 * Turns a hook's input into what the capture tables keep: secrets redacted, long text capped, tool calls summarised,
 * then one store call (one transaction) per event. The SQL is in store/capture-store.ts.
 */
export class Recorder {
  constructor(private readonly store: CaptureStorage) {}

  sessionStart(input: HookInput, project: Project, now: number): { abandoned: string[] } {
    return this.store.sessionStart(facts(input, project), now);
  }

  /** A prompt as it is kept: redacted and capped. */
  promptText(input: HookInput): string {
    return capText(redact(input.prompt ?? ''), PROMPT_CAP).text;
  }

  userPrompt(input: HookInput, project: Project, now: number, text = this.promptText(input)) {
    return this.store.userPrompt(facts(input, project), { promptId: input.promptId, text }, now);
  }

  toolUse(input: HookInput, project: Project, now: number, rawPayload: Buffer): { created: boolean } {
    const toolName = input.toolName ?? 'unknown';
    const summary = summarizeTool(toolName, input.toolInput, input.toolResponse, project.root);
    return this.store.toolUse(
      facts(input, project),
      {
        toolUseId: input.toolUseId ?? `sha:${createHash('sha256').update(rawPayload).digest('hex').slice(0, 24)}`,
        promptId: input.promptId,
        toolName,
        inputSummary: summary.input,
        outcomeSummary: summary.outcome,
        filesRead: summary.filesRead,
        filesChanged: summary.filesChanged,
        isError: summary.isError,
        exitCode: summary.exitCode,
        durationMs: input.durationMs,
        payload: capText(
          JSON.stringify(
            redactDeep({ tool_input: input.toolInput ?? null, tool_response: input.toolResponse ?? null }),
          ),
          PAYLOAD_CAP,
        ),
      },
      now,
    );
  }

  stop(input: HookInput, project: Project, now: number): void {
    const message = input.lastAssistantMessage ? capText(redact(input.lastAssistantMessage), ASSISTANT_CAP).text : null;
    this.store.stop(facts(input, project), { promptId: input.promptId, message }, now);
  }

  sessionEnd(input: HookInput, project: Project, now: number): void {
    this.store.sessionEnd(facts(input, project), oneLine(input.reason ?? 'ended', 200), now);
  }
}

function facts(input: HookInput, project: Project): SessionFacts {
  return {
    sessionId: input.sessionId,
    project: project.root,
    cwd: input.cwd,
    source: input.source,
    model: input.model,
    transcriptPath: input.transcriptPath,
  };
}
