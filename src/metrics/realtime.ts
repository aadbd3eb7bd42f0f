/**
 * The realtime layer's Prometheus metrics: what RealtimeMeter reports (joins, messages, refusals,
 * broadcasts, slow consumers, approval waits) plus gauges read at scrape time (connections by
 * wire, rooms held here, connections waiting for a host).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ApprovalOutcome } from "../realtime/approvals.js";
import type { RealtimeMeter, TransportName } from "../realtime/meter.js";

/** Joins are a handful of round trips; under a storm they take seconds (see the bench). */
const JOIN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** One broadcast is a loop of socket writes: microseconds per member. */
const BROADCAST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
/** A host answers in seconds or not at all (APPROVAL_WAIT_SECONDS). */
const APPROVAL_BUCKETS = [1, 5, 15, 30, 60, 120, 300];

export class RealtimeMetrics implements RealtimeMeter {
  private readonly messagesIn: Counter<"type">;
  private readonly messagesOut: Counter<"type">;
  private readonly refusals: Counter<"stage" | "code">;
  private readonly joins: Histogram<"transport">;
  private readonly approvals: Histogram<"outcome">;
  private readonly broadcasts: Histogram;
  private readonly slowConsumers: Counter<"transport">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.messagesIn = new Counter({
      name: "streamit_messages_received_total",
      help: "Client messages received, by type (`invalid`: did not parse)",
      labelNames: ["type"],
      registers,
    });
    this.messagesOut = new Counter({
      name: "streamit_messages_sent_total",
      help: "Server messages sent to connections of this process, by type (one per recipient)",
      labelNames: ["type"],
      registers,
    });
    this.refusals = new Counter({
      name: "streamit_refusals_total",
      help: "Joins and messages refused, by stage (join, message) and error code",
      labelNames: ["stage", "code"],
      registers,
    });
    this.joins = new Histogram({
      name: "streamit_room_join_duration_seconds",
      help: "From a connection's handshake to its place in the room (a wait for the host not included), by transport",
      labelNames: ["transport"],
      buckets: JOIN_BUCKETS,
      registers,
    });
    this.approvals = new Histogram({
      name: "streamit_approval_wait_duration_seconds",
      help: "Pending users' waits for the host's answer, by outcome (answered, rejected, timeout, gone)",
      labelNames: ["outcome"],
      buckets: APPROVAL_BUCKETS,
      registers,
    });
    this.broadcasts = new Histogram({
      name: "streamit_broadcast_duration_seconds",
      help: "Time to hand one room message to every connection of its room on this process",
      buckets: BROADCAST_BUCKETS,
      registers,
    });
    this.slowConsumers = new Counter({
      name: "streamit_slow_consumer_disconnects_total",
      help: "Connections cut for not reading what was sent to them (close 4008), by transport",
      labelNames: ["transport"],
      registers,
    });
  }

  received(type: string): void {
    this.messagesIn.inc({ type });
  }

  sent(type: string, count: number): void {
    if (count > 0) this.messagesOut.inc({ type }, count);
  }

  refused(stage: "join" | "message", code: string): void {
    this.refusals.inc({ stage, code });
  }

  joined(transport: TransportName, seconds: number): void {
    this.joins.observe({ transport }, seconds);
  }

  approvalWaited(outcome: ApprovalOutcome, seconds: number): void {
    this.approvals.observe({ outcome }, seconds);
  }

  broadcast(seconds: number): void {
    this.broadcasts.observe(seconds);
  }

  slowConsumer(transport: TransportName): void {
    this.slowConsumers.inc({ transport });
  }
}

export interface RealtimeGaugeSources {
  /** Open connections of each transport, by wire (`ws`, `socket.io/polling`, `socket.io/websocket`). */
  connections: () => Record<string, number>;
  /** Rooms this process holds (rooms with connections here). */
  localRooms: () => number;
  /** Pending users' connections waiting here for the host's answer. */
  waitingForApproval: () => number;
}

/** Gauges read when Prometheus scrapes (nothing to keep in step on the hot paths). */
export function registerRealtimeGauges(registry: Registry, sources: RealtimeGaugeSources): void {
  const registers = [registry];
  new Gauge({
    name: "streamit_connections",
    help: "Open client connections on this process, by transport wire (ws, socket.io/polling, socket.io/websocket)",
    labelNames: ["transport"],
    registers,
    collect() {
      this.reset();
      for (const [transport, count] of Object.entries(sources.connections())) this.set({ transport }, count);
    },
  });
  new Gauge({
    name: "streamit_local_rooms",
    help: "Rooms with connections on this process",
    registers,
    collect() {
      this.set(sources.localRooms());
    },
  });
  new Gauge({
    name: "streamit_approval_waiting_connections",
    help: "Pending users' connections waiting on this process for the host's answer",
    registers,
    collect() {
      this.set(sources.waitingForApproval());
    },
  });
}
