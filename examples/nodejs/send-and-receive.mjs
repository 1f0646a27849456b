// as2bus example client (nats.js v3): send two messages to a partner (the first with two
// documents), see a bad request refused, follow every request to its outcome, and receive the
// documents the partner sends us. docs/integrating.md walks through it.
// Run: NATS_PASSWORD=... node send-and-receive.mjs
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { performance } from "node:perf_hooks";

import { connect } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";

const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
const NATS_USER = process.env.NATS_USER || "app";
const NATS_PASSWORD = process.env.NATS_PASSWORD;
const STATION = process.env.STATION || "DEMO-A"; // our AS2 ID, the sender
const PARTNER = process.env.PARTNER || "DEMO-B"; // the partner's AS2 ID
const OUT_DIR = process.env.OUT_DIR || "./received";
const LARGE_BYTES = Number(process.env.LARGE_BYTES || 1048576);
const CONSUMER = process.env.CONSUMER || "nodejs-example";
const TIMEOUT_SECONDS = Number(process.env.TIMEOUT_SECONDS || 60);

const SEND_SUBJECT = "as2.cmd.send";
const EVENTS_STREAM = "AS2_EVENTS";
const BUCKET = "as2_documents";
const INLINE_MAX_BYTES = 262144; // larger documents must go through the object store
const EVENT_SUBJECTS = [
  "as2.evt.message.outbound.delivered", // MessageDelivered: terminal
  "as2.evt.message.outbound.failed", // MessageFailed: terminal
  "as2.evt.message.any.rejected", // MessageRejected: refused at once, instead of the above
  "as2.evt.message.inbound.received", // MessageReceived: a partner's document for us
];

// Everything this run sent, by request_id: events of other requests are acked and ignored.
const requests = new Map();
const received = new Map(); // message_id -> {message_id, sha256_ok, documents: [...]}

async function main() {
  if (!NATS_PASSWORD) throw new Error("set NATS_PASSWORD (as2bus up: <data-dir>/secrets/nats/app)");

  // The inbox prefix must be _INBOX.<user>: the bus lets each user read only its own replies.
  const nc = await connect({
    servers: NATS_URL,
    user: NATS_USER,
    pass: NATS_PASSWORD,
    inboxPrefix: `_INBOX.${NATS_USER}`,
    name: "as2bus-nodejs-example",
  }).catch((err) => {
    throw new Error(`cannot connect to ${NATS_URL} as ${NATS_USER}: ${err.message}`);
  });
  const js = jetstream(nc);
  const objects = await new Objm(nc).open(BUCKET);

  // 1. Subscribe before you publish: the durable consumer exists before the first request,
  // so none of its events can slip past us.
  await ensureConsumer(await jetstreamManager(nc));

  // 2. A small document goes inline (base64, up to 256 KiB)...
  // This message carries a second document: `attachments` lists the documents after the
  // first (RFC 6362 multiple attachments; the partner must accept them), each inline or by
  // reference like the first, with its own filename and content type. Inline documents share
  // the 256 KiB between them. The message has one request_id and one outcome for all.
  const small = Buffer.from(fakeX12(8));
  const lines = Buffer.from(fakeCsv(8));
  const smallId = randomUUID();
  const smallRequest = {
    request_id: smallId,
    station: STATION,
    partner: PARTNER,
    inline_base64: small.toString("base64"),
    filename: `small-${smallId.slice(0, 8)}.x12`,
    content_type: "application/edi-x12",
    subject: "nodejs example: small purchase order, its lines attached as CSV",
    attachments: [
      {
        inline_base64: lines.toString("base64"),
        filename: `small-${smallId.slice(0, 8)}.csv`,
        content_type: "text/csv",
      },
    ],
  };
  await send(js, smallRequest, `inline, ${small.length} bytes, and a ${lines.length}-byte CSV attachment`);

  // ...a large one goes into the object store first, and the request carries a reference.
  // The bytes are streamed (a file would be Readable.toWeb(fs.createReadStream(path))) and
  // hashed on the way, so the whole document never has to sit in memory or in one message.
  const largeId = randomUUID();
  const document = await storeDocument(objects, `nodejs-example/${largeId}`, x12Chunks(LARGE_BYTES));
  await send(
    js,
    {
      request_id: largeId,
      station: STATION,
      partner: PARTNER,
      document,
      filename: `large-${largeId.slice(0, 8)}.x12`,
      content_type: "application/edi-x12",
      subject: "nodejs example: large purchase order",
    },
    `object ${document.name}, ${document.size} bytes`,
  );

  // 3. Commands are strict: a misspelt field refuses the request instead of being ignored.
  const badId = randomUUID();
  // (JSON.stringify leaves out the undefined `subject`, so only the misspelt one is sent.)
  const bad = { ...smallRequest, request_id: badId, subject: undefined, subjct: "x" };
  await send(js, bad, "misspelt field 'subjct': to be rejected", "bad");

  // 4. Read events until every request has its outcome and both messages have come back.
  // The durable consumer has kept every event since step 1, so starting to read only now
  // misses nothing (a rejection's milliseconds run from its publish until we read it).
  const consumer = await js.consumers.get(EVENTS_STREAM, CONSUMER);
  const messages = await consumer.consume({ max_messages: 100 });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    messages.stop();
  }, TIMEOUT_SECONDS * 1000);
  for await (const m of messages) {
    await handleEvent(m, performance.now(), objects);
    // Ack once handled, the events we ignore too. An event whose handling threw is not
    // acked, so the consumer hands it to us again (after its ack wait, or on the next run).
    m.ack();
    if (finished()) break;
  }
  clearTimeout(timer);
  messages.stop();

  // The consumer stays: a real integration keeps its durable, so that after a restart it
  // resumes where it stood and no outcome is missed. Running this script again reuses it.
  await nc.drain();

  // 5. One summary line, and an exit code that says whether everything went as it should.
  const all = [...requests.values()];
  const summary = {
    delivered: all.filter((r) => r.outcome === "delivered").map((r) => r.request_id),
    failed: all.filter((r) => r.outcome === "failed").map((r) => r.request_id),
    rejected: all
      .filter((r) => r.outcome === "rejected")
      .map((r) => ({ request_id: r.request_id, code: r.code, ms: r.ms })),
    received: ourMessageIds()
      .filter((id) => received.has(id))
      .map((id) => received.get(id)),
  };
  console.log(JSON.stringify(summary));
  if (timedOut) throw new Error(`no complete outcome within ${TIMEOUT_SECONDS} s (TIMEOUT_SECONDS)`);
  const back = (id) => received.get(requests.get(id).message_id); // a message we sent, received
  const ok =
    [smallId, largeId].every((id) => requests.get(id).outcome === "delivered") &&
    requests.get(badId).outcome === "rejected" &&
    requests.get(badId).code === "INVALID_REQUEST" &&
    back(smallId).sha256_ok &&
    back(smallId).documents.length === 2 && // the X12 and its CSV attachment
    back(largeId).sha256_ok;
  if (!ok) throw new Error("not every request ended as expected (see the summary)");
}

// Create the durable consumer, or bring an existing one (an earlier run) up to date; it keeps
// its position either way. Deliver policy "new" applies on creation only: it starts with the
// events that follow, not the stream's history, and from then on sees every one of them.
async function ensureConsumer(jsm) {
  try {
    await jsm.consumers.update(EVENTS_STREAM, CONSUMER, { filter_subjects: EVENT_SUBJECTS });
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) {
      throw err;
    }
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: CONSUMER,
      filter_subjects: EVENT_SUBJECTS,
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit, // an event counts as handled only once we ack it
    });
  }
}

// Publish through JetStream (the ack says the command is stored) with Nats-Msg-Id = request_id:
// a retried publish is then dropped as a duplicate, and never sends a document twice. So is
// another document under an id published within the stream's duplicate window (2 minutes):
// ack.duplicate is the only sign, and no event follows (docs/integrating.md, step 2).
async function send(js, request, what, kind = "good") {
  const sentAt = performance.now(); // to measure how soon a rejection arrives
  requests.set(request.request_id, { request_id: request.request_id, kind, outcome: null, sentAt });
  const ack = await js.publish(SEND_SUBJECT, JSON.stringify(request), { msgID: request.request_id });
  if (ack.duplicate) {
    throw new Error(`request id ${request.request_id} was already published within the stream's ` +
      "duplicate window, so this publish was dropped: give each document its own request id");
  }
  console.log(`sent     ${request.request_id}  ${STATION} -> ${PARTNER}  (${what})`);
}

async function handleEvent(m, arrivedAt, objects) {
  let event;
  try {
    event = m.json();
  } catch {
    console.warn(`skipped  an unreadable event on ${m.subject}`);
    return;
  }
  // The header names the event type, so a client can dispatch without parsing the body.
  const type = m.headers?.get("As2bus-Event-Type") || event.event_type;
  const data = event.data ?? {};

  if (type === "MessageReceived") {
    // Partners' documents are for us whoever sent them: store each one. A redelivered event
    // names the same objects and files, so storing them again does no harm.
    received.set(data.message_id, await saveMessage(objects, data));
    return;
  }

  const request = requests.get(data.request_id);
  if (!request || request.outcome) return; // another system's request, or a redelivery
  request.message_id = data.message_id;
  if (type === "MessageDelivered") {
    request.outcome = "delivered";
    const mdn = data.mdn ? `, MDN ${data.mdn.disposition}` : "";
    console.log(`${data.status.padEnd(8)} ${data.request_id}  ${data.message_id} (${data.attempts} attempt(s)${mdn})`);
  } else if (type === "MessageFailed") {
    request.outcome = "failed";
    console.log(`failed   ${data.request_id}  ${data.code}: ${data.reason}`);
  } else if (type === "MessageRejected") {
    request.outcome = "rejected";
    request.code = data.code;
    request.ms = Math.round(arrivedAt - request.sentAt);
    console.log(`rejected ${data.request_id}  ${data.code} after ${request.ms} ms: ${data.reason}`);
  }
}

// Save every document of a received message: the first is the event's `document` (with its
// `filename` and `content_type`), the others follow in `attachments`, in order, each with its
// own `document`, `filename` and `content_type` (empty when the partner sent one document).
// Received documents are always in the object store: events never carry the bytes.
async function saveMessage(objects, data) {
  const documents = [
    { document: data.document, filename: data.filename, content_type: data.content_type },
    ...(data.attachments ?? []),
  ];
  const names = new Set();
  const saved = [];
  for (const [i, doc] of documents.entries()) {
    // Each document gets a file of its own, even when the partner named two alike (or none).
    let name = safeFileName(doc.filename, i === 0 ? data.message_id : `${data.message_id}.${i}`);
    while (names.has(name)) name = `${i}-${name}`;
    names.add(name);
    saved.push(await saveDocument(objects, data, doc, name, `document ${i + 1} of ${documents.length}`));
  }
  return { message_id: data.message_id, sha256_ok: saved.every((d) => d.sha256_ok), documents: saved };
}

// Read one received document from the object store in chunks, hash and count it on the way to
// a temporary file, and keep the file only when size and SHA-256 match the event's reference.
async function saveDocument(objects, data, doc, name, which) {
  const ref = doc.document;
  const result = { file: name, content_type: doc.content_type, size: 0, sha256_ok: false };
  const object = await objects.get(ref.name);
  if (!object) {
    console.log(`missing  ${data.message_id}  ${which}: no object ${ref.name} in ${BUCKET}`);
    return result;
  }
  await mkdir(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, name);
  const partial = `${file}.part`;
  const hash = createHash("sha256");
  await pipeline(
    Readable.fromWeb(object.data),
    async function* (chunks) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        result.size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(partial),
  );
  const readError = await object.error; // set when the stream ended early or was corrupt
  result.sha256_ok = !readError && result.size === ref.size && hash.digest("hex") === ref.sha256;
  if (result.sha256_ok) {
    await rename(partial, file);
    console.log(`received ${data.message_id}  ${data.partner} -> ${data.station}  ${which}, ${result.size} bytes, sha256 ok: ${file}`);
  } else {
    await rm(partial, { force: true });
    console.log(`received ${data.message_id}  ${which} does NOT match its reference (${readError?.message ?? `${result.size} bytes`})`);
  }
  return result;
}

// A partner chooses the filename: keep only its last path component, never a path of its own.
function safeFileName(filename, messageId) {
  const base = path.basename(filename || "");
  if (base && base !== "." && base !== "..") return base;
  return messageId.replace(/[^A-Za-z0-9._@-]/g, "_");
}

// Stream `chunks` into the bucket under `name`; return the reference a send request carries.
async function storeDocument(objects, name, chunks) {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new ReadableStream({
    pull(controller) {
      const { value, done } = chunks.next();
      if (done) return controller.close();
      hash.update(value);
      size += value.length;
      controller.enqueue(value);
    },
  });
  await objects.put({ name }, stream);
  return { bucket: BUCKET, name, size, sha256: hash.digest("hex") };
}

function ourMessageIds() {
  return [...requests.values()].filter((r) => r.kind === "good" && r.message_id).map((r) => r.message_id);
}

// Done when every request has its outcome and each delivered one has come back to us (the
// demo partnership loops DEMO-A -> DEMO-B into our own gateway, where DEMO-B is a station).
function finished() {
  const all = [...requests.values()];
  if (all.some((r) => !r.outcome)) return false;
  return all
    .filter((r) => r.kind === "good" && r.outcome === "delivered")
    .every((r) => received.has(r.message_id));
}

// A fake X12 850 purchase order with `lines` line items.
function fakeX12(lines) {
  const segments = [
    "ISA*00*          *00*          *ZZ*DEMOA          *ZZ*DEMOB          *240101*1200*U*00401*000000001*0*P*>",
    "GS*PO*DEMOA*DEMOB*20240101*1200*1*X*004010",
    "ST*850*0001",
    "BEG*00*SA*PO-4711**20240101",
  ];
  for (let i = 1; i <= lines; i++) segments.push(`PO1*${i}*10*EA*9.95**VP*ITEM-${String(i).padStart(6, "0")}`);
  segments.push(`SE*${lines + 3}*0001`, "GE*1*1", "IEA*1*000000001");
  return segments.join("~\n") + "~\n";
}

// The same order's lines as CSV (RFC 4180: a header row, CRLF line ends).
function fakeCsv(lines) {
  const rows = ["line,quantity,unit,price,item"];
  for (let i = 1; i <= lines; i++) rows.push(`${i},10,EA,9.95,ITEM-${String(i).padStart(6, "0")}`);
  return rows.join("\r\n") + "\r\n";
}

// `total` bytes of X12-like text (PO1 segments), in chunks of about 64 KiB.
function* x12Chunks(total) {
  let left = total;
  let i = 0;
  while (left > 0) {
    let text = "";
    while (text.length < 65536) text += `PO1*${++i}*10*EA*9.95**VP*ITEM-${String(i).padStart(9, "0")}~\n`;
    const chunk = Buffer.from(text.slice(0, left)); // ASCII: one byte per character
    left -= chunk.length;
    yield chunk;
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  },
);
