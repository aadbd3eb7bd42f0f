/** Which endings are worth a reconnect: by close code, per docs/protocol.md. */
import { describe, expect, it } from "vitest";
import { verdictFor } from "../../packages/client/src/refusals.js";

const plain = { canRenewToken: false, waiting: false };

describe("refusal verdicts", () => {
  it("retries what passes: the network, restarts, load, a slow link, connection limits", () => {
    for (const code of [undefined, 1012, 1013, 4008, 4029]) expect(verdictFor({ code }, plain)).toBe("retry");
  });

  it("gives up on what will not change", () => {
    for (const code of [4002, 4003, 4004, 4005, 4010, 4011]) expect(verdictFor({ code }, plain)).toBe("fatal");
    expect(verdictFor({ code: 4003, reason: "NOT_A_PARTICIPANT" }, { canRenewToken: true, waiting: true })).toBe("fatal");
  });

  it("renews an expired or refused token only with a token provider", () => {
    expect(verdictFor({ code: 4001, reason: "INVALID_TOKEN" }, plain)).toBe("fatal");
    expect(verdictFor({ code: 4001 }, { canRenewToken: true, waiting: false })).toBe("renew-token");
  });

  it("keeps waiting for approval when the wait ran out, if it asked to wait", () => {
    expect(verdictFor({ code: 4003, reason: "NOT_APPROVED" }, { canRenewToken: false, waiting: true })).toBe("retry");
    expect(verdictFor({ code: 4003, reason: "NOT_APPROVED" }, plain)).toBe("fatal");
    expect(verdictFor({ code: 4003, reason: "JOIN_REJECTED" }, { canRenewToken: false, waiting: true })).toBe("fatal");
  });
});
