import type { Engine, FullHit, Listing } from '../engine.js';
import { preview, type CompactMemory } from '../search/compact.js';
import { renderCompact } from '../search/render.js';
import type { Memory } from '../store/types.js';
import type { CaptureStore } from './capture-store.js';
import { gist } from './compress.js';
import { currentBranch, recentCommitSubjects, type Project } from './project.js';

/** How much context mnemo adds, from `context` in config.json. */
export interface ContextConfig {
  /** Token budget of the SessionStart block (cl100k tokens). */
  sessionStartBudget: number;
  sessionStartMax: number;
  /** Token budget of a UserPromptSubmit injection. */
  promptBudget: number;
  promptMax: number;
  /** A memory is injected for a prompt when its cosine similarity reaches this... */
  promptMinSimilarity: number;
  /** ...or its keyword score does (BM25 s mapped to s / (1 + s)). */
  promptMinKeyword: number;
}

export const DEFAULT_CONTEXT: ContextConfig = {
  sessionStartBudget: 600,
  sessionStartMax: 8,
  promptBudget: 300,
  promptMax: 3,
  promptMinSimilarity: 0.45,
  promptMinKeyword: 0.5,
};

/** Branch names that say nothing about the work on them. */
const PLAIN_BRANCHES = new Set(['main', 'master', 'trunk', 'develop', 'dev', 'HEAD']);

const full = (l: Listing): FullHit[] => (l.format === 'full' ? l.results : []);

/** The compact line form for context, minus the tags every memory of a project carries anyway. */
function toCompact(m: Memory & { score?: number }, project: Project): CompactMemory {
  const noise = new Set([project.name.toLowerCase(), 'observation', 'session-summary']);
  return {
    hash: m.hash.slice(0, 8),
    preview: preview(m.content),
    tags: m.tags.filter((t) => !noise.has(t)).slice(0, 3),
    type: m.type,
    created: m.createdAt,
  };
}

/** hookSpecificOutput JSON for Claude Code, or nothing. */
export function additionalContext(event: 'SessionStart' | 'UserPromptSubmit', text: string): string {
  if (!text) return '';
  return JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: text } });
}

/**
 * Builds what the agent is told. SessionStart: several sources answered in one round (their query texts embedded in
 * one model call), merged without duplicates in priority order, rendered within the budget. UserPromptSubmit: the
 * project's memories that clear a relevance bar for the prompt, never one this session was already given.
 */
export class ContextBuilder {
  constructor(
    private readonly engine: Engine,
    private readonly capture: CaptureStore,
    private readonly config: ContextConfig = DEFAULT_CONTEXT,
    private readonly now: () => number = Date.now,
  ) {}

  async sessionStart(sessionId: string, project: Project, source: string | undefined): Promise<string> {
    const e = this.engine;
    const base = { project: project.root, format: 'full' };
    const branch = currentBranch(project);
    const subjects = recentCommitSubjects(project, 5);
    const lastSummary = full(await e.list({ ...base, type: 'session-summary', limit: 1 }));
    const branchQuery = [branch && !PLAIN_BRANCHES.has(branch) ? branch.replace(/[-_/]+/g, ' ') : '', ...subjects].filter(Boolean).join('\n');
    const projectQuery = [project.name, branch && !PLAIN_BRANCHES.has(branch) ? branch : '', gist(lastSummary[0]?.content, 200)].filter(Boolean).join(' ');
    if (projectQuery) await e.prepareQueries([projectQuery]);

    const sections: FullHit[][] = [];
    if (source === 'compact' || source === 'clear' || source === 'resume') {
      // The agent lost (or is picking up) this session's own context: its recent turns come first. After /clear the
      // session has a new id, so "its own" turns are those of the session it replaced.
      const own = full(await e.list({ ...base, sessionId: sessionId, type: 'observation', limit: 5 }));
      const previous = source === 'clear' ? this.capture.previousSession(project.root, sessionId) : undefined;
      if (own.length === 0 && previous) own.push(...full(await e.list({ ...base, sessionId: previous.id, type: 'observation', limit: 5 })));
      sections.push(own);
    }
    sections.push(lastSummary.filter((m) => m.sessionId !== sessionId));
    sections.push(full(await e.list({ ...base, tags: ['decision', 'important'], limit: 4 })));
    sections.push(full(await e.list({ tags: ['decision', 'important'], format: 'full', limit: 8 })).filter((m) => m.project === null).slice(0, 2));
    // Branch names and commit subjects are literal words (file, ticket and feature names): a keyword match, which
    // also keeps SessionStart fast (a hybrid search here cost 6 ms of its 12 at 10k memories, measured).
    if (branchQuery) sections.push(full(await e.search({ ...base, query: branchQuery, mode: 'keyword', limit: 4 })));
    sections.push(full(await e.list({ ...base, limit: 6 })).filter((m) => m.type !== 'session-summary'));
    if (projectQuery) sections.push(full(await e.search({ ...base, query: projectQuery, mode: 'semantic', limit: 4 })).filter((m) => (m.scores.semantic ?? 0) >= 0.3));

    const seen = new Set<string>();
    const picked: FullHit[] = [];
    for (const section of sections) {
      for (const m of section) {
        if (seen.has(m.hash) || picked.length >= this.config.sessionStartMax) continue;
        seen.add(m.hash);
        picked.push(m);
      }
    }
    return this.render('SessionStart', sessionId, picked, project, this.config.sessionStartBudget, (n) => `mnemo: ${n} ${n === 1 ? 'memory' : 'memories'} from ${project.name} (\`mnemo get <hash>\` shows one in full)`);
  }

  async userPrompt(sessionId: string, project: Project, prompt: string): Promise<string> {
    const words = prompt.trim().split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w));
    if (words.length < 3) return '';
    const given = this.capture.given(sessionId);
    const hits = full(await this.engine.search({ query: prompt.slice(0, 2000), project: project.root, mode: 'hybrid', limit: 10, format: 'full' }));
    const relevant = hits.filter(
      (m) =>
        m.sessionId !== sessionId &&
        !given.has(m.hash) &&
        ((m.scores.semantic ?? 0) >= this.config.promptMinSimilarity || (m.scores.keyword ?? 0) >= this.config.promptMinKeyword),
    );
    return this.render('UserPromptSubmit', sessionId, relevant.slice(0, this.config.promptMax), project, this.config.promptBudget, (n) => `mnemo: ${n} related ${n === 1 ? 'memory' : 'memories'}`);
  }

  /** Renders within the budget, header included, and records what the session was given. */
  private render(
    event: 'SessionStart' | 'UserPromptSubmit',
    sessionId: string,
    memories: FullHit[],
    project: Project,
    budget: number,
    header: (n: number) => string,
  ): string {
    if (memories.length === 0) return '';
    const compact = memories.map((m) => toCompact(m, project));
    // The header's count is only known after rendering; reserve room with the widest count, then put the real one in.
    const widest = header(memories.length);
    const r = renderCompact(compact, { budget, now: this.now(), header: widest, scores: false });
    if (r.shown === 0) return '';
    const text = r.text.replace(widest, header(r.shown)).replace(/\n\(\+\d+ more\)$/, '');
    this.capture.recordGiven(
      sessionId,
      memories.slice(0, r.shown).map((m) => m.hash),
      this.now(),
    );
    return additionalContext(event, text);
  }
}
