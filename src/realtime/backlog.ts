/**
 * Slow-consumer detection shared by both transports: it tells a client that stopped reading
 * from one that is merely being sent a burst. Both make the unsent backlog pass the bound
 * (SOCKET_SEND_BUFFER_BYTES); only the first keeps it there.
 */

/** How long a backlog may stay over the bound before the client counts as stalled. */
export const SLOW_CONSUMER_GRACE_MS = 3000;
/** Past this many times the bound the client is dropped at once: the server's memory comes first. */
export const SLOW_CONSUMER_HARD_FACTOR = 4;

export class BacklogWatch {
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;

  /**
   * `backlog` reads the connection's unsent bytes now; `onStalled` drops the client (called once).
   */
  constructor(
    private readonly limit: number,
    private readonly backlog: () => number,
    private readonly onStalled: () => void,
  ) {}

  /** True once the client was dropped: nothing more should be queued for it. */
  get dropped(): boolean {
    return this.stalled;
  }

  /**
   * Called whenever the backlog may have changed. Over the bound, the client has the grace
   * period to get back under it; over the hard bound, or still over the bound when the grace
   * period ends, it is dropped.
   */
  check(): void {
    if (this.stalled) return;
    const bytes = this.backlog();
    if (bytes > this.limit * SLOW_CONSUMER_HARD_FACTOR) {
      this.drop();
      return;
    }
    if (bytes <= this.limit) {
      this.stop();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.backlog() > this.limit) this.drop();
    }, SLOW_CONSUMER_GRACE_MS).unref();
  }

  /** The connection closed: nothing to watch any more. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drop(): void {
    this.stalled = true;
    this.stop();
    this.onStalled();
  }
}
