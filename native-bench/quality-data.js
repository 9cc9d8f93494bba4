// The LoCoMo development half as the retrieval protocol reads it (../shared/eval/locomo-dev/README.md): turns as
// memories, questions with their evidence ids cleaned, and a reference Okapi BM25 to compare against in the same run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './lib.js';

/** Where the data is read from; never copied into the repository (CC BY-NC 4.0). */
export const DEFAULT_DATA =
  process.env.MNEMO_LOCOMO ?? join(REPO, '..', 'shared', 'eval', 'locomo-dev', 'locomo-dev.json');

export const CATEGORIES = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop', 5: 'adversarial' };

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** "1:56 pm on 8 May, 2023" as milliseconds (read as UTC: only the order and spacing of sessions matter here). */
export function sessionTime(text) {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})/i.exec(text ?? '');
  if (!m) throw new Error(`unreadable session date: ${JSON.stringify(text)}`);
  const month = MONTHS.indexOf(m[5].toLowerCase());
  if (month < 0) throw new Error(`unreadable month in ${JSON.stringify(text)}`);
  const hour = (Number(m[1]) % 12) + (m[3].toLowerCase() === 'pm' ? 12 : 0);
  return Date.UTC(Number(m[6]), month, Number(m[4]), hour, Number(m[2]));
}

/** `D<session>:<turn>` with plain numbers ("D30:05" is D30:5), or null. */
const normalId = (id) => {
  const m = /^D(\d+):(\d+)$/.exec(id.trim());
  return m ? `D${Number(m[1])}:${Number(m[2])}` : null;
};

/**
 * One conversation: its turns (content "<speaker>: <text>", created at the session's time plus one second a turn so
 * the order within a session is kept) and its questions with the evidence ids that exist in it.
 */
export function readConversation(sample) {
  const c = sample.conversation;
  const turns = [];
  const sessions = Object.keys(c)
    .map((k) => /^session_(\d+)$/.exec(k))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const n of sessions) {
    const at = sessionTime(c[`session_${n}_date_time`]);
    c[`session_${n}`].forEach((turn, i) => {
      turns.push({
        diaId: normalId(turn.dia_id) ?? turn.dia_id,
        session: n,
        content: `${turn.speaker}: ${turn.text}`,
        createdAt: at + i * 1000,
      });
    });
  }
  const known = new Set(turns.map((t) => t.diaId));
  const questions = [];
  for (const qa of sample.qa) {
    const evidence = [
      ...new Set(
        (qa.evidence ?? [])
          .flatMap((e) => String(e).split(/[;,\s]+/))
          .map((e) => normalId(e))
          .filter((e) => e && known.has(e)),
      ),
    ];
    if (evidence.length > 0) questions.push({ question: String(qa.question), category: Number(qa.category), evidence });
  }
  return { id: sample.sample_id, speakers: [c.speaker_a, c.speaker_b], turns, questions };
}

/** The conversations of the file, or null when it is absent. */
export function loadLocomo(path = DEFAULT_DATA, only) {
  if (!existsSync(path)) return null;
  const samples = JSON.parse(readFileSync(path, 'utf8'));
  return samples.filter((s) => !only || only.includes(s.sample_id)).map(readConversation);
}

// ---------------------------------------------------------------- reference BM25

/**
 * English stop words for the reference: NLTK's English list (179 words), written out here so the reference never
 * moves when a dependency does. With it this BM25 comes within 0.003 of the protocol's figures (recall@5 0.509,
 * recall@10 0.573).
 */
export const REFERENCE_STOP_WORDS = new Set(
  `i me my myself we our ours ourselves you you're
you've you'll you'd your yours yourself yourselves he him his himself she she's her hers herself it it's its
itself they them their theirs themselves what which who whom this that that'll these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't
mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't`.split(
    /\s+/,
  ),
);

export const referenceTokens = (text) =>
  (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !REFERENCE_STOP_WORDS.has(w));

/** Okapi BM25 (k1 1.2, b 0.75, idf log(1 + (N - df + 0.5) / (df + 0.5))) over one conversation's turns. */
export function referenceBm25(turns, { k1 = 1.2, b = 0.75 } = {}) {
  const docs = turns.map((t) => {
    const tf = new Map();
    for (const w of referenceTokens(t.content)) tf.set(w, (tf.get(w) ?? 0) + 1);
    let len = 0;
    for (const n of tf.values()) len += n;
    return { diaId: t.diaId, tf, len };
  });
  const df = new Map();
  for (const d of docs) for (const w of d.tf.keys()) df.set(w, (df.get(w) ?? 0) + 1);
  const avg = docs.reduce((s, d) => s + d.len, 0) / Math.max(1, docs.length);
  const N = docs.length;
  return (query, limit) => {
    const terms = [...new Set(referenceTokens(query))];
    const scored = [];
    for (const d of docs) {
      let s = 0;
      for (const w of terms) {
        const f = d.tf.get(w);
        if (!f) continue;
        const n = df.get(w);
        s += Math.log(1 + (N - n + 0.5) / (n + 0.5)) * ((f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.len) / avg)));
      }
      if (s > 0) scored.push({ diaId: d.diaId, s });
    }
    return scored
      .sort((x, y) => y.s - x.s)
      .slice(0, limit)
      .map((x) => x.diaId);
  };
}

// ---------------------------------------------------------------- metrics

/** recall@5, recall@10 and reciprocal rank (within the ranking's top 10) of one query. */
export function judgeRanking(ranking, evidence) {
  const want = new Set(evidence);
  const found = (k) => ranking.slice(0, k).filter((id) => want.has(id)).length / want.size;
  const first = ranking.slice(0, 10).findIndex((id) => want.has(id));
  return { r5: found(5), r10: found(10), rr: first < 0 ? 0 : 1 / (first + 1) };
}

export function mean(xs) {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function p95(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(0.95 * s.length))];
}
