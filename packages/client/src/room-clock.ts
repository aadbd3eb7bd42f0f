/**
 * Where the room is: the intended media position at any server time, from the latest
 * PLAYBACK_STATE. A state says "`time` was exact at its anchor and advances at `rate` while
 * playing"; the anchor is `server_time`, or `effective_at` when the server schedules a transition
 * ahead (so that every viewer, however far, starts together): until then the previous state
 * still holds.
 */

/** What the room clock needs of a PLAYBACK_STATE (or SYNC_CORRECTION). */
export interface PlaybackState {
  is_playing: boolean;
  /** Media position (s), exact at the anchor. */
  time: number;
  /** Server epoch ms at which `time` was exact. */
  server_time: number;
  rate: number;
  version: number;
  /** Server epoch ms at which the state takes effect (a scheduled transition); optional. */
  effective_at?: number;
}

/** The room's playback at one instant. */
export interface PlaybackNow {
  playing: boolean;
  /** Intended position (s). */
  position: number;
  rate: number;
  version: number;
}

export class RoomClock {
  private current: PlaybackState | undefined;
  /** Scheduled states not yet in effect, by effective_at ascending. */
  private pending: PlaybackState[] = [];

  /** The newest version known (in effect or scheduled); -1 before any. */
  get version(): number {
    return this.pending.at(-1)?.version ?? this.current?.version ?? -1;
  }

  get known(): boolean {
    return this.current !== undefined || this.pending.length > 0;
  }

  /** The state in effect at `serverNow`. */
  stateAt(serverNow: number): PlaybackState | undefined {
    this.promote(serverNow);
    return this.current;
  }

  /**
   * Takes a state; false when it is older than what is known. The same version again (a join
   * snapshot, a SYNC_CORRECTION) re-anchors it: the server extrapolated it to a later instant.
   */
  apply(state: PlaybackState, serverNow: number): boolean {
    if (state.version < this.version) return false;
    this.promote(serverNow);
    if (state.effective_at !== undefined && state.effective_at > serverNow) {
      // A newer command supersedes what was scheduled after it.
      this.pending = this.pending.filter((p) => p.version < state.version && p.effective_at! < state.effective_at!);
      this.pending.push(state);
      if (!this.current) this.current = { ...state, is_playing: false };
      return true;
    }
    this.pending = [];
    this.current = state;
    return true;
  }

  /** The intended playback at `serverNow` (server epoch ms); undefined before any state. */
  at(serverNow: number): PlaybackNow | undefined {
    const state = this.stateAt(serverNow);
    if (!state) return undefined;
    return { playing: state.is_playing, position: positionOf(state, serverNow), rate: state.rate, version: state.version };
  }

  /** Server time of the next scheduled transition, if any. */
  nextTransition(serverNow: number): number | undefined {
    this.promote(serverNow);
    return this.pending[0]?.effective_at;
  }

  clear(): void {
    this.current = undefined;
    this.pending = [];
  }

  private promote(serverNow: number): void {
    while (this.pending.length > 0 && this.pending[0]!.effective_at! <= serverNow) this.current = this.pending.shift();
  }
}

/** The position a state gives at `serverNow`: anchored at effective_at when it has one. */
export function positionOf(state: PlaybackState, serverNow: number): number {
  if (!state.is_playing) return state.time;
  const anchor = state.effective_at ?? state.server_time;
  return Math.max(0, state.time + ((serverNow - anchor) / 1000) * state.rate);
}
