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
  // keep the cached list (see allDocuments) in Object.values order: integer-like names sort first
  if (this.listedFrom === this.documents && !INDEX_LIKE.test(documentName)) this.listed.push(document);
  else this.listedFrom = null;
  return document;
};

const INDEX_LIKE = /^(0|[1-9][0-9]{0,9})$/; // array-index-like names (< 2^32 - 1, or a few more: a rebuild costs nothing wrong)

// Object.values of a 100,000-document collection takes ~90 ms, and every query took it. The list
// is kept while the collection's object is the same one (getDocument above is the only place
// that adds to it; /forget and /reset replace the object).
function allDocuments(collection) {
  if (collection.listedFrom !== collection.documents) {
    collection.listed = Object.values(collection.documents);
    collection.listedFrom = collection.documents;
  }
  return collection.listed;
}

// A query sorted the whole collection before filtering it, comparing field objects and converting
// the filter's value once per document: at 100,000 documents one page of 25 took 2.3 s
// (Firestore answers it from an index in milliseconds). For the filters and orders the panel and
// the pipelines use (==, <, <=, >, >=, in, AND; orders on strings, numbers, booleans and
// timestamps), read each document's fields once as primitive keys, filter with the package's
// rules (a comparison holds only between values of the same type), then order what matched the
// package's way (a document lacking an order field after those that have it, ties in the
// collection's order) and take the limit. Anything else takes the package's own path.
const packageQuery = FirestoreState.prototype.v1Query;
const ASCENDING = 1;
const DESCENDING = 2;
const OPERATORS = { 1: "<", 2: "<=", 3: ">", 4: ">=", 5: "==", 8: "in" };
const COMPARABLE = new Set(["string_value", "integer_value", "double_value", "boolean_value", "timestamp_value"]);

function documentKey(field) {
  if (field === undefined) return undefined;
  if (!COMPARABLE.has(field.type)) return null;
  const value = field.value;
  if (field.type === "timestamp_value") return { type: field.type, value: Number(value.seconds) * 1e9 + Number(value.nanos) };
  return { type: field.type, value: field.type === "integer_value" ? Number(value) : value };
}

function filterKey(value) {
  for (const type of COMPARABLE) {
    if (value[`has_${type}`]) {
      const raw = value[type];
      return { type, value: type === "timestamp_value" ? Number(raw.seconds) * 1e9 + Number(raw.nanos) : type === "integer_value" ? Number(raw) : raw };
    }
  }
  return null;
}

function fieldFilters(query) {
  if (!query.has_where) return [];
  const where = query.where;
  if (where.has_field_filter) return [where.field_filter];
  if (where.has_composite_filter && where.composite_filter.op === 1) {
    // AND of field filters only
    return where.composite_filter.filters.every((f) => f.has_field_filter) ? where.composite_filter.filters.map((f) => f.field_filter) : null;
  }
  return null;
}

function compiled(filters) {
  const tests = [];
  for (const filter of filters) {
    const op = OPERATORS[filter.op];
    const path = filter.field.field_path;
    if (!op || !path || path.includes(".")) return null;
    if (op === "in") {
      if (!filter.value.has_array_value) return null;
      const options = filter.value.array_value.values.map(filterKey);
      if (options.some((o) => o === null)) return null;
      tests.push((doc) => {
        const key = documentKey(doc.getField(path));
        return Boolean(key) && options.some((o) => o.type === key.type && o.value === key.value);
      });
      continue;
    }
    const bound = filterKey(filter.value);
    if (bound === null) return null;
    tests.push((doc) => {
      const key = documentKey(doc.getField(path));
      if (!key || key.type !== bound.type) return false;
      const [x, y] = [key.value, bound.value];
      return op === "==" ? x === y : op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
    });
  }
  return tests;
}

FirestoreState.prototype.v1Query = function v1Query(parent, query) {
  const orders = query.order_by ?? [];
  const filters = fieldFilters(query);
  const tests = filters && compiled(filters);
  const { collection_id } = query.from[0] ?? {};
  if (!tests || query.from.length !== 1 || !collection_id || orders.some((o) => o.direction !== ASCENDING && o.direction !== DESCENDING || o.field.field_path.includes("."))) {
    return packageQuery.call(this, parent, query);
  }
  const documents = allDocuments(this.getCollection(`${parent}/${collection_id}`));
  const matched = [];
  for (const document of documents) {
    if (document.metadata.hasExist && tests.every((test) => test(document))) matched.push(document);
  }
  const compare = (a, b) => {
    for (let i = 0; i < orders.length; i++) {
      const x = a.keys[i];
      const y = b.keys[i];
      if (x === undefined || y === undefined) {
        if (x !== undefined) return -1;
        if (y !== undefined) return 1;
        continue;
      }
      if (x.type !== y.type || x.value === y.value) continue;
      const before = x.value < y.value ? -1 : 1;
      return orders[i].direction === ASCENDING ? before : -before;
    }
    return a.position - b.position;
  };
  // With a limit, keep only the best `limit` in a sorted buffer (binary insertion): a page of 25
  // out of 100,000 matches then costs one comparison per match instead of a whole sort.
  const limit = query.has_limit ? query.limit.value : Infinity;
  const best = [];
  for (let position = 0; position < matched.length; position++) {
    const document = matched[position];
    const keys = orders.map((o) => documentKey(document.getField(o.field.field_path)));
    if (keys.some((key) => key === null)) return packageQuery.call(this, parent, query);
    const item = { document, position, keys };
    if (limit === Infinity) {
      best.push(item);
      continue;
    }
    if (best.length >= limit && compare(item, best[best.length - 1]) >= 0) continue;
    let low = 0;
    let high = best.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compare(best[middle], item) < 0) low = middle + 1;
      else high = middle;
    }
    best.splice(low, 0, item);
    if (best.length > limit) best.pop();
  }
  if (limit === Infinity) best.sort(compare);
  return best.map((k) => k.document);
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
