/**
 * A loopback TCP proxy that delays each direction by half a round trip, with jitter, in front
 * of the StreamIt server: one per viewer, so each browser page sees its own network. Plain TCP,
 * so the HTTP requests and the WebSocket upgrade and frames all pass through alike.
 *
 * Bytes are never reordered (TCP would not do it either): a chunk leaves at
 * max(the previous chunk's release, its arrival + delay), so jitter stretches gaps but cannot
 * let a later chunk overtake. Delayed bytes wait in memory (no backpressure): the signalling
 * traffic is small, and the video does not come this way.
 */
import net from "node:net";

export interface LatencyOptions {
  target: { host: string; port: number };
  /** Round trip added, ms: each direction gets half. */
  rttMs: number;
  /** ± fraction of the one-way delay, uniformly drawn per chunk (0.3 = ±30 %). */
  jitter: number;
  /** For tests: a source of uniform numbers in [0, 1). */
  random?: () => number;
}

export interface LatencyProxy {
  port: number;
  close(): Promise<void>;
}

/** Timers are ms-grained: releasing what is due within this much of now avoids re-arming for a fraction of a ms. */
const SLACK_MS = 1;

/** One direction of one connection: a FIFO of chunks (null = the sender's end) and one timer for its head. */
class DelayLine {
  private readonly queue: { at: number; chunk: Buffer | null }[] = [];
  private lastRelease = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly out: net.Socket,
    private readonly delayMs: () => number,
  ) {}

  push(chunk: Buffer): void {
    this.enqueue(chunk);
  }

  /** The sender finished (or vanished): end the receiver once what is still in line has left. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.enqueue(null);
  }

  private enqueue(chunk: Buffer | null): void {
    const at = Math.max(this.lastRelease, performance.now() + this.delayMs());
    this.lastRelease = at;
    this.queue.push({ at, chunk });
    if (!this.timer) this.arm();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    this.timer = head ? setTimeout(() => this.release(), Math.max(0, head.at - performance.now())) : undefined;
  }

  private release(): void {
    const due = performance.now() + SLACK_MS;
    while (this.queue.length > 0 && this.queue[0]!.at <= due) {
      const { chunk } = this.queue.shift()!;
      if (this.out.destroyed) continue;
      if (chunk) this.out.write(chunk);
      else this.out.end();
    }
    this.arm();
  }
}

export async function start(options: LatencyOptions): Promise<LatencyProxy> {
  const random = options.random ?? Math.random;
  const oneWay = options.rttMs / 2;
  const delayMs = () => Math.max(0, oneWay * (1 + options.jitter * (2 * random() - 1)));
  const open = new Set<{ cancel(): void }>();

  // Half-open on both sides: an end must wait in line behind the data still delayed, so no
  // socket may end its writable side by itself when the other side finishes.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ ...options.target, allowHalfOpen: true, noDelay: true });
    const toServer = new DelayLine(upstream, delayMs);
    const toClient = new DelayLine(client, delayMs);
    const connection = {
      cancel() {
        toServer.cancel();
        toClient.cancel();
        client.destroy();
        upstream.destroy();
      },
    };
    open.add(connection);
    client.on("data", (chunk: Buffer) => toServer.push(chunk));
    upstream.on("data", (chunk: Buffer) => toClient.push(chunk));
    client.on("end", () => toServer.end());
    upstream.on("end", () => toClient.end());
    // A reset on either side resets the other at once (nothing left is worth delivering); a
    // quiet close passes on as an end, after the bytes still in line.
    client.on("close", (hadError) => (hadError ? connection.cancel() : toServer.end()));
    upstream.on("close", (hadError) => (hadError ? connection.cancel() : toClient.end()));
    client.on("error", () => connection.cancel());
    upstream.on("error", () => connection.cancel());
    let closed = 0;
    const forget = () => (closed += 1) === 2 && open.delete(connection);
    client.once("close", forget);
    upstream.once("close", forget);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const connection of open) connection.cancel();
        open.clear();
        server.close(() => resolve());
      }),
  };
}
