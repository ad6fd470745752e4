/**
 * A bounded memo of a pure function of a string: at most `max` results,
 * the oldest dropped first. For per-request work whose answer never changes
 * for the same input (a cookie's signature, a key's hash): a returning
 * visitor's requests skip it.
 */
export class Memo<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly max: number,
    /** What {@link get} computes on a miss. */
    private readonly compute?: (input: string) => V,
  ) {}

  get(input: string): V {
    const known = this.entries.get(input);
    if (known !== undefined) return known;
    if (!this.compute) throw new Error('Memo.get without a compute function: use peek and remember');
    const value = this.compute(input);
    this.remember(input, value);
    return value;
  }

  /** The result remembered for `input`, without computing it. */
  peek(input: string): V | undefined {
    return this.entries.get(input);
  }

  /** Stores a result computed elsewhere (not undefined). */
  remember(input: string, value: V): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(input, value);
  }
}
