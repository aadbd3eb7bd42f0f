/**
 * @streamit/client: StreamIt's client SDK, for browsers and Node.
 *
 *   const room = connect({ url: "https://watch.example", code: "ABC123", getToken, player: new Html5Player(video) });
 *   room.on("CHAT_MESSAGE", (m) => show(m.user, m.message));
 *   await room.ready;
 *   await room.play(); // the host
 */
import { type ConnectOptions, Room } from "./room.js";

export { Backoff, type BackoffOptions, fullJitter } from "./backoff.js";
export { type ClockEstimate, estimateFrom, onPageVisible, type Ping, ServerClock, type ServerClockOptions } from "./clock.js";
export type { ClosedInfo, ConnectionStatus } from "./connection.js";
export {
  type Correction,
  type CorrectionInput,
  type CorrectionOptions,
  type CorrectionPhase,
  type CorrectionStats,
  Corrector,
} from "./correction.js";
export { isRetryable, type LocalErrorCode, RoomError } from "./errors.js";
export { Html5Player } from "./html5-player.js";
export { type PlayerAdapter, type PlayerEvent, SeekLatency } from "./player.js";
export { type Ending, type Verdict, verdictFor } from "./refusals.js";
export { type Invite, type JoinAnswer, type RoomDetail, RoomsRest, type RoomsRestOptions, type WaitingRoomDetail } from "./rest.js";
export {
  type CommandResult,
  type ConnectOptions,
  Room,
  type RoomEvents,
  type RoomMessage,
  type RoomSource,
  type RoomStats,
} from "./room.js";
export { type PlaybackNow, type PlaybackState, positionOf, RoomClock } from "./room-clock.js";
export { Roster, type RosterMember } from "./roster.js";
export { type ResumeAuth, type SessionInfo, SessionLog } from "./session.js";
export {
  type CorrectionMode,
  type ReportAnswer,
  SyncController,
  type SyncControllerOptions,
  type SyncReport,
  type SyncStats,
} from "./sync-controller.js";
export { type Clocks, type Scheduler, systemClocks, systemScheduler } from "./timers.js";
export { jwtExpiry, reauthDelay } from "./token.js";

/** Connects to a room; the Room is usable at once (listeners added now see the join), `room.ready` says when it is in. */
export function connect(options: ConnectOptions): Room {
  return new Room(options);
}
