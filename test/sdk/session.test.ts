/** Resumable-session bookkeeping: duplicates by seq, what a reconnect asks for, the resume window. */
import { describe, expect, it } from "vitest";
import { SessionLog } from "../../packages/client/src/session.js";

const session = (seq: number, token = "tok-0123456789abcdef") => ({ resume_token: token, resume_window_seconds: 30, seq });

describe("session log", () => {
  it("asks for a new session until it has one, then for a resume from the highest seq", () => {
    const log = new SessionLog();
    expect(log.resumeAuth(0)).toEqual({ resume: true });
    log.session(session(10));
    expect(log.resumeAuth(0)).toEqual({ resume_token: "tok-0123456789abcdef", last_seq: 10 });
    expect(log.accept(11)).toBe(true);
    expect(log.accept(13)).toBe(true);
    expect(log.resumeAuth(0)).toMatchObject({ last_seq: 13 });
  });

  it("drops a seq already seen, even one that arrives out of order", () => {
    const log = new SessionLog();
    log.session(session(0));
    expect([14, 12, 13, 12, 14, 15].map((seq) => log.accept(seq))).toEqual([true, true, true, false, false, true]);
    // Messages without a seq (non-logged ones) always pass.
    expect(log.accept(undefined)).toBe(true);
    expect(log.accept(undefined)).toBe(true);
  });

  it("gives up the resume once the window since the loss passed", () => {
    const log = new SessionLog();
    log.session(session(5));
    log.lost(1000);
    log.lost(20_000); // the first loss counts
    expect(log.resumeAuth(30_999)).toMatchObject({ resume_token: expect.any(String) });
    expect(log.resumeAuth(31_000)).toEqual({ resume: true });
    log.session(session(9, "tok-new-0123456789ab"));
    expect(log.resumeAuth(99_000)).toEqual({ resume_token: "tok-new-0123456789ab", last_seq: 9 });
    log.end();
    expect(log.resumeAuth(99_000)).toEqual({ resume: true });
  });

  it("forgets seqs far below the highest (bounded memory) but still drops recent duplicates", () => {
    const log = new SessionLog();
    for (let seq = 1; seq <= 10_000; seq += 1) log.accept(seq);
    expect(log.accept(9_999)).toBe(false);
    expect(log.lastSeq).toBe(10_000);
  });
});
