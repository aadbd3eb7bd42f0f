/**
 * The playback feature's client messages. The playback service judges the sender with the
 * command itself, in the versioned UPDATE (PERMISSION_DENIED), never by this instance's copy of
 * the roles. Command ids are per user (one person's tabs share them): whoever may not drive
 * cannot take, or be answered "duplicate" for, an id someone else used.
 */
import { type ClientMessageOf, clientMessages } from "@streamit/protocol";
import { defineFeature, entry, type MessageContext } from "../protocol/feature.js";
import { type CommandResult, fail, ok } from "../protocol/results.js";
import type { PlaybackService } from "./service.js";
import { snapshotAt } from "./snapshot.js";

export interface PlaybackServices {
  playback: PlaybackService;
  /** How far ahead a start is scheduled in this room (ms; 0 = at once): see sync/start-lead.ts. */
  startLeadMs(roomId: string): number;
}

const on = entry<PlaybackServices>();
type Context = MessageContext<PlaybackServices>;

/** PLAY, PAUSE and SEEK carry the same fields (see @streamit/protocol for command_id and expected_version). */
type Command = ClientMessageOf<"PLAY">;
const ERRORS = ["PERMISSION_DENIED", "STALE_VERSION"] as const;

/** Runs a playback change once per command id; everyone gets the new PLAYBACK_STATE. */
function drive(ctx: Context, clientId: string | undefined, change: () => Promise<CommandResult>): Promise<CommandResult> {
  const key = clientId === undefined ? undefined : `playback/${ctx.sender.user.id}/${clientId}`;
  return ctx.once(key, () => ok({ duplicate: true, version: ctx.room.playback.version }), change);
}

function set(kind: "PLAY" | "PAUSE" | "SEEK") {
  return async (ctx: Context, message: Command): Promise<CommandResult> =>
    drive(ctx, message.command_id, async () => {
      const { room, sender, services } = ctx;
      const playback = await services.playback.apply(room.id, kind, message.time, {
        actorId: sender.user.id,
        expectedVersion: message.expected_version,
        leadMs: kind === "PAUSE" ? 0 : services.startLeadMs(room.id),
      });
      return playback ? changed(ctx, playback) : stale(ctx, message.expected_version);
    });
}

/** Stale: this instance catches up with the state the database has, and the sender sees it. */
async function stale(ctx: Context, expected: number | undefined): Promise<CommandResult> {
  const current = await ctx.services.playback.load(ctx.room.id);
  await ctx.applyHere({ type: "room.playback_changed", playback: current });
  ctx.reply({ type: "PLAYBACK_STATE", ...snapshotAt(current) });
  return fail("STALE_VERSION", `The playback state is at version ${current.version}, not ${expected}`);
}

async function changed(ctx: Context, playback: Awaited<ReturnType<PlaybackService["load"]>>): Promise<CommandResult> {
  await ctx.publish({ type: "room.playback_changed", playback });
  return ok({ version: playback.version });
}

export const playbackFeature = defineFeature<PlaybackServices>()("playback", {
  PLAY: on({
    schema: clientMessages.PLAY,
    who: "playback",
    summary: "Plays from `time` (seconds). Everyone gets PLAYBACK_STATE; the ack carries `version`.",
    errors: ERRORS,
    handle: set("PLAY"),
  }),
  PAUSE: on({
    schema: clientMessages.PAUSE,
    who: "playback",
    summary: "Pauses at `time`. Everyone gets PLAYBACK_STATE; the ack carries `version`.",
    errors: ERRORS,
    handle: set("PAUSE"),
  }),
  SEEK: on({
    schema: clientMessages.SEEK,
    who: "playback",
    summary: "Moves to `time`, play state kept. Everyone gets PLAYBACK_STATE; the ack carries `version`.",
    errors: ERRORS,
    handle: set("SEEK"),
  }),
  SET_RATE: on({
    schema: clientMessages.SET_RATE,
    who: "playback",
    summary:
      "Added: sets the playback rate (0.25–2) from where the play head is. Everyone gets PLAYBACK_STATE with the new `rate`; the ack carries `version`.",
    errors: ERRORS,
    handle: (ctx, message) =>
      drive(ctx, message.command_id, async () => {
        const { room, sender, services } = ctx;
        const playback = await services.playback.setRate(room.id, message.rate, {
          actorId: sender.user.id,
          expectedVersion: message.expected_version,
          leadMs: services.startLeadMs(room.id),
        });
        return playback ? changed(ctx, playback) : stale(ctx, message.expected_version);
      }),
  }),
  UNDO_SEEK: on({
    schema: clientMessages.UNDO_SEEK,
    who: "playback",
    summary: "Added: back to where the latest seek not yet undone started, play state kept (a second undo takes the seek before).",
    errors: ["PERMISSION_DENIED", "NOTHING_TO_UNDO"],
    handle: (ctx, message) =>
      drive(ctx, message.command_id, async () => {
        const playback = await ctx.services.playback.undoSeek(ctx.room.id, ctx.sender.user.id);
        return playback ? changed(ctx, playback) : fail("NOTHING_TO_UNDO", "There is no seek to undo");
      }),
  }),
});
