// Streams three chunks, some time apart, as a Function URL with
// InvokeMode RESPONSE_STREAM would send them on.
import { setTimeout as sleep } from "node:timers/promises";

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("first,");
  await sleep(200);
  responseStream.write("second,");
  await sleep(200);
  responseStream.end("last");
});
