/**
 * The room's intended playback position at any true time, rebuilt offline from the
 * PLAYBACK_STATE messages a directly connected observer received. A state's `time` is exact at
 * its anchor and advances at `rate` while `is_playing`.
 *
 * A state takes effect at `server_time`, the moment the server decided it (the observer's
 * arrival, a few ms later, would blame the server's fan-out on every client). A state with
 * `effective_at` (epoch ms) is scheduled instead: the previous state holds until then, and its
 * `time` is read as the position at that moment (the anchor is the later of `server_time` and
 * `effective_at`: a state sent after it took effect, as to a joiner, is re-anchored at
 * `server_time` like any snapshot). A newer state cancels what was still pending when it
 * arrived (as the server drops a start it still holds) and replaces whatever was scheduled at
 * or after its own moment: the latest word wins from where it applies.
 *
 * The server sends `effective_at` only to clients that asked (`schedule`); the others, the
 * observer among them, get a scheduled state at its moment, anchored there. Both readings give
 * the same timeline.
 */

export interface PlaybackState {
  is_playing: boolean;
  time: number;
  version: number;
  server_time: number;
  rate: number;
  effective_at?: number;
}

export type Change = "play" | "pause" | "seek" | "rate";

export interface Segment {
  /** True epoch ms from which this state holds. */
  from: number;
  /** Where `time` is exact. */
  anchor: number;
  state: PlaybackState;
  /** How it differs from the segment before (empty for the first). */
  changes: Change[];
}

/** A jump larger than this (seconds) at a transition is a seek, not rounding. */
const SEEK_EPSILON = 0.25;

const positionIn = (segment: Segment, t: number): number =>
  segment.state.is_playing ? segment.state.time + ((t - segment.anchor) / 1000) * segment.state.rate : segment.state.time;

export class IntendedTimeline {
  readonly segments: Segment[] = [];

  static from(states: Iterable<PlaybackState & { receivedAt?: number }>): IntendedTimeline {
    const timeline = new IntendedTimeline();
    for (const state of states) timeline.add(state);
    return timeline;
  }

  /**
   * Adds a state, in the order received; `receivedAt` (true epoch ms) lets it cancel a start
   * still pending then. A repeated or older version changes nothing.
   */
  add(state: PlaybackState & { receivedAt?: number }): void {
    const last = this.segments.at(-1);
    if (last && state.version <= last.state.version) return;
    const from = state.effective_at ?? state.server_time;
    const cut = Math.min(from, state.receivedAt ?? from);
    while (this.segments.length > 0 && this.segments.at(-1)!.from >= cut) this.segments.pop();
    const before = this.segments.at(-1);
    const segment: Segment = { from, anchor: Math.max(state.server_time, from), state, changes: [] };
    if (before) segment.changes = changesBetween(before, segment);
    this.segments.push(segment);
  }

  /** The segment in force at true time `t`, if any state applies yet. */
  segmentAt(t: number): Segment | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | undefined;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (this.segments[mid]!.from <= t) {
        found = this.segments[mid];
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }

  /** Intended position (seconds) at true epoch ms `t`. */
  positionAt(t: number): number | undefined {
    const segment = this.segmentAt(t);
    return segment && positionIn(segment, t);
  }

  /** The true time the segment after `segment` starts (Infinity for the last). */
  endOf(segment: Segment): number {
    const next = this.segments[this.segments.indexOf(segment) + 1];
    return next ? next.from : Number.POSITIVE_INFINITY;
  }

  /** Every segment after the first: the room's transitions, each at its `from`. */
  transitions(): Segment[] {
    return this.segments.slice(1);
  }
}

function changesBetween(before: Segment, after: Segment): Change[] {
  const changes: Change[] = [];
  if (!before.state.is_playing && after.state.is_playing) changes.push("play");
  if (before.state.is_playing && !after.state.is_playing) changes.push("pause");
  if (before.state.rate !== after.state.rate) changes.push("rate");
  if (Math.abs(positionIn(after, after.from) - positionIn(before, after.from)) > SEEK_EPSILON) changes.push("seek");
  return changes;
}
