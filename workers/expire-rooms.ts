/** `npm run expire-rooms`: expires GRACE rooms whose grace has passed (the original `expire_rooms`). */
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { expireDueRooms } from "../src/lifecycle/transitions.js";

const config = loadConfig();
const database = await openDatabase(config.database);
try {
  const expired = await expireDueRooms(database.db);
  console.log(`Expired ${expired.length} room(s)`);
} finally {
  await database.close();
}
