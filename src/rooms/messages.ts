/** The room roles' client messages: co-hosts, keeping the room (persistence) and taking it back after succession. */
import { clientMessages } from "@streamit/protocol";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { defineFeature, entry } from "../protocol/feature.js";
import { ok } from "../protocol/results.js";
import type { PersistenceService } from "./persistence.js";
import type { RoleService } from "./roles.js";

export interface RoleServices {
  roles: RoleService;
  lifecycle: RoomLifecycle;
  persistence: PersistenceService;
}

const on = entry<RoleServices>();

export const rolesFeature = defineFeature<RoleServices>()("roles", {
  SET_COHOST: on({
    schema: clientMessages.SET_COHOST,
    who: "host",
    summary: "Added: names (`cohost: true`) or un-names a co-host. Everyone gets COHOSTS_CHANGED; the ack carries `cohosts`.",
    errors: ["PERMISSION_DENIED", "PARTICIPANT_NOT_FOUND", "VALIDATION_FAILED"],
    async handle({ room, sender, services }, message) {
      // The role service checks the host under the room's row lock ("Only host can manage co-hosts").
      const roles = await services.roles.setCohost(sender.user, room.id, message.user_id.toLowerCase(), message.cohost);
      return ok({ cohosts: roles.cohosts });
    },
  }),
  SET_PERSISTENT: on({
    schema: clientMessages.SET_PERSISTENT,
    who: "host",
    summary:
      "Added: the host (registered) keeps the room: when grace runs out with nobody to take it, it rests (RESTING) instead of expiring, and wakes when the host or a successor comes back. Everyone gets ROOM_PERSISTENCE; the ack carries `is_persistent`.",
    errors: ["PERMISSION_DENIED", "CONFLICT"],
    async handle({ room, sender, services }, message) {
      const { is_persistent } = await services.persistence.set(sender.user, room.id, message.persistent);
      return ok({ is_persistent });
    },
  }),
  RECLAIM_HOST: on({
    schema: clientMessages.RECLAIM_HOST,
    who: "previousHost",
    summary:
      "Added: the host who lost the room to succession takes it back (within the reclaim window). Everyone gets HOST_CHANGED `reclaimed`.",
    errors: ["PERMISSION_DENIED", "CONFLICT"],
    async handle({ room, sender, services }) {
      await services.lifecycle.reclaim(room.id, sender.user.id);
      return ok();
    },
  }),
});
