/**
 * A room's roster on this instance, in memory: its approved participants in the order they
 * joined, and who of them is online. Joins and leaves change it at once (they say exactly what
 * changed); anything else (approvals, removals, renames, a lost event) is picked up when the
 * paced roster run re-reads the database and presence and reconciles (roster-pacing.ts).
 *
 * From it come the join snapshot (ROOM_PARTICIPANTS, then ROSTER_PAGE pages for delta-presence
 * clients), the capped roster of clients without delta presence, and each change's entries.
 * The snapshot is shared: built once, then reused with the changes made since (one
 * ROSTER_UPDATE) until those grow past a fraction of the roster.
 */

import type { ServerMessageOf } from "@streamit/protocol";

export type RosterMember = ServerMessageOf<"ROOM_PARTICIPANTS">["members"][number];
type Participants = ServerMessageOf<"ROOM_PARTICIPANTS">;
type Page = ServerMessageOf<"ROSTER_PAGE">;
type Update = ServerMessageOf<"ROSTER_UPDATE">;

/** Who the room's host and co-hosts are (display only). */
export interface RosterRoles {
  hostId: string;
  roles: { cohosts: readonly string[] };
}

export interface RosterLimits {
  /** Entries per page of a delta-presence joiner's roster. */
  pageSize: number;
  /** Entries in the roster of a client without delta presence (the rest are counted in `total`). */
  legacyMax: number;
}

/** A joiner's roster: the pages, then what changed since they were built (or nothing). */
export interface RosterSnapshot {
  first: Participants;
  pages: Page[];
  since: Update | undefined;
}

/** What a reconcile or a role change did to the roster: the changed entries and removed ids. */
export interface RosterChange {
  members: RosterMember[];
  removed: string[];
}

interface SharedSnapshot {
  version: number;
  rolesKey: string;
  first: Participants;
  pages: Page[];
  /** Ids changed since the snapshot was built (re-read from the roster when a joiner comes). */
  changed: Set<string>;
}

/** A shared snapshot is rebuilt once the changes since it exceed this share of the roster (at least 32). */
const STALE_SHARE = 1 / 8;

export class RoomRoster {
  /** id → display name, in join order. */
  private entries = new Map<string, string>();
  /** The online ids (always entries). */
  private readonly online = new Set<string>();
  /** Changes made before the first load, replayed after it (in order). */
  private beforeLoad: (() => void)[] | undefined = [];
  private shared: SharedSnapshot | undefined;
  /** Grows with every change: a reconcile based on an older read is skipped. */
  version = 0;

  constructor(private readonly limits: RosterLimits) {}

  get loaded(): boolean {
    return this.beforeLoad === undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  get onlineCount(): number {
    return this.online.size;
  }

  has(userId: string): boolean {
    return this.entries.has(userId);
  }

  isOnline(userId: string): boolean {
    return this.online.has(userId);
  }

  /** The first load (approved rows from the database, online ids from presence). */
  load(rows: readonly { id: string; display_name: string }[], online: ReadonlySet<string>): void {
    if (this.loaded) return;
    this.replace(rows, online);
    const queued = this.beforeLoad ?? [];
    this.beforeLoad = undefined;
    for (const change of queued) change();
  }

  /** A user's connection joined: the user is online (and an entry, being approved). True if that changed anything. */
  join(userId: string, displayName: string): boolean {
    if (!this.loaded) return this.later(() => this.join(userId, displayName));
    const known = this.entries.get(userId);
    if (known === displayName && this.online.has(userId)) return false;
    if (known !== displayName) this.entries.set(userId, displayName);
    this.online.add(userId);
    this.touch(userId);
    return true;
  }

  /** A user's last connection left. True if that changed anything. */
  leave(userId: string): boolean {
    if (!this.loaded) return this.later(() => this.leave(userId));
    if (!this.online.delete(userId)) return false;
    this.touch(userId);
    return true;
  }

  /**
   * Replaces the roster by a fresh read and says what differs (nothing when the read agrees).
   * The order becomes the database's.
   */
  reconcile(rows: readonly { id: string; display_name: string }[], online: ReadonlySet<string>, who: RosterRoles): RosterChange {
    const changed: string[] = [];
    const removed: string[] = [];
    const fresh = new Set<string>();
    for (const row of rows) {
      fresh.add(row.id);
      if (this.entries.get(row.id) !== row.display_name || this.online.has(row.id) !== online.has(row.id)) changed.push(row.id);
    }
    for (const id of this.entries.keys()) if (!fresh.has(id)) removed.push(id);
    this.replace(rows, online);
    for (const id of [...changed, ...removed]) this.touch(id);
    return { members: changed.map((id) => this.member(id, who)), removed };
  }

  /** The entry of a user, as it is now (a user no longer in the roster: offline, with `name`). */
  member(userId: string, who: RosterRoles, name?: string): RosterMember {
    return {
      id: userId,
      display_name: this.entries.get(userId) ?? name ?? "",
      is_host: userId === who.hostId,
      is_cohost: who.roles.cohosts.includes(userId),
      online: this.online.has(userId),
    };
  }

  /** The whole roster in order (for a room of at most `legacyMax` entries, the roster of every client). */
  members(who: RosterRoles): RosterMember[] {
    return [...this.entries.keys()].map((id) => this.member(id, who));
  }

  /**
   * ROOM_PARTICIPANTS for clients without delta presence: the whole roster, or in a room of more
   * than `legacyMax` entries the host, then online members, then the others, up to `legacyMax`.
   */
  legacyRoster(who: RosterRoles): Participants {
    if (this.entries.size <= this.limits.legacyMax) return this.participants(this.members(who), who);
    const ids = [who.hostId, ...this.online, ...this.entries.keys()].filter((id) => this.entries.has(id));
    const picked = [...new Set(ids)].slice(0, this.limits.legacyMax);
    return this.participants(
      picked.map((id) => this.member(id, who)),
      who,
    );
  }

  /** A delta-presence joiner's roster: shared pages and the changes since they were built. */
  snapshot(who: RosterRoles): RosterSnapshot {
    const rolesKey = `${who.hostId}|${who.roles.cohosts.join(",")}`;
    let shared = this.shared;
    const stale = !shared || shared.rolesKey !== rolesKey || shared.changed.size > Math.max(32, this.entries.size * STALE_SHARE);
    if (!shared || stale) {
      shared = this.build(who, rolesKey);
      this.shared = shared;
    }
    if (shared.version === this.version || shared.changed.size === 0) return { first: shared.first, pages: shared.pages, since: undefined };
    const members: RosterMember[] = [];
    const removed: string[] = [];
    for (const id of shared.changed) {
      if (this.entries.has(id)) members.push(this.member(id, who));
      else removed.push(id);
    }
    return { first: shared.first, pages: shared.pages, since: { type: "ROSTER_UPDATE", members, removed, online: this.online.size } };
  }

  private build(who: RosterRoles, rolesKey: string): SharedSnapshot {
    const all = this.members(who);
    const size = this.limits.pageSize;
    const pages: Page[] = [];
    for (let offset = size; offset < all.length; offset += size) {
      pages.push({ type: "ROSTER_PAGE", members: all.slice(offset, offset + size), offset, total: all.length });
    }
    const first = { ...this.participants(all.slice(0, size), who), total: all.length };
    return { version: this.version, rolesKey, first, pages, changed: new Set() };
  }

  private participants(members: RosterMember[], who: RosterRoles): Participants {
    const hostName = this.entries.get(who.hostId);
    return {
      type: "ROOM_PARTICIPANTS",
      participants: members.map((m) => m.display_name),
      host: hostName ?? null,
      members,
      online: this.online.size,
      total: this.entries.size,
    };
  }

  private replace(rows: readonly { id: string; display_name: string }[], online: ReadonlySet<string>): void {
    this.entries = new Map(rows.map((r) => [r.id, r.display_name]));
    this.online.clear();
    for (const id of online) if (this.entries.has(id)) this.online.add(id);
  }

  private touch(userId: string): void {
    this.version += 1;
    this.shared?.changed.add(userId);
  }

  /** Before the first load a change waits for it; it counts as a change. */
  private later(change: () => void): boolean {
    this.beforeLoad!.push(change);
    return true;
  }
}
