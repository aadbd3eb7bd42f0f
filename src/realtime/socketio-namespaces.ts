/**
 * The Socket.IO room namespaces: `/room/<code>`, children of one parent namespace. socket.io
 * creates one on the first connect to it; it is released here once no socket is in it or being
 * admitted to it.
 */
import type { RoomNamespace, RoomServer } from "./socketio-connection.js";

export const ROOM_NAMESPACE = /^\/room\/[^/]{1,32}$/;
export const namespaceOf = (roomCode: string) => `/room/${roomCode}`;

export class RoomNamespaces {
  // Sockets in admission per namespace: between the middleware and the connection event the
  // socket is in no namespace's list, and releasing the namespace then would strand it (joined
  // to a namespace no broadcast reaches).
  private readonly admitting = new Map<string, number>();
  private readonly parent: { children: Set<unknown> };

  constructor(
    private readonly io: RoomServer,
    rooms: RoomNamespace,
  ) {
    this.parent = rooms as unknown as { children: Set<unknown> };
  }

  /**
   * Counts a socket as being admitted to the namespace `name` until the returned callback runs
   * (it connected, or was refused) or `gone` aborts.
   */
  startAdmission(name: string, gone: AbortSignal): () => void {
    this.count(name, 1);
    let counted = true;
    const admitted = () => {
      if (!counted) return;
      counted = false;
      this.count(name, -1);
      gone.removeEventListener("abort", admitted);
    };
    // A connection that closes during admission is never connected: it is no longer being admitted.
    gone.addEventListener("abort", admitted);
    return admitted;
  }

  /** Drops the namespace `name` unless a socket is in it or being admitted to it. */
  release(name: string): void {
    const nsp = this.io._nsps.get(name);
    if (!nsp || nsp.sockets.size > 0 || this.admitting.has(name)) return;
    void nsp.adapter.close();
    this.io._nsps.delete(nsp.name);
    this.parent.children.delete(nsp);
  }

  private count(name: string, delta: number): void {
    const n = (this.admitting.get(name) ?? 0) + delta;
    if (n > 0) this.admitting.set(name, n);
    else this.admitting.delete(name);
  }
}
