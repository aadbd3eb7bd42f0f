/** /api/auth/* (and /api/set-username/): accounts, guests, tokens. */

import { displayNameProblem } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { createAuthGuards, currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, optionalBearerAuth, publicAccess, requiredText, says } from "../http/schemas.js";
import { PASSWORD_MAX_LENGTH } from "./passwords.js";
import type { AuthService } from "./service.js";
import { USERNAME_PATTERN } from "./users.js";

const tags = ["auth"];

const tokenFields = {
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
};

export const loginResponse = z
  .object({
    id: z.uuid(),
    display_name: z.string(),
    username: z.string().nullable(),
    is_guest: z.boolean(),
    ...tokenFields,
  })
  .meta({ id: "Session", description: "The account and its tokens (register, login, guest, refresh)" });

/** GET /me/: the caller's account. */
const user = z
  .object({
    id: z.uuid(),
    display_name: z.string(),
    username: z.string().nullable(),
    email: z.string().nullable(),
    is_guest: z.boolean(),
    is_staff: z.boolean(),
  })
  .meta({ id: "User" });

const usernameSchema = z
  .string({ error: says("Username required") })
  .trim()
  .min(1, says("Username required"))
  .regex(USERNAME_PATTERN, says("Username must be 3-20 chars, alphanumeric or underscore"));

export const DISPLAY_NAME_MAX_LENGTH = 50;
const DISPLAY_NAME_REQUIRED = says("Display name required");

/**
 * A display name as register/ and guest/ take it (and wherever else one is set): trimmed, 1-50
 * characters, and within the display-name policy of src/text.ts (no control, bidirectional or
 * invisible formatting characters). Each refusal says why, naming the field.
 */
export const displayNameSchema = z
  .string({ error: DISPLAY_NAME_REQUIRED })
  .trim()
  .min(1, DISPLAY_NAME_REQUIRED)
  .max(DISPLAY_NAME_MAX_LENGTH, says(`Display name must be at most ${DISPLAY_NAME_MAX_LENGTH} characters`))
  .superRefine((name, ctx) => {
    const problem = displayNameProblem(name);
    // The policy's messages are few and fixed: each is registered once as an exact message.
    if (problem) ctx.addIssue({ code: "custom", message: says(`Display name ${problem}`) });
  });

export const setUsernameRoute =
  (auth: AuthService): FastifyPluginAsyncZod =>
  async (app) => {
    const guards = createAuthGuards(auth);
    app.post(
      "/set-username/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "Set (or change) the caller's username; also sets the display name",
          security: bearerAuth,
          body: z.object({ username: usernameSchema }),
          response: { 200: z.object({ status: z.literal("ok") }), ...errorResponses(400, 401) },
        },
      },
      async (request) => {
        await auth.setUsername(currentUser(request).id, request.body.username);
        return { status: "ok" as const };
      },
    );
  };

export const authRoutes =
  (auth: AuthService): FastifyPluginAsyncZod =>
  async (app) => {
    const guards = createAuthGuards(auth);

    app.post(
      "/register/",
      {
        schema: {
          tags,
          security: publicAccess,
          summary: "Create an account (email + password)",
          body: z.object({
            email: z
              .string()
              .trim()
              .toLowerCase()
              .pipe(z.email(says("Enter a valid email address")).max(254)),
            password: z.string().max(PASSWORD_MAX_LENGTH),
            display_name: displayNameSchema,
            username: usernameSchema.optional(),
          }),
          response: { 201: loginResponse, ...errorResponses(400, 409, 429) },
        },
      },
      async (request, reply) => reply.code(201).send(await auth.register(request.body, request.ip)),
    );

    app.post(
      "/login/",
      {
        schema: {
          tags,
          security: publicAccess,
          summary: "Log in with email and password",
          body: z.object({
            email: z.string().trim().max(254).default(""),
            password: z.string().max(PASSWORD_MAX_LENGTH).default(""),
          }),
          response: { 200: loginResponse, ...errorResponses(400, 401, 429) },
        },
      },
      async (request) => auth.login(request.body.email, request.body.password, request.ip),
    );

    app.post(
      "/logout/",
      {
        onRequest: guards.optional,
        schema: {
          tags,
          security: optionalBearerAuth,
          summary: "Revoke the presented tokens (always succeeds)",
          body: z.object({ refresh_token: z.string().max(512).optional() }),
          response: { 200: z.object({ success: z.literal(true) }), ...errorResponses(400) },
        },
      },
      async (request) => {
        await auth.logout(request.user?.session_id, request.body.refresh_token);
        return { success: true as const };
      },
    );

    app.post(
      "/guest/",
      {
        schema: {
          tags,
          security: publicAccess,
          summary: "Create a guest account with a display name",
          body: z.object({ display_name: displayNameSchema }),
          response: { 200: loginResponse, ...errorResponses(400, 429) },
        },
      },
      async (request) => auth.guest(request.body.display_name, request.ip),
    );

    app.post(
      "/guest-login/",
      {
        schema: {
          tags,
          security: publicAccess,
          summary: "Create an anonymous guest (Guest-xxxxxx)",
          response: {
            200: loginResponse.extend({ access: z.string(), role: z.literal("guest") }),
            ...errorResponses(429),
          },
        },
      },
      async (request) => {
        const result = await auth.guestLogin(request.ip);
        return { ...result, access: result.access_token, role: "guest" as const };
      },
    );

    app.post(
      "/refresh/",
      {
        schema: {
          tags,
          security: publicAccess,
          summary: "Exchange a refresh token for a new access token and a rotated refresh token",
          body: z.object({ refresh_token: requiredText("refresh_token required", 512) }),
          response: { 200: loginResponse, ...errorResponses(400, 401) },
        },
      },
      async (request) => auth.refresh(request.body.refresh_token),
    );

    app.get(
      "/me/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "The caller's account",
          security: bearerAuth,
          response: {
            200: user,
            ...errorResponses(401),
          },
        },
      },
      async (request) => {
        const { session_id: _session, ...user } = currentUser(request);
        return user;
      },
    );

    await app.register(setUsernameRoute(auth));
  };
