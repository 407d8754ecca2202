// Verify one delivery with the Standard Webhooks library for JavaScript.
// Reads {"secret": ..., "headers": {...}, "body": "<the raw body, UTF-8>"} on stdin; prints
// the verified payload as JSON, or exits 1 with the library's error on stderr.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  const payload = new Webhook(secret).verify(body, headers);
  process.stdout.write(JSON.stringify(payload));
} catch (error) {
  process.stderr.write(String(error));
  process.exit(1);
}
