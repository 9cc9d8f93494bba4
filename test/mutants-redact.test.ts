import { describe, expect, it } from 'vitest';
import { redact, redactDeep, SECRET_PATTERNS } from '../dist/store/redact.js';

/**
 * Redaction at its edges (issue 11, mutation testing of store/redact.ts): every secret shape, its shortest form and
 * the look-alikes it must leave alone, exact replacements (what is kept around a secret), idempotence, private blocks,
 * and the walk through JSON values. Each case fails on a mutant of the patterns or the code that survived the rest of
 * the suite. Samples are built from pieces so that no scanner mistakes this file for a leak.
 */

const R = (kind: string) => `[REDACTED:${kind}]`;
const a = (n: number, alphabet = 'aB3dE5gH7jK9mN1pQ2sT4vW6yZ8') =>
  Array.from({ length: n }, (_, i) => alphabet[i % alphabet.length]).join('');

/** Each input, in a sentence, becomes the expected text, exactly. */
function expectRedacted(cases: [input: string, expected: string][]): void {
  for (const [input, expected] of cases) expect(redact(`see ${input} now`), input).toBe(`see ${expected} now`);
}
/** Each input is left as it is. */
function expectKept(inputs: string[]): void {
  for (const input of inputs) expect(redact(`see ${input} now`), input).toBe(`see ${input} now`);
}

describe('secret shapes', () => {
  it('lists its kinds in the order they are applied', () => {
    expect(SECRET_PATTERNS.map((p) => p.kind)).toEqual([
      'private-key',
      'aws-access-key',
      'github-token',
      'gitlab-token',
      'anthropic-key',
      'openai-key',
      'stripe-key',
      'slack-token',
      'google-api-key',
      'npm-token',
      'jwt',
      'bearer-token',
      'url-credentials',
      'basic-auth',
      'user-password',
      'secret-assignment',
      'secret-flag',
    ]);
  });

  it('private keys: whole blocks, one at a time, with or without a type or BLOCK, an unclosed one to the end', () => {
    const key = (type: string, body = 'MIIEowIBAAKCAQEA7x\nq2W+/abc=') =>
      `-----BEGIN ${type}PRIVATE KEY-----\n${body}\n-----END ${type}PRIVATE KEY-----`;
    expectRedacted([
      [key(''), R('private-key')],
      [key('RSA '), R('private-key')],
      [key('OPENSSH '), R('private-key')],
      [`${key('EC ')} kept between ${key('DSA ')}`, `${R('private-key')} kept between ${R('private-key')}`],
      ['-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----', R('private-key')],
    ]);
    expect(redact('before -----BEGIN PRIVATE KEY-----\nMIIEow IBAAK\nno end line')).toBe(`before ${R('private-key')}`);
    expectKept(['-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----', '-----BEGIN rsa PRIVATE KEY-----']);
  });

  it('AWS access keys: each prefix, exactly 16 more characters, on word boundaries', () => {
    const tail = 'IOSFODNN7EXAMPLE';
    expectRedacted(
      ['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA'].map(
        (p) => [`${p}${tail}`, R('aws-access-key')] as [string, string],
      ),
    );
    expectRedacted([[`(AKIA${tail})`, `(${R('aws-access-key')})`]]);
    expectKept([`AKIA${tail.slice(1)}`, `AKIA${tail}X`, `XAKIA${tail}`, `AKIA${tail.toLowerCase()}`, `ABCD${tail}`]);
  });

  it('GitHub tokens: every gh?_ kind from 36 characters, fine-grained github_pat_ from 22', () => {
    expectRedacted(
      ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((p) => [`${p}${a(36)}`, R('github-token')] as [string, string]),
    );
    expectRedacted([
      [`ghp_${a(60)}`, R('github-token')],
      [`github_pat_${a(22)}`, R('github-token')],
      [`github_pat_11ABCDEFG_${a(60)}`, R('github-token')],
    ]);
    expectKept([`ghp_${a(35)}`, `ghx_${a(36)}`, `github_pat_${a(21)}`, `xghp_${a(36)}`, `ghp-${a(36)}`]);
  });

  it('GitLab, Anthropic, OpenAI and Stripe keys, from their shortest form', () => {
    expectRedacted([
      [`glpat-${a(20)}`, R('gitlab-token')],
      [`glpat-ab_cd-${a(20)}`, R('gitlab-token')],
      [`sk-ant-${a(20)}`, R('anthropic-key')],
      [`sk-ant-api03-${a(20)}`, R('anthropic-key')],
      [`sk-${a(20)}`, R('openai-key')],
      [`sk-proj-${a(20)}`, R('openai-key')],
      [`sk-svcacct-${a(20)}`, R('openai-key')],
      [`sk-admin-${a(20)}`, R('openai-key')],
      [`sk-${a(10)}_${a(10)}-x`, R('openai-key')],
      [`sk_live_${a(16)}`, R('stripe-key')],
      [`sk_test_${a(16)}`, R('stripe-key')],
      [`rk_live_${a(24)}`, R('stripe-key')],
      [`pk_test_${a(16)}`, R('stripe-key')],
    ]);
    expectKept([
      `glpat-${a(19)}`,
      `sk-ant-${a(5)}`,
      `sk-${a(19)}`,
      `sk_live_${a(15)}`,
      `xk_live_${a(16)}`,
      `sk_prod_${a(16)}`,
      `task-${a(20)}`,
    ]);
  });

  it('Slack, Google, npm tokens and JWTs', () => {
    expectRedacted([
      ...['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-'].map(
        (p) => [`${p}${a(10)}`, R('slack-token')] as [string, string],
      ),
      [`xoxb-123-456-${a(12)}`, R('slack-token')],
      [`AIza${a(35)}`, R('google-api-key')],
      [`AIza${a(30)}_-abc`, R('google-api-key')],
      [`npm_${a(36)}`, R('npm-token')],
      ['eyJhbGciOiJ.eyJzdWIiOi.dozjgNryP4', R('jwt')],
      ['eyJhb_-ciOi.ey-_zdWIiOi.doz_-NryP4', R('jwt')],
    ]);
    expectKept([
      `xoxb-${a(9)}`,
      `xoxz-${a(10)}`,
      `AIza${a(34)}`,
      `AIza${a(36)}`,
      `npm_${a(35)}`,
      `npm_${a(37)}`,
      'eyJhbGci.eyJzdWIiOi.dozjgNryP4',
      'eyJhbGciOiJ.eyJzdW.dozjgNryP4',
      'eyJhbGciOiJ.eyJzdWIiOi.dozjgN',
      'xeyJhbGciOiJ.eyJzdWIiOi.dozjgNryP4',
    ]);
  });

  it('bearer tokens: the token only, after Bearer or an Authorization header, any case', () => {
    expectRedacted([
      [`Authorization: Bearer ${a(12)}`, `Authorization: Bearer ${R('bearer-token')}`],
      [`authorization:bearer   ${a(12)}==`, `authorization:bearer   ${R('bearer-token')}`],
      [`BEARER abc.def~ghi+jk/l-m_n`, `BEARER ${R('bearer-token')}`],
    ]);
    expectKept([`Bearer ${a(11)}`, `Bearer:${a(12)}`, `xbearer ${a(12)}`, 'bearer in mind the deadline']);
  });

  it('credentials in URLs: the password only; Basic auth; -u user:password', () => {
    expectRedacted([
      [
        'postgres://admin:hunter2secret@db.example:5432/app',
        `postgres://admin:${R('url-credentials')}@db.example:5432/app`,
      ],
      ['HTTPS://me:pss:w0rd@host/x', `HTTPS://me:${R('url-credentials')}@host/x`],
      ['git+ssh://u:tok.en-1@h', `git+ssh://u:${R('url-credentials')}@h`],
      ['Basic dXNlcjpwYXNzd29yZA==', `Basic ${R('basic-auth')}`],
      ['basic   dXNlcjpw', `basic   ${R('basic-auth')}`],
      ['basic dXNl+jpw/A=', `basic ${R('basic-auth')}`],
    ]);
    expectKept([
      'https://example.com/path@user',
      'https://user@host',
      'Basic dXNlcjp',
      'xbasic dXNlcjpwYXNz',
      'https://a:b/c@d',
    ]);
    // At the very start of a text too: nothing before the scheme.
    expect(redact('postgres://admin:hunter2secret@db')).toBe(`postgres://admin:${R('url-credentials')}@db`);
    expect(redact('curl -u admin:s3cretpass https://x')).toBe(`curl -u admin:${R('user-password')} https://x`);
    expect(redact('curl -u  admin:s3cretpass')).toBe(`curl -u  admin:${R('user-password')}`);
    expect(redact('curl --user "admin:s3cretpass" https://x')).toBe(
      `curl --user "admin:${R('user-password')}" https://x`,
    );
    expect(redact("-u 'me:abc' start")).toBe(`-u 'me:${R('user-password')}' start`);
    expect(redact('curl\t-u\tadmin:pwd')).toBe(`curl\t-u\tadmin:${R('user-password')}`);
    expect(redact('curl -u admin:ab https://x')).toBe('curl -u admin:ab https://x');
    expect(redact('curl x-u admin:s3cretpass')).toBe('curl x-u admin:s3cretpass');
    expect(redact('curl -u admin s3cretpass')).toBe('curl -u admin s3cretpass');
  });

  it('secret assignments: the value only, quoted or not, under many key spellings', () => {
    expectRedacted([
      ['password=hunter2', `password=${R('secret-assignment')}`],
      ['PGPASSWORD=hunter2', `PGPASSWORD=${R('secret-assignment')}`],
      ['db_passwd: abc', `db_passwd: ${R('secret-assignment')}`],
      ['DB_PASS=abc', `DB_PASS=${R('secret-assignment')}`],
      ['pwd=abc', `pwd=${R('secret-assignment')}`],
      ['API_KEY: "abcd1234"', `API_KEY: "${R('secret-assignment')}"`],
      ["api-key = 'abcd1234'", `api-key = '${R('secret-assignment')}'`],
      ['apikey=abc', `apikey=${R('secret-assignment')}`],
      ['access_key=abc', `access_key=${R('secret-assignment')}`],
      ['SECRET_KEY_BASE=abc', `SECRET_KEY_BASE=${R('secret-assignment')}`],
      ['private-key=abc', `private-key=${R('secret-assignment')}`],
      ['access_token=abc', `access_token=${R('secret-assignment')}`],
      ['auth-token=abc', `auth-token=${R('secret-assignment')}`],
      ['refresh_token=abc', `refresh_token=${R('secret-assignment')}`],
      ['client_secret = abc', `client_secret = ${R('secret-assignment')}`],
      // The separators are optional: the run-together spellings are secrets too.
      ['accesstoken=abc', `accesstoken=${R('secret-assignment')}`],
      ['accesskey=abc', `accesskey=${R('secret-assignment')}`],
      ['secretkey=abc', `secretkey=${R('secret-assignment')}`],
      ['privatekey=abc', `privatekey=${R('secret-assignment')}`],
      ['SECRET_KEY=abc', `SECRET_KEY=${R('secret-assignment')}`],
      ['authtoken=abc', `authtoken=${R('secret-assignment')}`],
      ['refreshtoken=abc', `refreshtoken=${R('secret-assignment')}`],
      ['clientsecret=abc', `clientsecret=${R('secret-assignment')}`],
      // Words around password are part of the key.
      ['DB_PASSWORD_PROD=abc', `DB_PASSWORD_PROD=${R('secret-assignment')}`],
      ['passwordFile: abc', `passwordFile: ${R('secret-assignment')}`],
      ['token=abc;', `token=${R('secret-assignment')};`],
      ['"password": "hunter2"', `"password": "${R('secret-assignment')}"`],
      ['secret=secret', `secret=${R('secret-assignment')}`],
      ['MY_SECRET=v4lue)', `MY_SECRET=${R('secret-assignment')})`],
    ]);
    expectKept([
      'password=ab',
      'password = await getPassword()',
      'token = new Token()',
      'secret: null',
      'pass = true',
      'api_key = undefined',
      'token = function',
      'key = require',
      'x = process',
      'token = this',
      'secret = None',
      'secret = True',
      'secret = False',
      'passport=abc123',
      'tokens=abcdef',
      'password: ""',
      'password="ab"',
    ]);
  });

  it('secret flags: --password and friends, with = or a space, quoted or not', () => {
    expectRedacted([
      ['mysql --password hunter2x', `mysql --password ${R('secret-flag')}`],
      ['mysql --password   hunter2x', `mysql --password   ${R('secret-flag')}`],
      ['--passwd abc', `--passwd ${R('secret-flag')}`],
      // A value the assignment pattern stops at (a comma): the flag's own `=` form.
      ['--password=ab,cd', `--password=${R('secret-flag')}`],
      ['--token "a b c"', `--token "${R('secret-flag')}"`],
      ["--api-key 'xyz'", `--api-key '${R('secret-flag')}'`],
      ['--apikey abc', `--apikey ${R('secret-flag')}`],
      ['--client-secret abc', `--client-secret ${R('secret-flag')}`],
      ['--auth-token abc', `--auth-token ${R('secret-flag')}`],
      ['--SECRET abc', `--SECRET ${R('secret-flag')}`],
    ]);
    expectKept(['--password ab', '--passwordfile x', '--tokens abc', '-password abc']);
  });
});

describe('the replacement', () => {
  it('keeps the kind of a secret redacted by an earlier pattern, bare or quoted (idempotent)', () => {
    const gh = `ghp_${a(36)}`;
    expect(redact(`password=${gh}`)).toBe(`password=${R('github-token')}`);
    expect(redact(`password="${gh}"`)).toBe(`password="${R('github-token')}"`);
    expect(redact(`password='${gh}'`)).toBe(`password='${R('github-token')}'`);
    for (const text of [
      `password=${gh}`,
      `password="${gh}"`,
      'Authorization: Bearer abcdefghijklmnop',
      'postgres://a:bcdef@h',
      'curl -u a:bcdef',
      '--token abcdef',
    ]) {
      const once = redact(text);
      expect(redact(once), text).toBe(once);
    }
  });

  it('replaces each secret in a text, leaves the rest as it was, and an empty text empty', () => {
    expect(redact('')).toBe('');
    expect(redact('nothing to see here < or > here')).toBe('nothing to see here < or > here');
    expect(redact(`a=1 npm_${a(36)} b=2 npm_${a(36, 'zyx')} c`)).toBe(`a=1 ${R('npm-token')} b=2 ${R('npm-token')} c`);
  });
});

describe('private blocks', () => {
  it('are dropped with their tags, any case, each one; an unclosed one drops the rest', () => {
    expect(redact('keep <private>drop\nthis</private> keep')).toBe('keep  keep');
    expect(redact('a <PRIVATE>x</Private> b <private>y</private> c')).toBe('a  b  c');
    expect(redact('a <private>x</private> b </private> c')).toBe('a  b </private> c');
    expect(redact('keep <private>drop all of this')).toBe('keep ');
    expect(redact('keep <privat>not a block</privat>')).toBe('keep <privat>not a block</privat>');
  });
});

describe('redactDeep', () => {
  it('redacts strings and keys at every level, and keeps other values as they are', () => {
    const gh = `ghp_${a(36)}`;
    const value = { n: 1, t: true, f: false, z: null, u: undefined, list: [gh, 2, { deeper: `x ${gh}` }], [gh]: 'key' };
    expect(redactDeep(value)).toEqual({
      n: 1,
      t: true,
      f: false,
      z: null,
      u: undefined,
      list: [R('github-token'), 2, { deeper: `x ${R('github-token')}` }],
      [R('github-token')]: 'key',
    });
    expect(redactDeep(gh)).toBe(R('github-token'));
    expect(redactDeep(7)).toBe(7);
    expect(redactDeep(null)).toBeNull();
  });

  it('redacts the whole value of a secret-named field, however the name is written', () => {
    const out = redactDeep({
      password: 'plain words',
      'API-Key': 'plain',
      'client secret': 'plain',
      db_password: 'plain',
      Authorization: 'plain',
      credential: 'plain',
      credentials: 'plain',
      auth_token: 'plain',
      accesskey: 'plain',
      apikey: 'plain',
      secretkey: 'plain',
      privatekey: 'plain',
      clientsecret: 'plain',
      authtoken: 'plain',
      // Dashes and spaces count as underscores: the name ends in _password, _token.
      'db-password': 'plain',
      'my token': 'plain',
    }) as Record<string, unknown>;
    for (const [k, v] of Object.entries(out)) expect(v, k).toBe('[REDACTED:secret-field]');
  });

  it('leaves fields that only look secret-named, and secret-named fields that hold no text', () => {
    const value = {
      passage: 'plain',
      password_hint: 'plain',
      xpassword: 'plain',
      tokenizer: 'plain',
      password: '',
      token: 5,
      secret: { inner: 'plain' },
      pass: ['plain'],
    };
    expect(redactDeep(value)).toEqual(value);
  });

  it('walks 32 levels, then keeps the rest as its JSON text, redacted', () => {
    const gh = `ghp_${a(36)}`;
    const nest = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : { a: nest(depth - 1, leaf) });
    const at = (v: unknown, depth: number): unknown => (depth === 0 ? v : at((v as { a: unknown }).a, depth - 1));
    expect(at(redactDeep(nest(32, { b: gh })), 32)).toBe(`{"b":"${R('github-token')}"}`);
    expect(at(redactDeep(nest(33, { b: 1 })), 32)).toBe('{"a":{"b":1}}');
    expect(at(redactDeep(nest(31, { b: 1 })), 31)).toEqual({ b: 1 });
    const arrays = (depth: number): unknown => (depth === 0 ? ['leaf'] : [arrays(depth - 1)]);
    let walked = redactDeep(arrays(40));
    for (let i = 0; i < 32; i++) walked = (walked as unknown[])[0];
    expect(walked).toBe(JSON.stringify(arrays(8)));
  });

  it('keeps a value below the walk whose JSON text is nothing as an empty text', () => {
    let v: unknown = { toJSON: () => undefined };
    for (let i = 0; i < 32; i++) v = { a: v };
    let out = redactDeep(v);
    for (let i = 0; i < 32; i++) out = (out as { a: unknown }).a;
    expect(out).toBe('');
  });

  it('keeps an unserialisable value below the walk as a placeholder', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let v: unknown = cyclic;
    for (let i = 0; i < 32; i++) v = { a: v };
    let out = redactDeep(v);
    for (let i = 0; i < 32; i++) out = (out as { a: unknown }).a;
    expect(out).toBe('[unserialisable value]');
  });
});
