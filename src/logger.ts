/**
 * The one logger factory: the web processes (through Fastify) and the worker log the same way,
 * at `LOG_LEVEL`, as JSON lines or, for a person at a terminal, pino-pretty's readable lines.
 */
import { type Logger, type LoggerOptions, pino } from "pino";
import pretty from "pino-pretty";
import type { Config } from "./config.js";

export type LogFormat = Config["LOG_FORMAT"];

/** `auto` is pretty only for a terminal: a pipe (a container, a log shipper, a test) gets JSON. */
export function resolveLogFormat(format: LogFormat, stdoutIsTty: boolean = process.stdout.isTTY === true): "pretty" | "json" {
  if (format === "auto") return stdoutIsTty ? "pretty" : "json";
  return format;
}

export function createLogger(config: Pick<Config, "LOG_LEVEL" | "LOG_FORMAT">, options: LoggerOptions = {}): Logger {
  const base: LoggerOptions = {
    level: config.LOG_LEVEL,
    redact: ["req.headers.authorization", "req.headers.cookie"],
    ...options,
  };
  if (resolveLogFormat(config.LOG_FORMAT) === "json") return pino(base);
  // In this thread and synchronous (not a worker-thread transport): a line logged just before
  // process.exit() is still written, and the order of lines is the order of the calls.
  return pino(
    base,
    pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }),
  );
}
