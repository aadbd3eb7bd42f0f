/**
 * Request bodies: JSON only. Every other media type (text/plain and form bodies included) is
 * 415 UNSUPPORTED_MEDIA_TYPE; a request with no body and no Content-Type never reaches a parser
 * (it validates as an empty object, see installHttpBasics).
 *
 * Strings are checked after parsing, keys included: NUL (PostgreSQL text cannot hold it) and lone
 * surrogates (not storable as UTF-8) are refused with 400 VALIDATION_FAILED, see src/text.ts.
 * Checking the decoded value, not the raw text, is what tells the escape `\u0000` (a NUL) from
 * the text `\\u0000` (a backslash, then "u0000").
 */

import { findEncodingProblem } from "@streamit/protocol";
import type { FastifyInstance } from "fastify";
import { AppError } from "../errors.js";

/** Replaces Fastify's body parsers with the JSON-only one; call before any route is added. */
export function installJsonBodyParser(http: FastifyInstance): void {
  const parseJson = http.getDefaultJsonParser("error", "error");
  // Drops the default text/plain parser too: no parser for a type means 415.
  http.removeAllContentTypeParsers();
  http.addContentTypeParser("application/json", { parseAs: "string" }, (request, raw, done) => {
    const body = raw as string;
    // An empty body (the reference client's logout) is an empty object, not an error.
    if (body.trim() === "") return done(null, {});
    parseJson(request, body, (err, value) => {
      if (err) return done(err, undefined);
      const problem = findEncodingProblem(value);
      if (problem) return done(new AppError("VALIDATION_FAILED", problem), undefined);
      return done(null, value);
    });
  });
}
