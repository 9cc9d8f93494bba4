import type { Engine, Hit } from '../engine.js';
import type { CompactMemory, Memory } from '../protocol/results.js';
import { compactOf } from '../search/compact.js';
import { DEFAULT_RELEVANCE_BAR, relevantHits, type RelevanceBar } from '../search/relevance.js';
import { renderCompact } from '../search/render.js';
import type { CaptureStorage } from '../store/storage.js';
import type { MemoryFilter } from '../store/types.js';
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
  /**
   * The relevance bar (search/relevance.ts): a prompt gets memories only when the best keyword score (BM25 s mapped
   * to s / (1 + s)) reaches the bar for the store's size (promptMinKeyword at 2,760 memories; lower for a smaller
   * store, where BM25 scores run lower), or the best cosine stands promptMinSemanticLead above the ranking's median;
   * then those within half the best fused score.
   */
  promptMinKeyword: number;
  promptMinSemanticLead: number;
}

export const DEFAULT_CONTEXT: ContextConfig = {
  sessionStartBudget: 600,
  sessionStartMax: 8,
  promptBudget: 300,
  promptMax: DEFAULT_RELEVANCE_BAR.max,
  promptMinKeyword: DEFAULT_RELEVANCE_BAR.minKeyword,
  promptMinSemanticLead: DEFAULT_RELEVANCE_BAR.minSemanticLead,
};

/**
 * How often remembered SessionStart picks are checked for changes; they are prepared again once the change has been
 * still for one check and no hook has come for as long (the preparation's searches run on the daemon's one thread).
 */
const PREPARE_INTERVAL_MS = 1000;
/** Projects whose SessionStart picks are kept prepared. */
const PREPARED_PROJECTS = 16;

interface StartKey {
  text: string;
  branch: string | null;
  subjects: string[];
}

/** SessionStart sources after which the session's own recent turns come first (the agent lost or resumes them). */
const OWN_TURNS_FIRST = new Set(['compact', 'clear', 'resume']);

/** Branch names that say nothing about the work on them. */
const PLAIN_BRANCHES = new Set(['main', 'master', 'trunk', 'develop', 'dev', 'HEAD']);

/** The compact line form for context, minus the tags every memory of a project carries anyway. */
function toCompact(m: Memory, project: Project): CompactMemory {
  const noise = new Set([project.name.toLowerCase(), 'observation', 'session-summary']);
  return compactOf(m, { tags: m.tags.filter((t) => !noise.has(t)).slice(0, 3) });
}

const words = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);

/**
 * Whether two memories (their word sets) say the same thing: nearly all the words of the shorter are in the longer,
 * and the longer is not much more than that (at most twice the words). A one-turn session's summary and its only turn
 * are one (measured on one: 93% of the turn's words in the summary, 0.64 of its size); a many-turn summary, which
 * holds every turn's words and far more, does not swallow its turns.
 */
function nearDuplicate(x: Set<string>, y: Set<string>): boolean {
  const [small, large] = x.size <= y.size ? [x, y] : [y, x];
  if (small.size === 0 || small.size < large.size / 2) return false;
  let inside = 0;
  for (const w of small) if (large.has(w)) inside++;
  return inside / small.size >= 0.85;
}

/**
 * The first `max` memories in order with repeats left out: the same hash, or a near-duplicate of one already kept.
 * Each memory's words are read once.
 */
export function distinct(memories: Memory[], max = Number.POSITIVE_INFINITY): Memory[] {
  const kept: { memory: Memory; words: Set<string> }[] = [];
  for (const memory of memories) {
    if (kept.length >= max) break;
    if (kept.some((k) => k.memory.hash === memory.hash)) continue;
    const w = words(memory.content);
    if (!kept.some((k) => nearDuplicate(k.words, w))) kept.push({ memory, words: w });
  }
  return kept.map((k) => k.memory);
}

/** hookSpecificOutput JSON for Claude Code, or nothing. */
function additionalContext(event: 'SessionStart' | 'UserPromptSubmit', text: string): string {
  if (!text) return '';
  return JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: text } });
}

/**
 * Builds what the agent is told. SessionStart: several sources answered in one round (their query texts embedded in
 * one model call), merged without duplicates in priority order, rendered within the budget. UserPromptSubmit: the
 * project's memories that clear a relevance bar for the prompt, never one this session was already given.
 */
export class ContextBuilder {
  /**
   * Injections told but not written yet (see render). What they gave already counts as given to their session, so a
   * memory is never given twice; flush() writes them.
   */
  private readonly unwritten: { sessionId: string; hashes: readonly string[]; write: () => void }[] = [];

  /**
   * SessionStart's picks per project, kept with what they were picked from (startKey) and prepared again after the
   * memories change (prepareChanged): a SessionStart whose key still matches only reads them back and renders them.
   * `seen` is the key at the last check, so a change is prepared only once it has been still for an interval.
   */
  private readonly prepared = new Map<string, { key: string; seen: string; hashes: string[]; project: Project }>();
  private prepareTimer: NodeJS.Timeout | null = null;
  private preparing = false;
  private stopped = false;
  /** The store's change mark at the last check (prepareChanged). */
  private checkedMark: string | null = null;
  /** When the last hook came (performance.now()). */
  private lastHook = Number.NEGATIVE_INFINITY;

  /** The prompt hook's relevance bar, from the config (its keyword bar scaled as the default one is). */
  private readonly promptBar: RelevanceBar;

  constructor(
    private readonly engine: Engine,
    private readonly capture: CaptureStorage,
    private readonly config: ContextConfig = DEFAULT_CONTEXT,
    private readonly now: () => number = Date.now,
    private readonly onProblem: (what: string, err: unknown) => void = () => {},
  ) {
    const scale = config.promptMinKeyword / DEFAULT_RELEVANCE_BAR.minKeyword;
    this.promptBar = {
      ...DEFAULT_RELEVANCE_BAR,
      minKeyword: config.promptMinKeyword,
      minKeywordPerLogN: DEFAULT_RELEVANCE_BAR.minKeywordPerLogN * scale,
      minSemanticLead: config.promptMinSemanticLead,
      max: config.promptMax,
    };
  }

  /** Writes the injections still waiting; the hook handler calls it before the database closes. */
  flush(): void {
    for (const w of this.unwritten.splice(0)) {
      try {
        w.write();
      } catch (err) {
        this.onProblem('recording what was injected failed', err);
      }
    }
  }

  /** The hashes of the memories this session was given: written, or told and waiting to be written. */
  private given(sessionId: string): Set<string> {
    const given = this.capture.given(sessionId);
    for (const w of this.unwritten) if (w.sessionId === sessionId) for (const h of w.hashes) given.add(h);
    return given;
  }

  async sessionStart(sessionId: string, project: Project, source: string | undefined): Promise<string> {
    // After /compact, /clear or a resume the session's own turns come first: always picked on the spot.
    const own = OWN_TURNS_FIRST.has(source ?? '');
    const key = this.startKey(project);
    let picked: Memory[] | null = null;
    const ready = own ? undefined : this.prepared.get(project.root);
    if (ready && ready.key === key.text) {
      // Read again by hash: counted as read, and should one be gone after all, picked anew.
      const again = this.engine.byHashes(ready.hashes);
      if (again.length === ready.hashes.length && again.every((m) => m.sessionId !== sessionId)) picked = again;
    }
    if (!picked) {
      picked = await this.pickAtStart(sessionId, project, source, key, true);
      if (!own) this.remember(project, key, picked);
    }
    return this.render(
      'SessionStart',
      sessionId,
      null,
      picked,
      project,
      this.config.sessionStartBudget,
      (n) =>
        `mnemo: ${n} ${n === 1 ? 'memory' : 'memories'} from ${project.name} (\`mnemo get <hash>\` shows one in full)`,
    );
  }

  /**
   * What SessionStart's picks depend on besides the session: the memories (their change mark), the branch and the
   * latest commit subjects (two small file reads).
   */
  private startKey(project: Project): StartKey {
    const branch = currentBranch(project);
    const subjects = recentCommitSubjects(project, 5);
    return { text: [this.engine.storage.changeMark(), branch ?? '', ...subjects].join('\n'), branch, subjects };
  }

  private remember(project: Project, key: StartKey, picked: Memory[]): void {
    if (!this.prepared.has(project.root) && this.prepared.size >= PREPARED_PROJECTS)
      this.prepared.delete(this.prepared.keys().next().value!);
    this.prepared.set(project.root, { key: key.text, seen: key.text, hashes: picked.map((m) => m.hash), project });
    if (!this.prepareTimer && !this.stopped) {
      this.prepareTimer = setInterval(() => void this.prepareChanged(), PREPARE_INTERVAL_MS);
      this.prepareTimer.unref();
    }
  }

  /**
   * SessionStart's picks prepared again, off the hook path, for each remembered project whose memories changed (and
   * its branch or commits, read then), once they have been still for one interval (compression writes in bursts) and
   * no hook has come for as long (a hook must not wait behind the preparation's searches). Nothing is counted as read
   * until a SessionStart gives it.
   */
  private async prepareChanged(): Promise<void> {
    if (this.preparing || this.stopped || performance.now() - this.lastHook < PREPARE_INTERVAL_MS) return;
    // The common case, an idle daemon: the memories have not changed since the last check and nothing waits to be
    // prepared, so no file is read. (A branch switch or a commit alone is then seen by the next SessionStart itself.)
    const mark = this.engine.storage.changeMark();
    if (mark === this.checkedMark && ![...this.prepared.values()].some((e) => e.seen !== e.key)) return;
    this.checkedMark = mark;
    this.preparing = true;
    try {
      for (const entry of [...this.prepared.values()]) {
        const key = this.startKey(entry.project);
        if (key.text === entry.key) continue;
        if (key.text !== entry.seen) {
          entry.seen = key.text;
          continue;
        }
        const picked = await this.pickAtStart('', entry.project, 'startup', key, false);
        if (this.stopped) return;
        this.remember(entry.project, key, picked);
      }
    } catch (err) {
      if (!this.stopped) this.onProblem('preparing the SessionStart context failed', err);
    } finally {
      this.preparing = false;
    }
  }

  /** The hook handler tells of each hook: context is prepared ahead only between them, never beside one. */
  hookSeen(): void {
    this.lastHook = performance.now();
  }

  /** Stops preparing context ahead; the hook handler calls it when the daemon stops. */
  stop(): void {
    this.stopped = true;
    if (this.prepareTimer) clearInterval(this.prepareTimer);
    this.prepareTimer = null;
  }

  /** SessionStart's memories: several sources answered in one round, merged without duplicates in priority order. */
  private async pickAtStart(
    sessionId: string,
    project: Project,
    source: string | undefined,
    { branch, subjects }: StartKey,
    countAccess: boolean,
  ): Promise<Memory[]> {
    const e = this.engine;
    const inProject = { project: project.root };
    const list = (filter: MemoryFilter, limit: number) => e.list(filter, limit, 0, countAccess);
    const lastSummary = list({ ...inProject, types: ['session-summary'] }, 1);
    const topicBranch = branch && !PLAIN_BRANCHES.has(branch) ? branch : '';
    const branchQuery = [topicBranch.replace(/[-_/]+/g, ' '), ...subjects].filter(Boolean).join('\n');
    const projectQuery = [project.name, topicBranch, gist(lastSummary[0]?.content, 200)].filter(Boolean).join(' ');
    // Started first: a worker embeds the project query while this thread reads the listings and runs the keyword
    // search, and the semantic search finishes when it is awaited below.
    const near = projectQuery
      ? e.search({ text: projectQuery, mode: 'semantic', limit: 4, filter: inProject, countAccess })
      : undefined;
    void near?.catch(() => {});
    const memories = (r: { hits: Hit[] }) => r.hits.map((h) => h.memory);

    const sections: Memory[][] = [];
    if (OWN_TURNS_FIRST.has(source ?? '')) {
      // The agent lost (or is picking up) this session's own context: its recent turns come first. After /clear the
      // session has a new id, so "its own" turns are those of the session it replaced.
      const turns = (id: string) => list({ ...inProject, sessionId: id, types: ['observation'] }, 5);
      const own = turns(sessionId);
      const previous = source === 'clear' ? this.capture.previousSession(project.root, sessionId) : undefined;
      if (own.length === 0 && previous) own.push(...turns(previous.id));
      sections.push(own);
    }
    sections.push(lastSummary.filter((m) => m.sessionId !== sessionId));
    const flagged = { tags: ['decision', 'important'] };
    sections.push(list({ ...inProject, ...flagged }, 4));
    sections.push(
      list(flagged, 8)
        .filter((m) => m.project === null)
        .slice(0, 2),
    );
    // Branch names and commit subjects are literal words (file, ticket and feature names): a keyword match, which
    // also keeps SessionStart fast (a hybrid search here cost 6 ms of its 12 at 10k memories, measured).
    if (branchQuery)
      sections.push(
        memories(await e.search({ text: branchQuery, mode: 'keyword', limit: 4, filter: inProject, countAccess })),
      );
    sections.push(list(inProject, 6).filter((m) => m.type !== 'session-summary'));
    if (near) sections.push((await near).hits.filter((h) => (h.semantic ?? 0) >= 0.3).map((h) => h.memory));
    return distinct(sections.flat(), this.config.sessionStartMax);
  }

  /**
   * What the prompt hook searches with, or null for a prompt of fewer than 3 words with a letter or digit. Asked twice
   * per prompt (embedAhead, userPrompt): it reads words only until it has 3, not a long prompt whole.
   */
  private promptQuery(prompt: string): string | null {
    let words = 0;
    for (const [word] of prompt.matchAll(/\S+/g)) if (/[\p{L}\p{N}]/u.test(word) && ++words === 3) break;
    return words < 3 ? null : prompt.slice(0, 2000);
  }

  /** Starts embedding the prompt's query ahead of userPrompt (see Engine.embedAhead). */
  embedAhead(prompt: string): void {
    const query = this.promptQuery(prompt);
    if (query !== null) this.engine.embedAhead(query);
  }

  async userPrompt(
    sessionId: string,
    project: Project,
    prompt: string,
    promptNumber: number | null = null,
  ): Promise<string> {
    const query = this.promptQuery(prompt);
    if (query === null) return '';
    const given = this.given(sessionId);
    const { hits } = await this.engine.search({
      text: query,
      mode: 'hybrid',
      limit: 10,
      filter: { project: project.root },
    });
    const candidates = hits.filter((h) => h.memory.sessionId !== sessionId && !given.has(h.memory.hash));
    const relevant = distinct(
      relevantHits(candidates, this.promptBar, this.engine.storage.memoryCount).map((h) => h.memory),
    );
    return this.render(
      'UserPromptSubmit',
      sessionId,
      promptNumber,
      relevant,
      project,
      this.config.promptBudget,
      (n) => `mnemo: ${n} related ${n === 1 ? 'memory' : 'memories'}`,
    );
  }

  /** Renders within the budget, header included, and records what the session was given and the text it was told. */
  private render(
    event: 'SessionStart' | 'UserPromptSubmit',
    sessionId: string,
    promptNumber: number | null,
    memories: Memory[],
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
    // Recorded after the reply is on its way: it is a second commit (a second fsync) that the agent need not wait
    // for. Until then the session's given set includes it (this.given), so the next hook already sees it.
    const hashes = memories.slice(0, r.shown).map((m) => m.hash);
    const at = this.now();
    if (this.unwritten.length === 0) setImmediate(() => this.flush());
    this.unwritten.push({
      sessionId,
      hashes,
      write: () => this.capture.recordInjection(sessionId, event, promptNumber, hashes, text, at),
    });
    return additionalContext(event, text);
  }
}
