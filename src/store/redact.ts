/**
 * Privacy before storage (and so before embedding and indexing). Two steps, applied to every text mnemo keeps:
 *
 * 1. Anything between `<private>` and `</private>` is dropped, tags included; an unclosed `<private>` drops the rest.
 * 2. Common secret shapes are replaced by `[REDACTED:<kind>]` (see SECRET_PATTERNS for the list; the README
 *    documents it, under "Privacy").
 *
 * The patterns favour catching secrets over sparing look-alikes: a long random token after `token=` is gone, even if it
 * was harmless.
 */

interface SecretPattern {
  kind: string;
  pattern: RegExp;
  /** Replace only this capture group (1-based), keeping the rest of the match, e.g. the `password=` in front. */
  group?: number;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    kind: 'private-key',
    pattern:
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  { kind: 'aws-access-key', pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b/g },
  { kind: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'gitlab-token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'anthropic-key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: 'openai-key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { kind: 'stripe-key', pattern: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  { kind: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'npm-token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: 'bearer-token', pattern: /\b(?:authorization:\s*)?bearer\s+([A-Za-z0-9._~+/-]{12,}=*)/gi, group: 1 },
  { kind: 'url-credentials', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:([^\s/@]+)@/gi, group: 1 },
  { kind: 'basic-auth', pattern: /\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})/gi, group: 1 },
  { kind: 'user-password', pattern: /(?:^|\s)(?:-u|--user)\s+["']?[^\s:"']+:([^\s"']{3,})/g, group: 1 },
  {
    kind: 'secret-assignment',
    // password=..., PGPASSWORD=..., DB_PASS=..., API_KEY: "...", SECRET_KEY_BASE=..., client_secret = '...'.
    // Code words after `=` (`const token = await f()`) are not secrets.
    pattern: new RegExp(
      String.raw`\b(?:[A-Za-z0-9_]*(?:password|passwd)[A-Za-z0-9_]*|(?:[A-Za-z0-9]+_)?(?:pwd|pass|secret|` +
        String.raw`api[_-]?key|apikey|access[_-]?key|secret[_-]?key(?:[_-]base)?|private[_-]?key|access[_-]?token|` +
        String.raw`auth[_-]?token|refresh[_-]?token|client[_-]?secret|token))\b["']?\s*[:=]\s*` +
        String.raw`(?!(?:await|new|null|true|false|undefined|function|require|process|this|None|True|False)\b)` +
        String.raw`("[^"\n]{3,}"|'[^'\n]{3,}'|[^\s"',;)]{3,})`,
      'gi',
    ),
    group: 1,
  },
  {
    kind: 'secret-flag',
    // --password hunter2, --api-key=..., -p'...' is too ambiguous to catch.
    pattern: new RegExp(
      String.raw`--(?:password|passwd|token|api-key|apikey|secret|client-secret|auth-token)(?:=|\s+)` +
        String.raw`("[^"\n]+"|'[^'\n]+'|[^\s"']{3,})`,
      'gi',
    ),
    group: 1,
  },
];

const PRIVATE_BLOCK = /<private>[\s\S]*?(?:<\/private>|$)/gi;

/** Drops `<private>` blocks and redacts secrets. Idempotent: redacting twice changes nothing more. */
export function redact(text: string): string {
  if (text.length === 0) return text;
  let out = text.includes('<') ? text.replace(PRIVATE_BLOCK, '') : text;
  for (const { kind, pattern, group } of SECRET_PATTERNS) {
    const marker = `[REDACTED:${kind}]`;
    out = out.replace(pattern, (match, ...groups: unknown[]) => {
      if (group === undefined) return marker;
      const value = groups[group - 1];
      if (
        typeof value !== 'string' ||
        value.startsWith('[REDACTED') ||
        value.startsWith('"[REDACTED') ||
        value.startsWith("'[REDACTED")
      )
        return match;
      const at = match.lastIndexOf(value);
      // A quoted value keeps its quotes, so JSON and code around it stay well-formed.
      const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
      return `${match.slice(0, at)}${quote}${marker}${quote}${match.slice(at + value.length)}`;
    });
  }
  return out;
}

/** Field names whose string values are secrets whatever they look like. */
const SECRET_FIELD = new RegExp(
  '(^|_)(password|passwd|pwd|pass|secret|token|api_?key|access_?key|secret_?key|private_?key|client_?secret|' +
    'authorization|auth_?token|credentials?)$',
);

/** Below this depth a value is not walked any further; it is kept as its JSON text, redacted like any text. */
const MAX_WALK_DEPTH = 32;

/**
 * Redacts every string inside a JSON-like value (objects, arrays): each string as text, each key as text (a secret
 * used as a key is still a secret), and the whole string under a secret-named field (`password`, `api_key`,
 * `Authorization`, ...). Deeper than 32 levels the rest is turned into its JSON text and redacted as one string, so
 * nesting can never carry a secret past this function.
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_WALK_DEPTH) return redact(safeJson(value));
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secretField =
      typeof v === 'string' && v.length > 0 && SECRET_FIELD.test(k.toLowerCase().replace(/[-\s]/g, '_'));
    out[redact(k)] = secretField ? '[REDACTED:secret-field]' : redactDeep(v, depth + 1);
  }
  return out;
}

/** JSON text of a value, or a placeholder when it cannot be written (a cycle, or nesting too deep for the stack). */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '[unserialisable value]';
  }
}
