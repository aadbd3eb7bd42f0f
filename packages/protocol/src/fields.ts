/** Zod fields that several message types share (positions, user ids, command ids, shown text). */
import { z } from "zod";
import { messageProblem } from "./text.js";

/** A media position or duration in seconds. */
export const seconds = z.number().min(0).max(1e7);
export const userId = z.uuid("user_id must be a valid UUID");

/** The longest timed mute or ban (longer ones are given without a duration: until lifted). */
export const SANCTION_MAX_SECONDS = 30 * 24 * 3600;
/** Text other people read (chat, reasons): the policy of src/text.ts, refused with its reason. */
export const shownText = <T extends z.ZodString>(schema: T, field: string) =>
  schema.superRefine((text, ctx) => {
    const problem = messageProblem(text);
    if (problem) ctx.addIssue({ code: "custom", message: `${field} ${problem}` });
  });
/** The moderator's reason (kick, mute, ban): shown to the room and kept in the timeline. */
export const reason = shownText(z.string().trim().max(200, "reason must be at most 200 characters"), "reason").nullish();
export const durationSeconds = z
  .number()
  .int("duration_seconds must be a whole number")
  .min(1, "duration_seconds must be at least 1")
  .max(SANCTION_MAX_SECONDS, `duration_seconds must be at most ${SANCTION_MAX_SECONDS} (30 days)`)
  .nullish();

export const commandId = z
  .string()
  .regex(/^[\w.:-]{1,64}$/, "command_id must be 1-64 letters, digits, or . _ : -")
  .optional();

/** `expected_version`: apply only if the room's playback state is still at this version. */
export const expectedVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional();
