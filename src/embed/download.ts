import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { ErrorCode, MnemoError } from '../errors.js';

export interface Expected {
  size: number;
  sha256: string;
}

export interface DownloadOptions {
  /** Where bytes collect until the file is whole and verified; kept across runs so a later pull resumes. */
  partPath: string;
  onProgress?: (received: number, total: number) => void;
  /** No byte for this long is a failure (the partial file is kept). */
  stallMs?: number;
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

/** Turns what fetch throws into an error a person can act on. */
function networkError(url: string, err: unknown, received: number): MnemoError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code ?? '';
  const host = hostOf(url);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new MnemoError(
      ErrorCode.MODEL,
      `cannot resolve ${host} (DNS lookup failed): this machine looks offline; ` +
        '`mnemo model build offline` makes a pack with no network',
    );
  }
  if (['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return new MnemoError(
      ErrorCode.MODEL,
      `cannot reach ${host} (${code}): offline or blocked by a firewall; ` +
        'set MNEMO_HF_ENDPOINT (or HF_ENDPOINT) to a mirror, or use `mnemo model build offline`',
    );
  }
  if (code === 'ENOSPC') {
    return new MnemoError(
      ErrorCode.MODEL,
      `the disk is full after ${received} bytes; free some space and run the same command again to resume`,
    );
  }
  if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') {
    return new MnemoError(
      ErrorCode.MODEL,
      `the download from ${host} stalled after ${received} bytes; run the same command again to resume`,
    );
  }
  const why = code || cause?.message || (err as Error).message;
  return new MnemoError(
    ErrorCode.MODEL,
    `the download from ${host} failed after ${received} bytes (${why}); run the same command again to resume`,
  );
}

async function hashFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/**
 * Downloads `url` to `dest`, resuming a partial download with an HTTP Range request, and installs it only when its
 * size and SHA-256 match. A checksum mismatch deletes the bytes and installs nothing; an interruption keeps them for
 * the next run.
 */
export async function downloadFile(
  url: string,
  dest: string,
  expected: Expected,
  options: DownloadOptions,
): Promise<{ resumedFrom: number; bytes: number }> {
  const { partPath } = options;
  let have = existsSync(partPath) ? statSync(partPath).size : 0;
  if (have > expected.size) {
    rmSync(partPath, { force: true });
    have = 0;
  }
  const hash = createHash('sha256');
  if (have > 0) await hashFile(hash, partPath);
  const resumedFrom = have;

  if (have < expected.size) {
    const controller = new AbortController();
    let stall: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(
        () => controller.abort(new DOMException('stalled', 'TimeoutError')),
        options.stallMs ?? 30_000,
      );
    };
    arm();
    let response: Response;
    try {
      response = await fetch(url, {
        headers: have > 0 ? { Range: `bytes=${have}-` } : {},
        redirect: 'follow',
        signal: controller.signal,
      });
    } catch (err) {
      clearTimeout(stall);
      throw networkError(url, err, have);
    }
    if (response.status === 404) {
      clearTimeout(stall);
      throw new MnemoError(ErrorCode.MODEL, `not found (HTTP 404): ${url}; the mirror may not have this revision`);
    }
    if (response.status === 416) {
      // The server says our partial file is not a prefix it can continue: start over.
      clearTimeout(stall);
      rmSync(partPath, { force: true });
      return downloadFile(url, dest, expected, options);
    }
    if (!response.ok || !response.body) {
      clearTimeout(stall);
      throw new MnemoError(ErrorCode.MODEL, `the server answered HTTP ${response.status} for ${url}`);
    }
    if (have > 0 && response.status !== 206) {
      // Range ignored: the whole file is coming again.
      rmSync(partPath, { force: true });
      return downloadFile(url, dest, expected, options);
    }
    const out = createWriteStream(partPath, { flags: have > 0 ? 'a' : 'w' });
    const writeError = new Promise<never>((_, reject) => out.once('error', reject));
    writeError.catch(() => {});
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        hash.update(chunk);
        have += chunk.byteLength;
        if (have > expected.size)
          throw new MnemoError(ErrorCode.MODEL, `${url} is larger than the expected ${expected.size} bytes`);
        if (!out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), writeError]);
        options.onProgress?.(have, expected.size);
      }
      await Promise.race([new Promise<void>((r) => out.end(() => r())), writeError]);
    } catch (err) {
      out.destroy();
      clearTimeout(stall);
      if (err instanceof MnemoError) {
        rmSync(partPath, { force: true });
        throw err;
      }
      throw networkError(url, err, have);
    }
    clearTimeout(stall);
  }

  const size = statSync(partPath).size;
  if (size !== expected.size) {
    throw new MnemoError(
      ErrorCode.MODEL,
      `the download of ${url} ended at ${size} of ${expected.size} bytes; run the same command again to resume`,
    );
  }
  const sha = hash.digest('hex');
  if (sha !== expected.sha256) {
    rmSync(partPath, { force: true });
    throw new MnemoError(
      ErrorCode.MODEL,
      `checksum mismatch for ${url}: got SHA-256 ${sha.slice(0, 16)}…, expected ${expected.sha256.slice(0, 16)}…; ` +
        'the file was deleted and nothing was installed',
    );
  }
  renameSync(partPath, dest);
  return { resumedFrom, bytes: size };
}
