/** The sync feature's client messages: the clock, drift checks and sync telemetry. */
import { clientMessages } from "@streamit/protocol";
import { currentPosition, isScheduled, snapshotAt } from "../playback/snapshot.js";
import { defineFeature, entry, type RoomView } from "../protocol/feature.js";
import { ok } from "../protocol/results.js";
import type { SyncTelemetry } from "./telemetry.js";

export interface SyncServices {
  telemetry: SyncTelemetry;
  /** The buffering policy (src/buffering/): every report's buffering flag, rate limit or not. */
  buffering: { report(room: RoomView, userId: string, buffering: boolean): Promise<void> };
  /** Past this drift (seconds) a SYNC_CHECK is answered with a SYNC_CORRECTION. */
  driftThresholdSeconds: number;
}

const on = entry<SyncServices>();

export const syncFeature = defineFeature<SyncServices>()("sync", {
  SYNC_CHECK: on({
    schema: clientMessages.SYNC_CHECK,
    who: "member",
    summary:
      "The sender's player position: when it is further than DRIFT_THRESHOLD_SECONDS from the room's, the sender gets SYNC_CORRECTION. The ack carries `corrected` and `drift`.",
    handle({ room, sender, services }, message) {
      const now = Date.now();
      const drift = Math.abs(currentPosition(room.playback, now) - message.client_time);
      // During a scheduled transition's lead the players rightly still follow the state before it.
      if (drift > services.driftThresholdSeconds && !isScheduled(room.playback, now)) {
        sender.connection.send({ type: "SYNC_CORRECTION", ...snapshotAt(room.playback, now) });
        return ok({ corrected: true, drift });
      }
      return ok({ corrected: false, drift });
    },
  }),
  TIME_SYNC: on({
    schema: clientMessages.TIME_SYNC,
    who: "member",
    summary: "Clock sync: answered with TIME_SYNC `{client_ts, server_ts}` (epoch ms); the ack carries `server_ts`.",
    handle({ sender }, message) {
      const serverTs = Date.now();
      sender.connection.send({ type: "TIME_SYNC", client_ts: message.client_ts, server_ts: serverTs });
      return ok({ server_ts: serverTs });
    },
  }),
  SYNC_REPORT: on({
    schema: clientMessages.SYNC_REPORT,
    who: "member",
    summary:
      "Added: sync telemetry, every few seconds. Acked `{drift, corrected}` (signed drift in seconds; a SYNC_CORRECTION follows when off while playing) or `{ignored: true}` when sooner than 1 s after the last. Hosts get ROOM_SYNC summaries. `buffering` is the signal of the room's buffering policy (docs/buffering.md): it counts on every report, even one ignored by the telemetry, so send one as soon as the player starts or stops buffering.",
    async handle({ room, sender, services }, message) {
      // Judged before the telemetry's answer, so that the ack follows whatever it caused.
      await services.buffering.report(room, sender.user.id, message.buffering);
      return services.telemetry.report(room, sender, message);
    },
  }),
});
