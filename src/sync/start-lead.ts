/**
 * How far ahead a start (PLAY, or SEEK while playing) is scheduled, so that every viewer starts
 * together: twice the room's 95th-percentile round trip (the state must reach the slowest
 * viewers, and their players must seek and buffer), never below the floor, capped (a longer
 * wait reads as lag to the host). A cap of 0 turns scheduling off: changes apply on arrival.
 */
export interface StartLeadOptions {
  floorMs: number;
  maxMs: number;
}

export function startLeadMs(rttP95Ms: number | undefined, options: StartLeadOptions): number {
  if (options.maxMs <= 0) return 0;
  const wanted = Math.max(options.floorMs, 2 * (rttP95Ms ?? 0));
  return Math.round(Math.min(options.maxMs, wanted));
}
