/**
 * A room and its people for realtime tests, in one call:
 *  1. a registered host creates a room of the given kind (the body of POST /api/rooms/create/);
 *  2. each member gets an account (a guest or a registered user), in the order given;
 *  3. each member joins over REST, in that order (with the room's password in a PASSWORD room;
 *     approved by the host in an APPROVAL room), and must be let in;
 *  4. the host, then each member that has a transport, connects and reads the three join messages;
 *  5. optionally the host then reads one USER_JOINED (`hostSeesJoin`).
 *
 *   const { host, room, viewer, hostClient, viewerClient } =
 *     await party(t, { transport: "ws", members: { viewer: guest("Pal") }, hostSeesJoin: true });
 *
 * Each member comes back under its key (the account) and, when connected, as `<key>Client`; the
 * host as `host` and `hostClient`. A transport is "ws", "socket.io" or a client factory; a member
 * or the host may say its own (`null`: not connected) and where it connects (`baseUrl`, another
 * instance) or whom it asks (`api`). The clients are closed after the test (open-clients.ts).
 */
import type { Api } from "./api.js";
import { type ClientFactory, rawClient, sioClient } from "./clients.js";

export type Transport = "ws" | "socket.io" | ClientFactory;
export type RawClient = ReturnType<typeof rawClient>;
export type SioClient = ReturnType<typeof sioClient>;
/** The client a transport opens. */
export type ClientOf<T> = T extends "ws"
  ? RawClient
  : T extends "socket.io"
    ? SioClient
    : T extends (...args: any[]) => infer C
      ? C
      : never;

/** An account as the auth endpoints return it (id, token, display_name, …). */
export interface Account {
  id: string;
  token: string;
  display_name: string;
  [field: string]: any;
}
export type Room = Awaited<ReturnType<Api["createRoom"]>>;

/** Where a party's requests and sockets go unless someone says otherwise: a TestApp will do. */
export interface Venue {
  api: Api;
  baseUrl: string;
}

export interface Seat<T> {
  /** How this one connects; null: not at all; undefined: the party's transport. */
  transport?: T;
  /** Where this one's socket connects (another instance); default the venue's. */
  baseUrl?: string;
  /** Whom this one's requests go to; default the venue's. */
  api?: Api;
}

export interface MemberSpec<T = undefined> extends Seat<T> {
  account: "guest" | "registered";
  /** The display name (a guest's default "Guest"; a registered user's a random one). */
  name?: string;
}

type SeatTransport = Transport | null | undefined;

// NoInfer: a member's transport comes from its own seat, never from where the spec is used.
/** A guest member. */
export const guest = <T extends SeatTransport = undefined>(name?: string, seat: Seat<T> = {}): NoInfer<MemberSpec<T>> => ({
  account: "guest",
  name,
  ...seat,
});
/** A registered member. */
export const registered = <T extends SeatTransport = undefined>(seat: Seat<T> & { name?: string } = {}): NoInfer<MemberSpec<T>> => ({
  account: "registered",
  ...seat,
});

export interface PartyOptions<M, D, H> {
  /** The room's kind: the body of POST /api/rooms/create/ (default a public room). */
  room?: Record<string, unknown>;
  /** The members by name, in the order they get accounts, join and connect. */
  members?: M;
  /** Everyone's transport unless they say otherwise; omitted: nobody connects. */
  transport?: D;
  /** The host's own seat. */
  host?: Seat<H>;
  /** Once everyone is connected, the host reads a USER_JOINED (one, whatever the party's size). */
  hostSeesJoin?: boolean;
}

type Chosen<T, D> = [T] extends [undefined] ? D : T;
type TransportOf<S, D> = S extends MemberSpec<infer T> ? Chosen<T, D> : never;
type MemberClients<M, D> = {
  [K in keyof M & string as TransportOf<M[K], D> extends Transport ? `${K}Client` : never]: ClientOf<TransportOf<M[K], D>>;
};
type HostClient<H, D> = Chosen<H, D> extends Transport ? { hostClient: ClientOf<Chosen<H, D>> } : unknown;

export type Party<M, D, H> = { host: Account; room: Room } & { [K in keyof M]: Account } & MemberClients<M, D> & HostClient<H, D>;

function open(transport: Transport, baseUrl: string, code: string, token: string) {
  if (transport === "ws") return rawClient(baseUrl, code, token);
  if (transport === "socket.io") return sioClient(baseUrl, code, token);
  return transport(baseUrl, code, token);
}

export async function party<
  const M extends Record<string, MemberSpec<SeatTransport>> = Record<never, never>,
  D extends SeatTransport = undefined,
  H extends SeatTransport = undefined,
>(venue: Venue, options: PartyOptions<M, D, H> = {}): Promise<Party<M, D, H>> {
  const { room: kind = { is_private: false }, members = {} as M, transport, host: hostSeat = {}, hostSeesJoin = false } = options;
  const seats = Object.entries(members) as [string, MemberSpec<SeatTransport>][];
  for (const [key] of seats)
    if (["host", "room"].includes(key) || key.endsWith("Client")) throw new Error(`party: "${key}" cannot name a member`);
  const hostApi = hostSeat.api ?? venue.api;
  const host: Account = await hostApi.register();
  const room = await hostApi.createRoom(host.token, kind);
  const result: Record<string, unknown> = { host, room };

  for (const [key, spec] of seats) {
    const api = spec.api ?? venue.api;
    result[key] = spec.account === "guest" ? await api.guest(spec.name) : await api.register(spec.name);
  }
  for (const [key, spec] of seats) {
    const member = result[key] as Account;
    const joined = await (spec.api ?? venue.api).join(member.token, room.code, room.room_password);
    if (joined.status !== 200) throw new Error(`party: ${key} could not join: ${joined.status} ${joined.text}`);
    if (joined.body.status === "PENDING") {
      const approved = await hostApi.post("/api/rooms/approve/", { room_id: room.room_id, user_id: member.id }, { token: host.token });
      if (approved.status !== 200) throw new Error(`party: ${key} was not approved: ${approved.status} ${approved.text}`);
    }
  }

  const hostTransport = hostSeat.transport === undefined ? transport : hostSeat.transport;
  if (hostTransport) {
    const client = open(hostTransport, hostSeat.baseUrl ?? venue.baseUrl, room.code, host.token);
    await client.drainJoin();
    result.hostClient = client;
  }
  for (const [key, spec] of seats) {
    const memberTransport = spec.transport === undefined ? transport : spec.transport;
    if (!memberTransport) continue;
    const client = open(memberTransport, spec.baseUrl ?? venue.baseUrl, room.code, (result[key] as Account).token);
    await client.drainJoin();
    result[`${key}Client`] = client;
  }
  if (hostSeesJoin) {
    const hostClient = result.hostClient as ReturnType<typeof open> | undefined;
    if (!hostClient) throw new Error("party: hostSeesJoin needs a connected host");
    await hostClient.waitFor("USER_JOINED");
  }
  return result as Party<M, D, H>;
}
