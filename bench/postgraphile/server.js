// PostGraphile 4 as a library on Node's own HTTP server: the bench's point of comparison (bench/versus.py).
//
// It connects as the database's owner and runs every request in a transaction as `aurum_app` with
// `app.user_id` set to the user of the request's Aurum access token (verified as Aurum verifies it: HS256,
// issuer, audience, expiry), so the same row-level security decides what it sees. Configured for
// production as PostGraphile's docs advise: no GraphiQL, no query log, no schema watching.
//
// Environment: DATABASE_URL, PORT, SIGNING_KEY, TOKEN_ISSUER, TOKEN_AUDIENCE, POOL_SIZE,
// EXPORT_SCHEMA (optional: write the GraphQL schema there, for reading).
"use strict";

const http = require("http");
const jwt = require("jsonwebtoken");
const { Pool } = require("pg");
const { postgraphile } = require("postgraphile");

const env = process.env;
const verifying = {
  algorithms: ["HS256"],
  issuer: env.TOKEN_ISSUER,
  audience: env.TOKEN_AUDIENCE,
};

function userOf(req) {
  const header = req.headers.authorization || "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  const claims = jwt.verify(token, env.SIGNING_KEY, verifying); // throws on anything wrong
  if (claims.typ !== "access" || typeof claims.sub !== "string") {
    throw new Error("not an access token");
  }
  return claims.sub;
}

const pool = new Pool({ connectionString: env.DATABASE_URL, max: Number(env.POOL_SIZE || 20) });

const handler = postgraphile(pool, "public", {
  pgSettings: (req) => ({ role: "aurum_app", "app.user_id": userOf(req) }),
  watchPg: false,
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  legacyRelations: "omit",
  enableQueryBatching: false,
  showErrorStack: false,
  exportGqlSchemaPath: env.EXPORT_SCHEMA || undefined,
});

const server = http.createServer(handler);
server.keepAliveTimeout = 65000; // as Aurum's: idle bench connections are not closed between requests
server.listen(Number(env.PORT), "127.0.0.1", () => {
  console.log(`postgraphile: listening on http://127.0.0.1:${env.PORT}/graphql`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
  });
}
