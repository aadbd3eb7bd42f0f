/**
 * `npm run createsuperuser -- --email admin@example.com [--password …] [--display-name Admin]`
 * Creates a staff account (display name "Admin" by default), or promotes an existing account
 * with that e-mail and sets its password. Asks for the password when it is not given.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { migrateToLatest } from "../db/migrator.js";
import { hashPassword, passwordWeakness } from "../src/auth/passwords.js";
import { findUserByEmail, insertUser } from "../src/auth/users.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";

const { values } = parseArgs({
  options: { email: { type: "string" }, password: { type: "string" }, "display-name": { type: "string", default: "Admin" } },
});

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

const email = (values.email ?? (await ask("Email: "))).toLowerCase();
const password = values.password ?? (await ask("Password: "));
if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
  console.error("A valid --email is required.");
  process.exit(2);
}
const weakness = passwordWeakness(password, { email });
if (weakness) {
  console.error(weakness);
  process.exit(2);
}

const config = loadConfig();
const database = await openDatabase(config.database);
try {
  await migrateToLatest(database.db, database.schema);
  const passwordHash = await hashPassword(password);
  const existing = await findUserByEmail(database.db, email);
  if (existing) {
    await database.db
      .updateTable("users")
      .set({ is_staff: true, is_superuser: true, is_active: true, password_hash: passwordHash })
      .where("id", "=", existing.id)
      .execute();
    console.log(`Promoted ${email} to superuser.`);
  } else {
    const user = await insertUser(database.db, {
      email,
      display_name: values["display-name"] ?? "Admin",
      password_hash: passwordHash,
      is_staff: true,
      is_superuser: true,
    });
    console.log(`Superuser created: ${email} (username ${user.username}).`);
  }
} finally {
  await database.close();
}
