/**
 * The Node.js versions mnemo runs on. better-sqlite3 13 (which fixes a Node 24 abort in its statement finalizer that
 * 12.x has) needs Node 22 or later; on Node 20 it builds, then crashes the process with a segmentation fault. Entry
 * points check first and say so in one line instead.
 */
export const MIN_NODE_MAJOR = 22;

/** Why this Node.js cannot run mnemo, or null when it can. */
export function unsupportedNode(version: string = process.versions.node): string | null {
  const major = Number(version.split('.')[0]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return null;
  return `mnemo needs Node.js ${MIN_NODE_MAJOR} or later (22 and 24 are tested); this is Node.js ${version}`;
}
