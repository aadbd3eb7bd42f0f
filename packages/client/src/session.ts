/**
 * A resumable session's bookkeeping: the resume token of the latest SESSION and the log
 * positions (`seq`) seen. On reconnect the server replays what came after the highest one; a
 * message sent from another instance during the replay may overtake older replayed ones, so
 * duplicates are recognised by their seq, not by order.
 */

/** How far below the highest seq positions are remembered (the server's log keeps 1,000). */
const SEEN_WINDOW = 2_000;

export interface SessionInfo {
  resume_token: string;
  resume_window_seconds: number;
  seq: number;
}

export type ResumeAuth = { resume: true } | { resume_token: string; last_seq: number };

export class SessionLog {
  private token: string | undefined;
  private windowMs = 0;
  private highest = 0;
  private readonly seen = new Set<number>();
  /** Monotonic time the connection was lost (the resume window runs from then). */
  private lostAt: number | undefined;

  /** A SESSION: its `seq` is the log position the join (or resume) covered. */
  session(info: SessionInfo): void {
    this.token = info.resume_token;
    this.windowMs = info.resume_window_seconds * 1000;
    this.highest = Math.max(this.highest, info.seq);
    this.lostAt = undefined;
  }

  /** True when a message with this seq is new (or carries none); false for a duplicate. */
  accept(seq: unknown): boolean {
    if (typeof seq !== "number" || !Number.isSafeInteger(seq)) return true;
    if (this.seen.has(seq)) return false;
    this.seen.add(seq);
    if (seq > this.highest) {
      this.highest = seq;
      if (this.seen.size > SEEN_WINDOW * 2) this.prune();
    }
    return true;
  }

  get lastSeq(): number {
    return this.highest;
  }

  get resumeToken(): string | undefined {
    return this.token;
  }

  lost(now: number): void {
    this.lostAt ??= now;
  }

  /** What to ask for on (re)connect: the session back while its window lasts, else a new one. */
  resumeAuth(now: number): ResumeAuth {
    const fresh = this.token !== undefined && (this.lostAt === undefined || now - this.lostAt < this.windowMs);
    return fresh ? { resume_token: this.token!, last_seq: this.highest } : { resume: true };
  }

  /** The session ended (a clean close, a token refused): the next connect starts a new one. */
  end(): void {
    this.token = undefined;
    this.lostAt = undefined;
  }

  private prune(): void {
    for (const seq of this.seen) if (seq < this.highest - SEEN_WINDOW) this.seen.delete(seq);
  }
}
