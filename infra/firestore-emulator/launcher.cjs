// Runs @firestore-emulator/server's gRPC service on a loopback address (its own
// FirestoreServer.start binds 0.0.0.0), plus a small HTTP side port that the stack
// uses for a health check and that tests use to wipe all data between cases:
//   GET  /health  -> 200 "ok"
//   POST /reset   -> 200, every project's documents removed
//   POST /forget/<collection> -> 200 and how many documents of that top-level collection were
//                    dropped (a benchmark writing more documents than memory holds uses it)
//
//   node launcher.cjs --host 127.0.0.1 --port 8686 --admin-port 8687
// CommonJS on purpose: the package's ESM build has extension-less imports Node cannot resolve.
// Only the main bundle is used: its sub-bundles each carry their own FirestoreEmulatorError
// class, and mixing them turns ALREADY_EXISTS / NOT_FOUND into UNKNOWN.
const http = require("node:http");
const { parseArgs } = require("node:util");
const { ServerCredentials } = require("@grpc/grpc-js");
const {
  FirestoreServer,
  FirestoreState,
  FirestoreStateCollection,
  FirestoreStateDocument,
} = require("@firestore-emulator/server");

// The package keeps a collection's documents in an immutable (immer) object and copies all of
// them to add one, on a write and on a read of a missing id alike: n new documents cost O(n²),
// 2.7 s per 400-document read at 10,000 documents. Add to the object in place instead (copied
// once if immer froze it); the rest of the package only reads it. Same documents, same answers.
FirestoreStateCollection.prototype.getDocument = function getDocument(documentName) {
  if (Object.prototype.hasOwnProperty.call(this.documents, documentName)) {
    return this.documents[documentName];
  }
  if (Object.isFrozen(this.documents)) this.documents = { ...this.documents };
  const document = new FirestoreStateDocument(this.emitter, this.database, this, documentName, {}, {});
  this.documents[documentName] = document;
  return document;
};

// A query sorts the whole collection before it filters, comparing field objects: at 100,000
// documents one page of 25 took 2.3 s (Firestore answers it from an index in milliseconds). Let
// the package filter first (its own code: same filter semantics), then order what matched by
// primitive keys read once per document; the package's order, ties kept stable, limit after.
// Orders on anything but strings, numbers and timestamps, or on values of mixed types, take the
// package's own path.
const packageQuery = FirestoreState.prototype.v1Query;
const ASCENDING = 1;
const DESCENDING = 2;

function sortKey(field) {
  if (field === undefined) return undefined;
  const value = field.value;
  if (typeof value === "string" || typeof value === "number") return value;
  if (value && typeof value === "object" && "seconds" in value && "nanos" in value) {
    return Number(value.seconds) * 1e9 + Number(value.nanos);
  }
  return null; // a type this path does not order
}

FirestoreState.prototype.v1Query = function v1Query(parent, query) {
  const orders = query.order_by ?? [];
  if (orders.length === 0 || orders.some((o) => o.direction !== ASCENDING && o.direction !== DESCENDING)) {
    return packageQuery.call(this, parent, query);
  }
  const unordered = Object.create(query, { order_by: { value: [] }, has_limit: { value: false } });
  const matched = packageQuery.call(this, parent, unordered);
  const keyed = matched.map((document) => ({ document, keys: orders.map((o) => sortKey(document.getField(o.field.field_path))) }));
  for (let i = 0; i < orders.length; i++) {
    const kinds = new Set(keyed.map((k) => k.keys[i]).filter((key) => key !== undefined).map((key) => typeof key));
    if (kinds.size > 1 || keyed.some((k) => k.keys[i] === null)) return packageQuery.call(this, parent, query);
  }
  keyed.sort((a, b) => {
    for (let i = 0; i < orders.length; i++) {
      const x = a.keys[i];
      const y = b.keys[i];
      if (x === undefined || y === undefined) {
        if (x !== undefined) return -1; // as the package: a document with the field first
        if (y !== undefined) return 1;
        continue;
      }
      if (x === y) continue;
      const before = x < y ? -1 : 1;
      return orders[i].direction === ASCENDING ? before : -before;
    }
    return 0;
  });
  const ordered = keyed.map((k) => k.document);
  return query.has_limit ? ordered.slice(0, query.limit.value) : ordered;
};

const { values } = parseArgs({
  options: {
    host: { type: "string", default: process.env.FIRESTORE_EMULATOR_BIND ?? "127.0.0.1" },
    port: { type: "string", default: process.env.FIRESTORE_EMULATOR_PORT ?? "8686" },
    "admin-port": { type: "string", default: process.env.FIRESTORE_EMULATOR_ADMIN_PORT ?? "8687" },
  },
});

const emulator = new FirestoreServer();
const state = emulator.state;
// FirestoreServer.start() binds every interface; bind its gRPC server to loopback ourselves.
const grpcServer = emulator.server;

const address = `${values.host}:${values.port}`;
grpcServer.bindAsync(address, ServerCredentials.createInsecure(), (error) => {
  if (error) {
    console.error(JSON.stringify({ severity: "ERROR", message: `cannot listen on ${address}: ${error.message}` }));
    process.exit(1);
  }
  console.log(JSON.stringify({ severity: "INFO", message: `firestore emulator (gRPC) on ${address}` }));
});

const admin = http.createServer((request, response) => {
  if (request.method === "GET" && request.url === "/health") {
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
  } else if (request.method === "POST" && request.url === "/reset") {
    state.clear();
    response.writeHead(200, { "content-type": "text/plain" }).end("reset");
  } else if (request.method === "POST" && request.url.startsWith("/forget/")) {
    const name = decodeURIComponent(request.url.slice("/forget/".length));
    let dropped = 0;
    for (const project of Object.values(state.projects)) {
      for (const database of Object.values(project.databases)) {
        const collection = database.collections[name];
        if (collection) {
          dropped += Object.values(collection.documents).filter((d) => d.metadata.hasExist).length;
          collection.documents = {};
        }
      }
    }
    response.writeHead(200, { "content-type": "text/plain" }).end(String(dropped));
  } else {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found");
  }
});
admin.listen(Number(values["admin-port"]), values.host, () => {
  console.log(JSON.stringify({ severity: "INFO", message: `firestore emulator admin on http://${values.host}:${values["admin-port"]}` }));
});

function shutdown() {
  admin.close();
  grpcServer.forceShutdown();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
