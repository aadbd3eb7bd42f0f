/**
 * Preloaded into every server under test (`--import`): when the process's first server listens,
 * one line `BENCH_LISTENING <port>` on stdout. The bench starts them with PORT=0 (the OS picks
 * the port) and reads it here: StreamIt logs its own listening line at info, and the bench runs
 * it at LOG_LEVEL=warn.
 */
import net from "node:net";

const listen = net.Server.prototype.listen;
let told = false;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
  this.once("listening", () => {
    const address = this.address();
    if (told || !address || typeof address === "string") return;
    told = true;
    process.stdout.write(`BENCH_LISTENING ${address.port}\n`);
  });
  return listen.apply(this, args as Parameters<typeof listen>);
} as typeof listen;
