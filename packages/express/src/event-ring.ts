import type { UsageEvent } from './types';
import { type EventDimensions, joinAtto, splitAtto, type TotalsAccumulator } from './usage-aggregate';

const PRICED = 1;
const ESTIMATED = 2;
const REJECTED = 4;
/** The cost does not fit the 64-bit nano-dollar column (absurd prices or token counts): it is kept aside. */
const LARGE_COST = 8;

const TOKEN_COLUMNS = 5;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The events the memory store retains, as columns of typed arrays in a ring, oldest first.
 *
 * Why columns: a retained event object (with its copy, strings and cost) is over a kilobyte, and the
 * collector traces every one of them. At the default 100,000 events that was over 100 MB of heap and
 * full collections that paused the process for more than 15 ms at a time, under load. Typed arrays hold
 * no references: the collector sees a handful of objects however many events are kept, and an event costs
 * about 150 bytes. Only what queries read is kept: time, the six grouping dimensions (interned, shared by
 * every event that has the same ones), token counts, the exact cost and three flags.
 */
export class EventRing {
  private capacity: number;
  private start = 0;
  private count = 0;
  private timestamps: Float64Array;
  private tokens: Float64Array;
  private costNano: BigInt64Array;
  private costRemainder: Int32Array;
  private flags: Uint8Array;
  private dimensionRows: Uint32Array;
  private ids: string[];
  private readonly largeCosts = new Map<string, bigint>();
  private readonly dimensions = new DimensionTable();

  constructor(private readonly limit: number) {
    this.capacity = Math.min(limit, 1024);
    this.timestamps = new Float64Array(this.capacity);
    this.tokens = new Float64Array(this.capacity * TOKEN_COLUMNS);
    this.costNano = new BigInt64Array(this.capacity);
    this.costRemainder = new Int32Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.dimensionRows = new Uint32Array(this.capacity);
    this.ids = new Array<string>(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The oldest event's time (undefined when empty). */
  get oldestTimestamp(): number | undefined {
    return this.count === 0 ? undefined : this.timestamps[this.start];
  }

  /** Adds an event (with its exact cost) after the newest; the caller makes room first (`size < limit`). */
  push(event: UsageEvent, costAtto: bigint): void {
    if (this.count === this.capacity) this.grow();
    const slot = (this.start + this.count) % this.capacity;
    this.count += 1;
    this.timestamps[slot] = event.timestamp;
    const tokens = slot * TOKEN_COLUMNS;
    this.tokens[tokens] = event.inputTokens;
    this.tokens[tokens + 1] = event.cachedInputTokens;
    this.tokens[tokens + 2] = event.cacheWrite5mTokens + event.cacheWrite1hTokens;
    this.tokens[tokens + 3] = event.outputTokens;
    this.tokens[tokens + 4] = event.reasoningTokens;
    let flags = (event.priced ? PRICED : 0) | (event.estimated ? ESTIMATED : 0) | (event.rejected ? REJECTED : 0);
    const { nano, remainder } = splitAtto(costAtto);
    if (nano < INT64_MIN || nano > INT64_MAX) {
      flags |= LARGE_COST;
      this.largeCosts.set(event.id, joinAtto(nano, remainder));
      this.costNano[slot] = 0n;
      this.costRemainder[slot] = 0;
    } else {
      this.costNano[slot] = nano;
      this.costRemainder[slot] = Number(remainder);
    }
    this.flags[slot] = flags;
    this.dimensionRows[slot] = this.dimensions.acquire(event);
    this.ids[slot] = event.id;
  }

  /** Forgets the oldest event; returns its id. */
  shift(): string {
    const slot = this.start;
    const id = this.ids[slot] as string;
    if (this.flags[slot]! & LARGE_COST) this.largeCosts.delete(id);
    this.dimensions.release(this.dimensionRows[slot]!);
    this.ids[slot] = '';
    this.start = (slot + 1) % this.capacity;
    this.count -= 1;
    return id;
  }

  /**
   * Calls `visit` for every event from `from` (inclusive) to `to` (exclusive), oldest first, with its
   * dimensions and its sums in `row` (one accumulator, refilled for each event: copy what you keep).
   */
  forEachBetween(
    from: number,
    to: number,
    row: TotalsAccumulator,
    visit: (dimensions: EventDimensions, timestamp: number, row: TotalsAccumulator) => void,
  ): void {
    for (let index = 0; index < this.count; index += 1) {
      const slot = (this.start + index) % this.capacity;
      const timestamp = this.timestamps[slot]!;
      if (timestamp < from || timestamp >= to) continue;
      const tokens = slot * TOKEN_COLUMNS;
      const flags = this.flags[slot]!;
      row.requests = 1;
      row.inputTokens = this.tokens[tokens]!;
      row.cachedInputTokens = this.tokens[tokens + 1]!;
      row.cacheWriteTokens = this.tokens[tokens + 2]!;
      row.outputTokens = this.tokens[tokens + 3]!;
      row.reasoningTokens = this.tokens[tokens + 4]!;
      row.costAtto =
        flags & LARGE_COST
          ? (this.largeCosts.get(this.ids[slot] as string) ?? 0n)
          : joinAtto(this.costNano[slot]!, BigInt(this.costRemainder[slot]!));
      row.unpricedRequests = flags & PRICED ? 0 : 1;
      row.estimatedRequests = flags & ESTIMATED ? 1 : 0;
      row.rejectedRequests = flags & REJECTED ? 1 : 0;
      visit(this.dimensions.get(this.dimensionRows[slot]!), timestamp, row);
    }
  }

  /** Doubles the columns (up to the limit), laying the ring out from slot 0 again. */
  private grow(): void {
    const capacity = Math.min(this.limit, this.capacity * 2);
    const order = (slot: number) => (this.start + slot) % this.capacity;
    const copy = <T extends { length: number; [index: number]: unknown }>(from: T, to: T, width = 1): T => {
      for (let index = 0; index < this.count; index += 1) {
        for (let column = 0; column < width; column += 1) {
          to[index * width + column] = from[order(index) * width + column];
        }
      }
      return to;
    };
    this.timestamps = copy(this.timestamps, new Float64Array(capacity));
    this.tokens = copy(this.tokens, new Float64Array(capacity * TOKEN_COLUMNS), TOKEN_COLUMNS);
    this.costNano = copy(this.costNano, new BigInt64Array(capacity));
    this.costRemainder = copy(this.costRemainder, new Int32Array(capacity));
    this.flags = copy(this.flags, new Uint8Array(capacity));
    this.dimensionRows = copy(this.dimensionRows, new Uint32Array(capacity));
    this.ids = copy(this.ids, new Array<string>(capacity));
    this.capacity = capacity;
    this.start = 0;
  }
}

/** Grouping dimensions, each distinct combination stored once and counted by the events that use it. */
class DimensionTable {
  private readonly rowsByKey = new Map<string, number>();
  private readonly rows: (EventDimensions & { key: string; users: number })[] = [];
  private readonly free: number[] = [];
  /** The row the previous event used: consecutive events mostly share their dimensions. */
  private last = -1;

  acquire(event: UsageEvent): number {
    const last = this.rows[this.last];
    if (
      last !== undefined &&
      last.users > 0 &&
      last.model === event.model &&
      last.provider === event.provider &&
      last.route === event.route &&
      last.user === event.user &&
      last.tenant === event.tenant &&
      last.feature === event.feature
    ) {
      last.users += 1;
      return this.last;
    }
    this.last = this.lookup(event);
    return this.last;
  }

  private lookup(event: UsageEvent): number {
    const key = JSON.stringify([event.model, event.provider, event.user, event.tenant, event.feature, event.route]);
    const known = this.rowsByKey.get(key);
    if (known !== undefined) {
      this.rows[known]!.users += 1;
      return known;
    }
    const row = this.free.pop() ?? this.rows.length;
    const dimensions: EventDimensions & { key: string; users: number } = {
      key,
      users: 1,
      model: event.model,
      provider: event.provider,
      route: event.route,
    };
    if (event.user !== undefined) dimensions.user = event.user;
    if (event.tenant !== undefined) dimensions.tenant = event.tenant;
    if (event.feature !== undefined) dimensions.feature = event.feature;
    this.rows[row] = dimensions;
    this.rowsByKey.set(key, row);
    return row;
  }

  release(row: number): void {
    const dimensions = this.rows[row]!;
    dimensions.users -= 1;
    if (dimensions.users > 0) return;
    this.rowsByKey.delete(dimensions.key);
    this.free.push(row);
  }

  get(row: number): EventDimensions {
    return this.rows[row]!;
  }
}
