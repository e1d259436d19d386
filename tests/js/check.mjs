// Loads every Automerge file `focal export` wrote with the JavaScript
// implementation and checks it holds exactly the record in records.json.
import * as A from "@automerge/automerge";
import fs from "fs";
import path from "path";
import assert from "assert/strict";

const out = process.argv[2];
const records = JSON.parse(fs.readFileSync(path.join(out, "records.json"), "utf8"));
assert.ok(records.length > 0, "the export holds records");
for (const record of records) {
  const file = path.join(out, "automerge", record.id.replaceAll(":", "_") + ".automerge");
  const doc = A.load(new Uint8Array(fs.readFileSync(file)));
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), record, `${record.id} differs in JavaScript`);
  console.log(`${record.id}: loads in @automerge/automerge, ${A.getAllChanges(doc).length} changes, identical`);
}
