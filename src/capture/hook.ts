import type { Engine } from '../engine.js';
import { HOOK_EVENTS, type HookEvent } from '../protocol/ops.js';
import type { HookResult } from '../protocol/results.js';
import type { CaptureStorage } from '../store/storage.js';
import { Compressor, type CompressorOptions } from './compress.js';
import { ContextBuilder, DEFAULT_CONTEXT, type ContextConfig } from './context.js';
import { parseHookInput } from './payload.js';
import { projectOf } from './project.js';
import { Recorder } from './record.js';
import { PayloadRetention, type RetentionOptions } from './retention.js';

export { HOOK_EVENTS, type HookEvent };

const NOTHING: HookResult = { stdout: '', exitCode: 0 };

export interface HookHandlerOptions {
  context?: Partial<ContextConfig>;
  compressor?: CompressorOptions;
  retention?: RetentionOptions;
  now?: () => number;
  /** Where capture problems are reported (the daemon log). */
  onProblem?: (what: string, detail: unknown) => void;
}

/**
 * Answers Claude Code's hooks. Every event is captured in one transaction before the reply; SessionStart and
 * UserPromptSubmit then add context. A hook never blocks or breaks the agent: bad input or a failure after capture
 * gives empty output and exit status 0 (and a line in the log), and the exit status is never 2.
 */
export class HookHandler {
  readonly capture: CaptureStorage;
  private readonly recorder: Recorder;
  readonly compressor: Compressor;
  readonly retention: PayloadRetention;
  private readonly context: ContextBuilder;
  private readonly now: () => number;

  constructor(
    engine: Engine,
    private readonly options: HookHandlerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.capture = engine.storage.capture();
    this.recorder = new Recorder(this.capture);
    const problem = (what: string, err: unknown) => options.onProblem?.(what, err);
    this.compressor = new Compressor(engine, this.capture, {
      now: this.now,
      onError: (err, what) => problem(`compression of ${what} failed`, err),
      ...options.compressor,
    });
    this.retention = new PayloadRetention(this.capture, {
      now: this.now,
      onError: (err) => problem('pruning raw tool payloads failed', err),
      ...options.retention,
    });
    this.context = new ContextBuilder(
      engine,
      this.capture,
      { ...DEFAULT_CONTEXT, ...options.context },
      this.now,
      problem,
    );
  }

  start(): void {
    this.compressor.start();
    this.retention.start();
  }

  async stop(): Promise<void> {
    this.context.stop();
    this.context.flush();
    await this.retention.stop();
    await this.compressor.stop();
  }

  async handle(event: HookEvent, payload: Buffer): Promise<HookResult> {
    this.context.hookSeen();
    const parsed = parseHookInput(payload);
    if (!parsed.ok) {
      this.options.onProblem?.(`ignored a ${event} hook`, parsed.reason);
      return NOTHING;
    }
    const input = parsed.input;
    const project = projectOf(input.cwd);
    const now = this.now();
    switch (event) {
      case 'SessionStart': {
        this.recorder.sessionStart(input, project, now);
        if (this.capture.hasPending()) {
          // Finish queued compressions first (sessions just ended or abandoned, the turn before a /clear), so the
          // context can include them. Bounded: the context must not wait long on it.
          await Promise.race([this.compressor.drain(), new Promise((r) => setTimeout(r, 500).unref())]);
        }
        return this.reply(() => this.context.sessionStart(input.sessionId, project, input.source));
      }
      case 'UserPromptSubmit': {
        // The context searches with the prompt as it is kept; a worker starts embedding it now, so the commit that
        // records it (an fsync) runs while it is embedded rather than before.
        const text = this.recorder.promptText(input);
        this.context.embedAhead(text);
        const { prompt } = this.recorder.userPrompt(input, project, now, text);
        this.compressor.wake();
        // The stored prompt is already redacted (and capped): search with exactly that.
        return this.reply(() => this.context.userPrompt(input.sessionId, project, prompt.text, prompt.prompt_number));
      }
      case 'PostToolUse':
        this.recorder.toolUse(input, project, now, payload);
        return NOTHING;
      case 'Stop':
        this.recorder.stop(input, project, now);
        this.compressor.wake();
        return NOTHING;
      case 'SessionEnd':
        this.recorder.sessionEnd(input, project, now);
        this.compressor.wake();
        return NOTHING;
      case 'PreToolUse':
        return NOTHING;
    }
  }

  /** Context is a bonus: if building it fails, the event is still captured and the hook still succeeds. */
  private async reply(build: () => Promise<string>): Promise<HookResult> {
    try {
      return { stdout: await build(), exitCode: 0 };
    } catch (err) {
      this.options.onProblem?.('building context failed', err);
      return NOTHING;
    }
  }
}
