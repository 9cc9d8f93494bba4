// The part of the WebAssembly JavaScript API that mnemo uses (store/vector-index.ts). TypeScript declares it only in
// its DOM and web-worker libraries, which this Node.js project does not load, and @types/node 22 does not.
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
