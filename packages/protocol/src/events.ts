/** The Socket.IO event maps: the event name is the message type, the argument the message's fields. */
import type { ClientMessageType, ClientPayloadOf } from "./client-messages.js";
import type { Ack } from "./results.js";
import type { ServerMessageOf, ServerMessageType } from "./server-messages.js";

/** Server → client: `socket.on("PLAYBACK_STATE", (state) => …)`, typed. */
export type ServerToClientEvents = {
  [K in ServerMessageType]: (message: ServerMessageOf<K>) => void;
};

/** Client → server: the same payload as the raw frame (`type` optional), with an optional ack. */
export type ClientToServerEvents = {
  [K in ClientMessageType]: (payload: ClientPayloadOf<K> & { type?: K }, ack?: (result: Ack) => void) => void;
};
