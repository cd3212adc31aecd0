// One handler per behaviour the tests look at; the container's handler
// override picks one (index.echo by default).
import { setTimeout as sleepFor } from "node:timers/promises";

let invocations = 0;
console.log("index.mjs initialised");

export const echo = async (event, context) => {
  invocations += 1;
  console.log(`echo invoked with ${JSON.stringify(event)}`);
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memoryLimitInMB: Number(context.memoryLimitInMB),
    remainingMs: context.getRemainingTimeInMillis(),
    env: { ...process.env },
    invocations,
    node: process.version,
    execArgv: process.execArgv,
    uid: process.getuid(),
  };
};

class OrderRejected extends Error {
  constructor(message) {
    super(message);
    this.name = "OrderRejected";
  }
}

export const fail = async (event) => {
  console.error("about to fail");
  throw new OrderRejected(`boom: ${event.why ?? "no reason"}`);
};

export const reject = (event) => Promise.reject(new TypeError(`rejected: ${event.why ?? "no reason"}`));

// Callback style, as older Node.js functions are written.
export const callback = (event, context, done) => {
  done(null, { via: "callback", event });
};

// Looks like an error document but is a successful return value.
export const lookalike = async () => ({ errorType: "OrderRejected", errorMessage: "only looks like an error" });

export const sleep = async (event) => {
  invocations += 1;
  await sleepFor(Number(event.ms ?? 10000));
  return { woke: true, invocations };
};

export const logs = async (event) => {
  console.log("plain text line");
  console.log("order stored", { orderId: event.orderId });
  console.info("info line");
  console.warn("stock low");
  console.error("payment failed", new Error("card declined"));
  console.debug("debug detail");
  return "logged";
};
