/**
 * The admission of a socket to a room namespace (the namespaces' middleware): the engine.io
 * connection's door first (EngineGate), then hub.admit. A refusal reaches the client as
 * connect_error with `data.code` (the close code).
 */

import { CLOSE_CODES } from "@streamit/protocol";
import type { EngineGate } from "./engine-gate.js";
import type { RoomHub } from "./hub.js";
import type { RoomSocket } from "./socketio-connection.js";
import { namespaceOf, type RoomNamespaces } from "./socketio-namespaces.js";
import { JoinRejected, type ResumeRequest, resumeRequest } from "./types.js";

/** A refusal as socket.io's connect_error: `message` the reason code, `data` the close code and text. */
export function refusal(rejection: JoinRejected): Error {
  const error = new Error(rejection.reason) as Error & { data: unknown };
  error.data = { code: rejection.closeCode, message: rejection.message };
  return error;
}

/**
 * The room namespaces' middleware. An admitted socket connects with its admission in
 * `socket.data` and still counts as being admitted until its connection event (`admitted`).
 */
export function roomAdmission(hub: RoomHub, gate: EngineGate, namespaces: RoomNamespaces) {
  return async (socket: RoomSocket, next: (err?: Error) => void): Promise<void> => {
    const name = socket.nsp.name;
    let entered: Awaited<ReturnType<EngineGate["enter"]>>;
    try {
      entered = await gate.enter(socket.conn);
    } catch (err) {
      next(refusal(err as JoinRejected));
      namespaces.release(name);
      return;
    }
    const admitted = namespaces.startAdmission(name, entered.gone);
    const { token, resume, wait } = readAuth(socket);
    try {
      // A pending user may wait for the host's answer: the connect completes once approved.
      const approval = wait ? { signal: entered.gone } : undefined;
      const admission = await hub.admit(token, name.slice("/room/".length), entered.client, resume, approval);
      // One namespace per room across the cluster: the canonical (upper-case) code only.
      if (name !== namespaceOf(admission.room.code)) {
        throw new JoinRejected(4002, "ROOM_NOT_FOUND", `Use the room code in upper case: ${namespaceOf(admission.room.code)}`);
      }
      // Gone meanwhile: socket.io will never connect it; refuse it so it is cleaned up here too.
      if (entered.gone.aborted) throw new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Connection closed");
      socket.data.admission = admission;
      socket.data.admitted = admitted;
      next();
    } catch (err) {
      // hub.admit turns every failure into a JoinRejected with a documented code.
      admitted();
      gate.leave(socket.conn);
      next(refusal(err as JoinRejected));
      namespaces.release(name);
    }
  };
}

/** What the client asked for in its handshake: the token (auth, else query), resume and `wait`. */
function readAuth(socket: RoomSocket): { token: string | null; resume: ResumeRequest | undefined; wait: boolean } {
  const auth = socket.handshake.auth as { token?: unknown; resume?: unknown; resume_token?: unknown; last_seq?: unknown; wait?: unknown };
  const resume = resumeRequest(auth?.resume, auth?.resume_token, auth?.last_seq);
  const query = socket.handshake.query.token;
  const token = typeof auth?.token === "string" ? auth.token : typeof query === "string" ? query : null;
  return { token, resume, wait: auth?.wait === true };
}
