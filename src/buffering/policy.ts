/**
 * A room's buffering policy and the two decisions it makes, as pure functions: does a viewer who
 * buffers pause the room, and may a paused room play again. "Waiting" users are the online
 * members whose latest SYNC_REPORT says buffering, minus those cooling down (a resume left them
 * behind a moment ago: they neither pause the room nor are waited for). See docs/buffering.md.
 */
import type { BufferingPolicyName } from "@streamit/protocol";
import type { BufferingView } from "../state/buffer-waits/buffer-waits.js";

export interface BufferingPolicy {
  policy: BufferingPolicyName;
  max_wait_seconds: number;
  ready_percent: number;
}

export const NEVER: BufferingPolicy = { policy: "never", max_wait_seconds: 10, ready_percent: 75 };

/** Why a wait ended with a PLAY (the timeline's `buffering.resumed` says). */
export type ResumeReason = "ready" | "share" | "timeout" | "policy";

/** The users the room waits for now: online, buffering, not cooling down (sorted, for stable messages). */
export function waitingUsers(view: BufferingView, online: ReadonlySet<string>): string[] {
  return [...view.buffering].filter((id) => online.has(id) && !view.cooldown.has(id)).sort();
}

/** The share (%) of the online members who are ready. */
const readyPercent = (waiting: number, online: number): number => (online === 0 ? 100 : ((online - waiting) / online) * 100);

/**
 * Whether a playing room pauses: someone waits (wait_for_all), or the ready share fell below the
 * policy's (wait_for_share: a room where enough are ready plays on without the others).
 */
export function shouldPause(policy: BufferingPolicy, waiting: number, online: number): boolean {
  if (waiting === 0 || policy.policy === "never") return false;
  return policy.policy === "wait_for_all" || readyPercent(waiting, online) < policy.ready_percent;
}

/** Whether a wait ends with a PLAY now, and why; undefined: it goes on. */
export function resumeReason(policy: BufferingPolicy, waiting: number, online: number, timedOut: boolean): ResumeReason | undefined {
  if (policy.policy === "never") return "policy";
  if (waiting === 0) return "ready";
  if (policy.policy === "wait_for_share" && readyPercent(waiting, online) >= policy.ready_percent) return "share";
  return timedOut ? "timeout" : undefined;
}
