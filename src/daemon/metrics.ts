/** Request latencies since start, kept in a ring of the most recent samples, for `status`. */
export class LatencyRing {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  total = 0;
  errors = 0;

  constructor(size = 16_384) {
    this.samples = new Float64Array(size);
  }

  add(ms: number, failed: boolean): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    this.filled = Math.min(this.filled + 1, this.samples.length);
    this.total++;
    if (failed) this.errors++;
  }

  percentiles(): { count: number; errors: number; p50: number; p95: number; p99: number } {
    const sorted = this.samples.slice(0, this.filled).sort();
    const at = (p: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return { count: this.total, errors: this.errors, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)) };
  }
}

/** A latency ring per key (the hook events), made on first use; 4,096 samples each (32 KiB). */
export class KeyedLatency {
  private readonly rings = new Map<string, LatencyRing>();

  add(key: string, ms: number, failed: boolean): void {
    let ring = this.rings.get(key);
    if (!ring) this.rings.set(key, (ring = new LatencyRing(4096)));
    ring.add(ms, failed);
  }

  percentiles(): Record<string, ReturnType<LatencyRing['percentiles']>> {
    return Object.fromEntries([...this.rings].map(([key, ring]) => [key, ring.percentiles()]));
  }
}
