/**
 * Credentials that resolved in the last few seconds, so a busy client does not cost an extra
 * database round trip per request. Only an early gate: each request's own transaction re-checks
 * the credential in the statement that sets the tenant, so a revoked token or session is refused
 * at once, cache or not. Failed lookups are never cached. Keys are the raw secrets, held only in
 * this process's memory, as the request headers themselves are.
 */
export class AdmissionCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T): void {
    if (this.entries.has(key)) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
