/**
 * One raw WebSocket client: JSON text frames, with the slow-consumer bound on what the server
 * holds for it (see BacklogWatch).
 */
import { randomUUID } from "node:crypto";
import { CLOSE_CODES, type ServerMessage } from "@streamit/protocol";
import { WebSocket } from "ws";
import { BacklogWatch } from "./backlog.js";
import { type RealtimeMeter, typeOfEncoded } from "./meter.js";
import { type Connection, SLOW_CONSUMER_CUT_MS, withSeq } from "./types.js";

export class RawConnection implements Connection {
  readonly id = `ws:${randomUUID()}`;
  readonly transport = "ws" as const;
  alive = true;
  private readonly backlog: BacklogWatch;

  constructor(
    readonly socket: WebSocket,
    sendBufferBytes: number,
    readonly resumable: boolean,
    readonly scheduledStarts: boolean,
    readonly deltaPresence: boolean,
    private readonly meter: RealtimeMeter,
  ) {
    this.backlog = new BacklogWatch(
      sendBufferBytes,
      () => socket.bufferedAmount,
      () => {
        meter.slowConsumer("ws");
        this.close(CLOSE_CODES.SLOW_CONSUMER, "Connection too slow: reconnect");
        setTimeout(() => this.socket.terminate(), SLOW_CONSUMER_CUT_MS).unref();
      },
    );
    socket.once("close", () => this.backlog.stop());
  }

  send(message: ServerMessage, seq?: number): void {
    this.meter.sent(message.type, 1);
    this.sendFrame(this.resumable ? withSeq(JSON.stringify(message), seq) : JSON.stringify(message));
  }

  sendEncoded(json: string, seq?: number): void {
    this.meter.sent(typeOfEncoded(json), 1);
    this.sendFrame(this.resumable ? withSeq(json, seq) : json);
  }

  /**
   * A broadcast passes its frame already UTF-8 encoded, once for every member. A client that
   * stops reading would make the server hold every frame of the room for it: once its backlog
   * stays past the bound (see BacklogWatch) it is closed (4008; cut a moment later if even the
   * close frame cannot get through) and reconnects to a fresh snapshot.
   */
  sendFrame(frame: string | Buffer): void {
    if (this.socket.readyState !== WebSocket.OPEN || this.backlog.dropped) return;
    this.socket.send(frame, { binary: false });
    this.backlog.check();
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, closeReason(reason));
    }
  }
}

/** A close frame's reason holds at most 123 UTF-8 bytes (RFC 6455): longer ones are cut, with "…". */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = "";
  for (const char of reason) {
    if (Buffer.byteLength(cut + char) > 120) break;
    cut += char;
  }
  return `${cut}…`;
}
