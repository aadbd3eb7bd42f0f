/**
 * A room's buffering policy over REST: the host sets it (written with its timeline row, then
 * published, so members get BUFFERING_POLICY); the room detail and the coordinator read it.
 * Transport-free: returns plain objects and throws AppError.
 */
import { sql } from "kysely";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import { errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import { requireHostOf } from "../rooms/service.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import type { BufferingPolicy } from "./policy.js";

/** What the host sends: the policy, and the numbers it keeps when left out. */
export interface BufferingPolicyInput {
  policy: BufferingPolicy["policy"];
  max_wait_seconds?: number | undefined;
  ready_percent?: number | undefined;
}

export class BufferingSettingsService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
  ) {}

  /** The room's policy (NOT_FOUND for an unknown room). */
  async policyOf(roomId: string): Promise<BufferingPolicy> {
    const row = await this.db
      .selectFrom("rooms")
      .select(["buffering_policy as policy", "buffering_max_wait_seconds as max_wait_seconds", "buffering_ready_percent as ready_percent"])
      .where("id", "=", roomId)
      .executeTakeFirst();
    if (!row) throw errors.roomNotFound();
    return row;
  }

  /** REST, the host: sets the policy; numbers left out keep their values. */
  async set(user: AuthUser, roomId: string, input: BufferingPolicyInput): Promise<BufferingPolicy & { room_id: string }> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can change the buffering policy");
    assertJoinable(room);
    const next: BufferingPolicy = {
      policy: input.policy,
      max_wait_seconds: input.max_wait_seconds ?? room.buffering_max_wait_seconds,
      ready_percent: input.ready_percent ?? room.buffering_ready_percent,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("rooms")
        .set({
          buffering_policy: next.policy,
          buffering_max_wait_seconds: next.max_wait_seconds,
          buffering_ready_percent: next.ready_percent,
          updated_at: sql`now()`,
        })
        .where("id", "=", room.id)
        .execute();
      await recordRoomEvent(trx, room.id, user.id, "room.buffering_policy_changed", { from: room.buffering_policy, ...next });
    });
    this.events.publish({ type: "room.buffering_policy_changed", roomId: room.id, code: room.code, policy: next });
    return { room_id: room.id, ...next };
  }
}
