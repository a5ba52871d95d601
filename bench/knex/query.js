// The seed guide's Knex query (`client.raw('... LIMIT ?')`), timed call by call.
//
//   node bench/knex/query.js '{"host": ..., "port": ..., "user": ..., "password": ...,
//                              "database": ..., "sql": "... ? ...", "params": [...]}'
//
// Reads commands from stdin, one per line: "run N" times N queries one after another and
// answers one line of JSON, {"wall_ns": [...], "cpu_ns": [...]}: each call's wall time
// (process.hrtime) and this process's CPU time (process.cpuUsage, microseconds); "quit"
// closes the pool. bench/request.py drives it, taking turns with the Python calls.
"use strict";

const readline = require("node:readline");
const knex = require("knex");

const options = JSON.parse(process.argv[2]);
const client = knex({
  client: "pg",
  connection: {
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
  },
  pool: { min: 1, max: 1 }, // one connection, as one Lambda sandbox holds
});

async function run(n) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < n; i++) {
    const before = process.cpuUsage();
    const start = process.hrtime.bigint();
    const result = await client.raw(options.sql, options.params);
    wall.push(Number(process.hrtime.bigint() - start));
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) * 1000);
    if (result.rows.length !== 1) throw new Error(`expected 1 row, got ${result.rows.length}`);
  }
  return { wall_ns: wall, cpu_ns: cpu };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, count] = line.trim().split(/\s+/);
    if (command === "quit") break;
    if (command !== "run") throw new Error(`unknown command ${JSON.stringify(line)}`);
    process.stdout.write(JSON.stringify(await run(Number(count))) + "\n");
  }
  await client.destroy();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
