import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LRUCache } from 'lru-cache';

/**
 * A project is the git work tree above the hook's cwd (else the cwd itself), kept as the full path so two projects
 * with the same folder name never mix, and shown by its folder name.
 */
export interface Project {
  root: string;
  name: string;
  gitDir: string | null;
}

const cache = new LRUCache<string, Project>({ max: 512, ttl: 60_000 });

export function projectOf(cwd: string | undefined): Project {
  const start = resolve(cwd ?? process.cwd());
  const hit = cache.get(start);
  if (hit) return hit;
  let dir = start;
  let project: Project = { root: start, name: basename(start) || start, gitDir: null };
  for (let i = 0; i < 64; i++) {
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) {
      project = { root: dir, name: basename(dir) || dir, gitDir: gitDirOf(dotGit) };
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  cache.set(start, project);
  return project;
}

/** `.git` is a folder, or (worktrees, submodules) a file saying `gitdir: <path>`. */
function gitDirOf(dotGit: string): string | null {
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    return m ? resolve(dirname(dotGit), m[1]!.trim()) : null;
  } catch {
    return null;
  }
}

/** The checked-out branch, read from HEAD (no git process): null when detached or not a repository. */
export function currentBranch(project: Project): string | null {
  if (!project.gitDir) return null;
  try {
    const head = readFileSync(join(project.gitDir, 'HEAD'), 'utf8').trim();
    const m = /^ref:\s*refs\/heads\/(.+)$/.exec(head);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

/**
 * Subjects of the most recent commits made here, from the tail of the HEAD reflog (`commit: <subject>` lines), which
 * costs a file read instead of a git process on the SessionStart path.
 */
export function recentCommitSubjects(project: Project, max = 5): string[] {
  if (!project.gitDir) return [];
  const path = join(project.gitDir, 'logs', 'HEAD');
  let text: string;
  try {
    const size = statSync(path).size;
    const want = Math.min(size, 16 * 1024);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(want);
      readSync(fd, buf, 0, want, size - want);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
  const subjects: string[] = [];
  const lines = text.split('\n').reverse();
  for (const line of lines) {
    const m = /\tcommit(?: \([^)]*\))?: (.+)$/.exec(line);
    if (m && !subjects.includes(m[1]!)) subjects.push(m[1]!);
    if (subjects.length >= max) break;
  }
  return subjects;
}
