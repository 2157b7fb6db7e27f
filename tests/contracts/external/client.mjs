// A client the project did not write: @grpc/grpc-js + @grpc/proto-loader, loading the committed .proto
// files, checking the contracts of a running federation over mutual TLS (issue 16).
//
//   node client.mjs --run <workdir>            # run.json (addresses) and <workdir>/pki/ of `prum up`
//   node client.mjs --pki <dir> --address DE=127.0.0.1:5001 --address NL=127.0.0.1:5002 --address FR=...
//
// Prints one JSON line per case ({"case", "client", "expected", "code", "details_length", ...}) and exits 1
// when any case's status code differs from the expected one (or a case's extra check fails), 2 on a usage
// or set-up error. Needs the addresses of DE and NL, and the certificates of DE, FR and NL. With the address of
// the Prüm II router (EU: run.json's `router`, or --address EU=...) it also runs the router's cases r0-r4:
// GetRouterStats, a Route to chosen states, the same as another state (UNAUTHENTICATED), a bad requested_state
// (INVALID_ARGUMENT with a google.rpc.BadRequest detail, read from grpc-status-details-bin), GetRouterStats again.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_PROTOS = path.resolve(HERE, "../../../protos");
const DEADLINE_MS = 10_000;
const QUICK_MS = 3_000;          // "the call completes quickly": well inside the deadline
const MAX_DETAILS_BYTES = 1024;  // the servers cap status messages at 1 KB
const ROUTER = "EU";             // the Prüm II router's code: its certificate, its address in run.json
const CHOSEN = ["FR", "NL"];     // the states r1 searches through the router

// tests/federation/sample_federation.py DONOR: 12 ESS loci with a microvariant.
const DONOR = {
  D3S1358: ["15", "16"], VWA: ["17", "18"], D8S1179: ["13", "14"], D21S11: ["29", "30"],
  D18S51: ["14", "17"], TH01: ["6", "9.3"], FGA: ["21", "24"], D1S1656: ["12", "15.3"],
  D2S441: ["10", "14"], D10S1248: ["13", "15"], D12S391: ["18", "20"], D22S1045: ["15", "16"],
};

function usage(message) {
  process.stderr.write(`client.mjs: ${message}\n` +
    "usage: node client.mjs (--run WORKDIR | --pki DIR --address STATE=HOST:PORT ...) [--protos DIR]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const options = { addresses: {}, protos: DEFAULT_PROTOS, pki: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    i++;
    if (flag === "--run") {
      const run = JSON.parse(readFileSync(path.join(value, "run.json"), "utf-8"));
      for (const [code, entry] of Object.entries(run.states)) options.addresses[code] = entry.address;
      if (run.router) options.addresses[ROUTER] = run.router.address;
      options.pki ??= path.join(value, "pki");
    } else if (flag === "--pki") {
      options.pki = value;
    } else if (flag === "--address") {
      const [code, address] = value.split("=");
      if (!address) usage(`--address wants STATE=HOST:PORT, got ${value}`);
      options.addresses[code] = address;
    } else if (flag === "--protos") {
      options.protos = value;
    } else {
      usage(`unknown option ${flag}`);
    }
  }
  if (!options.pki) usage("no --pki or --run");
  for (const code of ["DE", "NL"]) if (!options.addresses[code]) usage(`no address for ${code}`);
  return options;
}

// The committed contracts. google/protobuf/descriptor.proto (imported by rules.proto) and timestamp.proto
// need no include folder of their own: protobufjs ships timestamp.proto among its built-in "common" files, and
// proto-loader adds descriptor.proto to them (protobufjs/google/protobuf/descriptor.json) when it loads.
function loadContracts(protos) {
  const files = ["dna", "contact_point", "router"].map((name) => `prum/${name}/v1/${name}.proto`);
  const definition = protoLoader.loadSync(files, {
    includeDirs: [protos],
    keepCase: true,     // the fields as the .protos spell them: request_id, officer_id
    longs: String,
    enums: String,      // replies give enum names; requests may still send numbers (case d sends 99)
    defaults: true,     // replies carry false and 0 (hit, hit_count) instead of leaving them out
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition);
}

// Every state's certificate names localhost and 127.0.0.1 (federation/runtime/pki.py). grpc-js would send the target's
// IP address as the TLS server name (SNI), which RFC 6066 forbids and Node warns about (DEP0123); name
// localhost instead: the server certificate is still verified, against that name.
const CHANNEL_OPTIONS = { "grpc.ssl_target_name_override": "localhost" };

function credentialsOf(pki, state) {
  return grpc.credentials.createSsl(
    readFileSync(path.join(pki, "ca.pem")),
    readFileSync(path.join(pki, `${state}.key`)),
    readFileSync(path.join(pki, `${state}.pem`)),
  );
}

function unary(client, method, request) {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    client[method](request, { deadline: new Date(Date.now() + DEADLINE_MS) }, (error, reply) => {
      const elapsed_ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (error) {
        const details = error.details ?? "";
        const packed = error.metadata?.get("grpc-status-details-bin") ?? [];
        resolve({ code: grpc.status[error.code] ?? String(error.code), details, elapsed_ms, reply: null,
                  badRequestFields: packed.flatMap((bytes) => badRequestFields(Buffer.from(bytes))) });
      } else {
        resolve({ code: "OK", details: "", elapsed_ms, reply });
      }
    });
  });
}

// The google.rpc.Status in grpc-status-details-bin, read by hand from the protobuf wire format (no generated code,
// no googleapis protos): Status.details (3) are Any {type_url (1), value (2)}; a google.rpc.BadRequest's
// field_violations (1) are FieldViolation {field (1), description (2)}.
function fieldsOf(bytes) {
  const fields = [];
  let at = 0;
  const varint = () => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return value;
  };
  while (at < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) fields.push([number, varint()]);
    else if (wire === 2) { const length = varint(); fields.push([number, bytes.subarray(at, at + length)]); at += length; }
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`wire type ${wire} in a google.rpc.Status`);
  }
  return fields;
}

function badRequestFields(status) {
  const names = [];
  for (const [number, any] of fieldsOf(status)) {
    if (number !== 3) continue;
    const parts = Object.fromEntries(fieldsOf(any));
    if (parts[1]?.toString("utf-8") !== "type.googleapis.com/google.rpc.BadRequest") continue;
    for (const [violationNumber, violation] of fieldsOf(parts[2] ?? Buffer.alloc(0))) {
      if (violationNumber === 1) names.push(Object.fromEntries(fieldsOf(violation))[1]?.toString("utf-8"));
    }
  }
  return names;
}

function routedCounts(reply) {
  return Object.fromEntries((reply?.stats ?? []).filter((s) => s.category === "CATEGORY_DNA")
    .map((s) => [s.state, Number(s.queries_routed)]));
}

function context(overrides = {}) {
  return {
    request_id: randomUUID(), requesting_state: "DE", requested_state: "NL",
    officer_id: "DE-NCP-01", ordering_officer_id: "DE-NCP-02",
    reason: "external client contract check", case_reference: "DE-2026-0016",
    ...overrides,
  };
}

function profile(loci, overrides = {}) {
  const entries = Object.fromEntries(Object.entries(loci).map(([locus, values]) => [locus, { values }]));
  return { reference: "DE-EXT-1", kind: "PROFILE_KIND_UNIDENTIFIED_TRACE", loci: entries, ...overrides };
}

function report(name, expected, outcome, checks = []) {
  const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
  const line = {
    case: name, client: "node", expected, code: outcome.code,
    details_length: Buffer.byteLength(outcome.details, "utf-8"),
    elapsed_ms: Math.round(outcome.elapsed_ms * 10) / 10,
    details: outcome.details.slice(0, 200),
    ok: outcome.code === expected && failed.length === 0,
  };
  if (failed.length) line.failed_checks = failed;
  if (outcome.note) line.note = outcome.note;
  process.stdout.write(JSON.stringify(line) + "\n");
  return line.ok;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const contracts = loadContracts(options.protos);
  const DnaIndexService = contracts.prum.dna.v1.DnaIndexService;
  const ContactPointService = contracts.prum.contact_point.v1.ContactPointService;
  const clients = [];
  const open = (Service, state, as) => {
    const client = new Service(options.addresses[state], credentialsOf(options.pki, as), CHANNEL_OPTIONS);
    clients.push(client);
    return client;
  };
  const results = [];

  // a. a 100 KB locus name: refused at once with a short message, and the channel still works.
  const nl = open(DnaIndexService, "NL", "DE");
  const huge = "L".repeat(100 * 1024);
  const a = await unary(nl, "Search", { context: context(), profile: profile({ ...DONOR, [huge]: ["1", "2"] }) });
  results.push(report("a", "INVALID_ARGUMENT", a, [
    ["details < 1 KB", Buffer.byteLength(a.details, "utf-8") < MAX_DETAILS_BYTES],
    [`completes within ${QUICK_MS} ms`, a.elapsed_ms < QUICK_MS],
  ]));
  const again = await unary(nl, "Search", { context: context(), profile: profile(DONOR) });
  again.note = again.reply ? `hit=${again.reply.hit} hit_count=${again.reply.hit_count}` : undefined;
  results.push(report("a-same-channel", "OK", again));

  // b. no context at all.
  const b = await unary(nl, "Search", { profile: profile(DONOR) });
  results.push(report("b", "INVALID_ARGUMENT", b, [['details start with "context"', b.details.startsWith("context")]]));

  // c. DE's contact point, with FR's certificate: an own-state method.
  const deAsFr = open(ContactPointService, "DE", "FR");
  const search = {
    officer_id: "DE-NCP-01", ordering_officer_id: "DE-NCP-02", reason: "external client contract check",
    case_reference: "DE-2026-0016", category: "CATEGORY_DNA", profile: profile(DONOR), deadline_ms: 3000,
  };
  const c = await unary(deAsFr, "Search", search);
  results.push(report("c", "PERMISSION_DENIED", c));

  // d. a profile kind the enum does not define.
  const d = await unary(nl, "Search", { context: context(), profile: profile(DONOR, { kind: 99 }) });
  results.push(report("d", "INVALID_ARGUMENT", d, [["details name 99", /\b99\b/.test(d.details)]]));

  // e. a request id that is no UUID.
  const e = await unary(nl, "Search", { context: context({ request_id: "fr-1" }), profile: profile(DONOR) });
  results.push(report("e", "INVALID_ARGUMENT", e, [["details name context.request_id",
    e.details.includes("context.request_id")]]));

  // f. DE's own officer at DE's contact point: one result per other state.
  const de = open(ContactPointService, "DE", "DE");
  const f = await unary(de, "Search", search);
  const peers = Object.keys(options.addresses).filter((code) => code !== "DE" && code !== ROUTER).sort();
  const got = (f.reply?.results ?? []).map((r) => r.state).sort();
  if (f.reply) f.note = (f.reply.results ?? []).map((r) => `${r.state}:${r.status.replace("RESULT_STATUS_", "")}`).join(" ");
  results.push(report("f", "OK", f, [[`one result per state (${peers.join(",")})`,
    JSON.stringify(got) === JSON.stringify(peers)]]));

  // r0-r4: the Prüm II router (P2-ROUTER-1, -2, -3), when the federation has one.
  if (options.addresses[ROUTER]) {
    const RouterService = contracts.prum.router.v1.RouterService;
    const router = open(RouterService, ROUTER, "DE");
    const r0 = await unary(router, "GetRouterStats", {});
    const before = routedCounts(r0.reply);
    results.push(report("r0", "OK", r0));
    const route = (overrides = {}) => ({
      context: context({ requested_state: ROUTER, ...overrides }), category: "CATEGORY_DNA",
      target_states: CHOSEN, profile: profile(DONOR), deadline_ms: 3000,
    });
    const r1 = await unary(router, "Route", route());
    const routed = (r1.reply?.results ?? []).map((r) => r.state).sort();
    if (r1.reply) r1.note = r1.reply.results.map((r) => `${r.state}:${r.status.replace("RESULT_STATUS_", "")}`).join(" ");
    results.push(report("r1", "OK", r1, [[`one result per chosen state (${CHOSEN.join(",")})`,
      JSON.stringify(routed) === JSON.stringify(CHOSEN)]]));
    const r2 = await unary(open(RouterService, ROUTER, "NL"), "Route", route());
    results.push(report("r2", "UNAUTHENTICATED", r2));
    const r3 = await unary(router, "Route", route({ requested_state: "LU" }));
    r3.note = `BadRequest: ${(r3.badRequestFields ?? []).join(", ")}`;
    results.push(report("r3", "INVALID_ARGUMENT", r3, [["a google.rpc.BadRequest detail naming context.requested_state",
      (r3.badRequestFields ?? []).includes("context.requested_state")]]));
    const r4 = await unary(router, "GetRouterStats", {});
    const after = routedCounts(r4.reply);
    r4.note = Object.entries(after).sort().map(([state, count]) => `${state}:${count}`).join(" ");
    results.push(report("r4", "OK", r4, CHOSEN.map((state) => [
      `${state}'s DNA queries_routed one more than at r0 (${before[state] ?? 0} -> ${after[state]})`,
      (after[state] ?? 0) - (before[state] ?? 0) === 1])));
    // r5-r6: one search across categories (P2-ROUTER-2): DNA named twice is refused; DNA alone answers per state.
    const several = (twice) => {
      const dna = { category: "CATEGORY_DNA", profile: profile(DONOR) };
      return { context: context({ requested_state: ROUTER }), searches: twice ? [dna, dna] : [dna],
        target_states: CHOSEN, deadline_ms: 3000 };
    };
    const r5 = await unary(router, "RouteSeveral", several(true));
    results.push(report("r5", "INVALID_ARGUMENT", r5, [['details say "twice"', r5.details.includes("twice")]]));
    const r6 = await unary(router, "RouteSeveral", several(false));
    const severalStates = (r6.reply?.results ?? []).map((r) => r.state).sort();
    if (r6.reply) r6.note = r6.reply.results.map((r) => `${r.state}:${r.category}:${r.status.replace("RESULT_STATUS_", "")}`).join(" ");
    results.push(report("r6", "OK", r6, [
      [`one result per chosen state (${CHOSEN.join(",")})`, JSON.stringify(severalStates) === JSON.stringify(CHOSEN)],
      ["each result names CATEGORY_DNA", (r6.reply?.results ?? []).every((r) => r.category === "CATEGORY_DNA")]]));
  }

  for (const client of clients) client.close();
  process.exit(results.every(Boolean) ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`client.mjs: ${error.stack ?? error}\n`);
  process.exit(2);
});
