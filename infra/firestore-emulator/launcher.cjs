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
const { FirestoreServer, FirestoreStateCollection, FirestoreStateDocument } = require("@firestore-emulator/server");

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
