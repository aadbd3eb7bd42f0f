/**
 * The playback state as clients see it: `{is_playing, time, rate, version}` anchored at
 * `server_time` (epoch ms), and the arithmetic every instance and client extrapolates it with.
 */
export interface PlaybackSnapshot {
  is_playing: boolean;
  time: number;
  version: number;
  rate: number;
  server_time: number;
  /** Set on a scheduled start still to come, as sent (see asSent). */
  effective_at?: number;
}

/** A playback_states row (or the columns of one) as a snapshot. */
export const toPlaybackSnapshot = (row: {
  is_playing: boolean;
  position_seconds: number;
  version: number;
  rate: number;
  updated_at: Date;
}): PlaybackSnapshot => ({
  is_playing: row.is_playing,
  time: row.position_seconds,
  version: row.version,
  rate: row.rate,
  server_time: row.updated_at.getTime(),
});

/**
 * The position at `now` (epoch ms): the anchor plus elapsed time × rate while playing. An anchor
 * in the future is a scheduled start: the position holds at `time` until then.
 */
export function currentPosition(state: PlaybackSnapshot, now = Date.now()): number {
  if (!state.is_playing) return state.time;
  return state.time + (Math.max(0, now - state.server_time) / 1000) * state.rate;
}

/** A start that has not happened yet at `now` (see PlaybackService.apply's `leadMs`). */
export const isScheduled = (state: PlaybackSnapshot, now = Date.now()): boolean => state.server_time > now;

/**
 * The state as a PLAYBACK_STATE carries it at `now`: a pending scheduled start names its moment
 * (`effective_at`), a state already in force has none.
 */
export function asSent(state: PlaybackSnapshot, now = Date.now()): PlaybackSnapshot {
  const { effective_at: _, ...inForce } = state;
  return isScheduled(state, now) ? { ...inForce, effective_at: state.server_time } : inForce;
}

/**
 * The snapshot re-anchored at `now`, as sent to joiners and in corrections. A pending scheduled
 * start keeps its future anchor (re-anchoring it now would start the joiner early).
 */
export function snapshotAt(state: PlaybackSnapshot, now = Date.now()): PlaybackSnapshot {
  if (isScheduled(state, now)) return asSent(state, now);
  return asSent({ ...state, time: currentPosition(state, now), server_time: now }, now);
}
