import { tinyPack } from './packs.js';

/** Builds the shared test pack once, before test files race to build it. */
export default function setup(): void {
  tinyPack(1);
  tinyPack(2);
}
