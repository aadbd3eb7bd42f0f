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

/** The position at `now` (epoch ms): the anchor plus elapsed time × rate while playing. */
export function currentPosition(state: PlaybackSnapshot, now = Date.now()): number {
  if (!state.is_playing) return state.time;
  return state.time + (Math.max(0, now - state.server_time) / 1000) * state.rate;
}

/** The snapshot re-anchored at `now`, as sent to joiners and in corrections. */
export function snapshotAt(state: PlaybackSnapshot, now = Date.now()): PlaybackSnapshot {
  return { ...state, time: currentPosition(state, now), server_time: now };
}
