/**
 * Maps every failure to the contract's JSON error body `{error, code, details?}`: AppErrors,
 * zod validation, Fastify's own parser/limit errors, unknown routes (404) and wrong methods
 * (405). Nothing reaches a client as HTML or as a bare 500 for bad input.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { AppError, type ErrorCode, isAppError, isDependencyDown } from "../errors.js";
import { isExactMessage } from "./schemas.js";

interface ZodIssueLike {
  instancePath: string;
  message?: string | undefined;
}

function validationError(err: FastifyError & { validation: ZodIssueLike[] }): AppError {
  const context = err.validationContext ?? "body";
  const details = err.validation.map((issue) => ({
    location: context,
    path: issue.instancePath.replace(/^\//, "").replace(/\//g, ".") || null,
    message: issue.message ?? "Invalid value",
  }));
  const first = details[0]!;
  const message = isExactMessage(first.message) ? first.message : `${first.path ?? context}: ${first.message}`;
  return new AppError("VALIDATION_FAILED", message, { details });
}

const STATUS_CODES: Record<number, [ErrorCode, string]> = {
  400: ["VALIDATION_FAILED", "Bad request"],
  401: ["AUTH_REQUIRED", "Authentication required"],
  403: ["PERMISSION_DENIED", "Forbidden"],
  404: ["NOT_FOUND", "Not found"],
  405: ["METHOD_NOT_ALLOWED", "Method not allowed"],
  413: ["PAYLOAD_TOO_LARGE", "Request body is too large"],
  414: ["VALIDATION_FAILED", "URL parameter is too long"],
  415: ["UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"],
  429: ["RATE_LIMITED", "Too many requests"],
};

/** PostgreSQL "data exception" class (22xxx): a value the database cannot store, e.g. a NUL byte. */
const isDataException = (err: unknown): boolean => /^22[0-9A-Z]{3}$/.test(String((err as { code?: unknown }).code ?? ""));

/** Fastify's own client errors (bad JSON, body too large, bad content type, bad URL...). */
function frameworkError(err: FastifyError): AppError | null {
  const status = err.statusCode ?? 500;
  if (status < 400 || status >= 500) return null;
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || err instanceof SyntaxError) {
    return new AppError("VALIDATION_FAILED", "Malformed JSON body");
  }
  if (err.code === "FST_ERR_BAD_URL") return new AppError("VALIDATION_FAILED", "Malformed URL");
  const [code, message] = STATUS_CODES[status] ?? ["VALIDATION_FAILED", "Bad request"];
  return new AppError(code, status === 400 ? err.message || message : message, { status });
}

/** For Fastify's `frameworkErrors` option (bad URL encoding, over-long parameters). */
export function replyFrameworkError(err: FastifyError, reply: FastifyReply): FastifyReply {
  return sendAppError(reply, frameworkError(err) ?? new AppError("VALIDATION_FAILED", "Bad request"));
}

export function sendAppError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.options.retryAfterSeconds !== undefined) reply.header("Retry-After", String(error.options.retryAfterSeconds));
  if (error.code === "AUTH_REQUIRED" || error.code === "INVALID_TOKEN") {
    reply.header("WWW-Authenticate", 'Bearer realm="api"');
  }
  return reply.code(error.status).send(error.toBody());
}

export function installErrorHandling(app: FastifyInstance): void {
  // url patterns of every route, to tell "wrong method" (405) from "no such path" (404).
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook("onRoute", (route) => {
    // Catch-all routes (CORS preflight `OPTIONS *`, static wildcards) say nothing about a path.
    if (route.url === "*" || route.url === "/*") return;
    const source = route.url
      .replace(/\/+$/, "")
      .split("/")
      .map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    const pattern = new RegExp(`^${source}/?$`);
    const methods = [route.method].flat();
    const existing = routes.find((r) => r.pattern.source === pattern.source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else routes.push({ pattern, methods: new Set(methods) });
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0] ?? "/";
    const match = routes.find((r) => r.pattern.test(path));
    if (match) {
      reply.header("Allow", [...match.methods].join(", "));
      return sendAppError(reply, new AppError("METHOD_NOT_ALLOWED", `Method "${request.method}" not allowed.`));
    }
    return sendAppError(reply, new AppError("NOT_FOUND", "Not found"));
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err)) return sendAppError(reply, err);
    if (hasZodFastifySchemaValidationErrors(err)) return sendAppError(reply, validationError(err));
    const client = frameworkError(err);
    if (client) return sendAppError(reply, client);
    if (isDataException(err)) return sendAppError(reply, new AppError("VALIDATION_FAILED", "A value in the request cannot be stored"));
    if (isDependencyDown(err)) {
      request.log.warn({ err }, "dependency unavailable");
      return sendAppError(reply, new AppError("SERVICE_UNAVAILABLE", "Temporarily unavailable, please retry", { retryAfterSeconds: 2 }));
    }
    request.log.error({ err }, "unhandled error");
    return sendAppError(reply, new AppError("INTERNAL_ERROR", "Internal server error"));
  });
}
