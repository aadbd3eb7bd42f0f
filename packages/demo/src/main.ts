/**
 * The StreamIt demo page: sign in (a guest joins; hosting needs an account), create or join a
 * room, and watch together. Every
 * realtime part is the SDK's (`@streamit/client`): the room connection, the server clock and the
 * lock-step playback of the <video> through Html5Player. This file is only the page around it:
 * forms, the roster, the chat, the host's controls and a sync panel. No framework; text always
 * goes in as textContent (chat and names are other people's input).
 */
import { connect, Html5Player, type Room, RoomError, type RoomMessage, type RosterMember } from "@streamit/client";
import { type MediaCapabilities, REACTIONS, type Reaction } from "@streamit/protocol";
import { Api, ApiError, type EntryMode, type RoomDetail, type WaitingDetail } from "./api";

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

function stat(name: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-stat="${name}"]`);
  if (!element) throw new Error(`the page has no [data-stat=${name}]`);
  return element;
}

const ui = {
  whoami: $("whoami"),
  signOut: $<HTMLButtonElement>("sign-out"),
  notice: $("notice"),
  signinView: $("signin-view"),
  guestForm: $<HTMLFormElement>("guest-form"),
  guestName: $<HTMLInputElement>("guest-name"),
  accountForm: $<HTMLFormElement>("account-form"),
  accountEmail: $<HTMLInputElement>("account-email"),
  accountPassword: $<HTMLInputElement>("account-password"),
  accountName: $<HTMLInputElement>("account-name"),
  lobbyView: $("lobby-view"),
  createForm: $<HTMLFormElement>("create-form"),
  createNote: $("create-note"),
  entryMode: $<HTMLSelectElement>("entry-mode"),
  joinForm: $<HTMLFormElement>("join-form"),
  joinCode: $<HTMLInputElement>("join-code"),
  joinPassword: $<HTMLInputElement>("join-password"),
  roomView: $("room-view"),
  roomCode: $("room-code"),
  roomPassword: $("room-password"),
  role: $("role"),
  connection: $("connection"),
  leave: $<HTMLButtonElement>("leave"),
  video: $<HTMLVideoElement>("video"),
  joinPlayback: $<HTMLButtonElement>("join-playback"),
  mediaNote: $("media-note"),
  mediaCaps: $("media-caps"),
  bufferingNote: $("buffering-note"),
  hostControls: $("host-controls"),
  sourceForm: $<HTMLFormElement>("source-form"),
  mediaUrl: $<HTMLInputElement>("media-url"),
  play: $<HTMLButtonElement>("play"),
  pause: $<HTMLButtonElement>("pause"),
  seekForm: $<HTMLFormElement>("seek-form"),
  seekTime: $<HTMLInputElement>("seek-time"),
  rate: $<HTMLSelectElement>("rate"),
  controlError: $("control-error"),
  roster: $("roster"),
  requestsBox: $("requests-box"),
  requests: $("requests"),
  chat: $("chat"),
  chatForm: $<HTMLFormElement>("chat-form"),
  chatInput: $<HTMLInputElement>("chat-input"),
  chatError: $("chat-error"),
  reactions: $("reactions"),
  keepRoom: $<HTMLInputElement>("keep-room"),
  invite: $<HTMLButtonElement>("invite"),
  inviteLink: $<HTMLInputElement>("invite-link"),
  partyForm: $<HTMLFormElement>("party-form"),
  partyTime: $<HTMLInputElement>("party-time"),
  partyNote: $("party-note"),
  restingNote: $("resting-note"),
  queue: $("queue"),
  voteSkip: $<HTMLButtonElement>("vote-skip"),
  queueControls: $("queue-controls"),
  queueForm: $<HTMLFormElement>("queue-form"),
  queueUrl: $<HTMLInputElement>("queue-url"),
  queueTitle: $<HTMLInputElement>("queue-title"),
  queueNext: $<HTMLButtonElement>("queue-next"),
  queueError: $("queue-error"),
  reactionOverlay: $("reaction-overlay"),
  reactionError: $("reaction-error"),
  stats: {
    room: stat("room"),
    video: stat("video"),
    offset: stat("offset"),
    rtt: stat("rtt"),
    drift: stat("drift"),
    corrections: stat("corrections"),
  },
};

const api = new Api();
let active: ActiveRoom | undefined;

// ---------------------------------------------------------------------------------------------
// Messages

function showNotice(text: string, kind: "info" | "error" = "info"): void {
  ui.notice.textContent = text;
  ui.notice.className = kind === "error" ? "error" : "";
  ui.notice.hidden = false;
}

function clearNotice(): void {
  ui.notice.hidden = true;
  ui.notice.textContent = "";
}

function showError(target: HTMLElement, text: string | undefined): void {
  target.textContent = text ?? "";
  target.hidden = !text;
}

/** A failure as a person reads it: the server's message and its code. */
function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
    return `${err.message} (${err.code}).${wait}`;
  }
  if (err instanceof RoomError) {
    if (err.code === "TIMEOUT") return "The server did not answer in time (TIMEOUT).";
    if (err.code === "DISCONNECTED") return "Not connected to the room right now (DISCONNECTED).";
    return `${err.message} (${err.code}).`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Why a join over REST failed, for the lobby. */
function describeJoinError(err: unknown, code: string, triedPassword: boolean): string {
  if (!(err instanceof ApiError)) return describe(err);
  switch (err.code) {
    case "INVALID_ROOM_PASSWORD":
      return triedPassword ? "Wrong password for this room." : `Room ${code} needs a password: enter it and join again.`;
    case "ROOM_NOT_FOUND":
      return `There is no room with the code ${code}.`;
    case "ROOM_INACTIVE":
    case "ROOM_EXPIRED":
      return `Room ${code} has ended.`;
    case "BANNED":
      return "You are banned from this room.";
    case "JOIN_REJECTED":
      return "The host declined your request to join.";
    default:
      return describe(err);
  }
}

/** Why the room connection ended for good (close codes: docs/protocol.md). */
function describeClose(info: { code: number; reason: string; error?: string | undefined }): string {
  switch (info.error) {
    case "JOIN_REJECTED":
      return "The host declined your request to join.";
    case "NOT_A_PARTICIPANT":
      return "You are not a participant of this room: join it first.";
    case "NOT_APPROVED":
      return "The host has not let you in yet.";
  }
  switch (info.code) {
    case 4001:
      return "Your sign-in expired or was revoked: sign in again.";
    case 4002:
      return "There is no such room.";
    case 4004:
      return "The room expired: its host was away for too long.";
    case 4005:
      return "The room has ended (deleted or expired).";
    case 4010:
      return "You are banned from this room.";
    case 4011:
      return info.reason || "You were removed from the room.";
    default:
      return `Disconnected from the room: ${info.reason || "no reason given"} (${info.code}).`;
  }
}

// ---------------------------------------------------------------------------------------------
// Views

function showSignIn(): void {
  ui.signinView.hidden = false;
  ui.lobbyView.hidden = true;
  ui.roomView.hidden = true;
  ui.signOut.hidden = true;
  ui.whoami.textContent = "";
  ui.guestName.focus();
}

function showLobby(): void {
  const account = api.account;
  if (!account) {
    showSignIn();
    return;
  }
  ui.signinView.hidden = true;
  ui.lobbyView.hidden = false;
  ui.roomView.hidden = true;
  ui.signOut.hidden = false;
  ui.whoami.textContent = `Signed in as ${account.display_name}${account.is_guest ? " (guest)" : ""}`;
  ui.createNote.hidden = !account.is_guest;
  for (const control of ui.createForm.querySelectorAll<HTMLButtonElement | HTMLSelectElement>("button, select")) {
    control.disabled = account.is_guest;
  }
  // An invitation link is this page's address with the room code as its fragment (and, from an
  // invite, its token: #CODE?invite=TOKEN, which joins without the password or the approval).
  const { code, invite } = invitation();
  if (code && !ui.joinCode.value) ui.joinCode.value = code;
  ui.joinPassword.placeholder = invite ? "not needed: you have an invite" : "";
}

/** What the page's fragment names: a room code, and an invite token. */
function invitation(): { code: string; invite: string | undefined } {
  const [code = "", query = ""] = decodeURIComponent(location.hash.slice(1)).trim().split("?");
  return { code: code.toUpperCase(), invite: new URLSearchParams(query).get("invite") ?? undefined };
}

function showRoomView(code: string, password: string | undefined): void {
  ui.signinView.hidden = true;
  ui.lobbyView.hidden = true;
  ui.roomView.hidden = false;
  ui.roomCode.textContent = code;
  ui.roomPassword.hidden = !password;
  ui.roomPassword.textContent = password ? `password: ${password}` : "";
  ui.chat.replaceChildren();
  ui.roster.replaceChildren();
  ui.requests.replaceChildren();
  ui.requestsBox.hidden = true;
  ui.hostControls.hidden = true;
  ui.joinPlayback.hidden = true;
  ui.mediaNote.textContent = "";
  ui.mediaCaps.textContent = "";
  ui.role.textContent = "";
  ui.queue.replaceChildren();
  ui.partyNote.hidden = true;
  ui.restingNote.hidden = true;
  ui.inviteLink.hidden = true;
  ui.voteSkip.textContent = "Vote to skip";
  showError(ui.queueError, undefined);
  showError(ui.controlError, undefined);
  showError(ui.chatError, undefined);
  history.replaceState(null, "", `#${code}`);
}

// ---------------------------------------------------------------------------------------------
// The room

interface EnterOptions {
  code: string;
  roomId: string;
  isHost: boolean;
  /** PASSWORD rooms: the password, shown to the host who created the room. */
  password?: string | undefined;
  /** Approval rooms: the host has not let us in yet; the connection waits for the answer. */
  pending: boolean;
}

/** One room on screen: the SDK's Room, the player adapter, and what the page shows of them. */
class ActiveRoom {
  readonly room: Room;
  readonly code: string;
  private readonly roomId: string;
  private readonly player: Html5Player;
  private readonly me: string;
  private readonly refresher: number;
  private readonly chatIds = new Set<string>();
  /** Members' names by id, from the roster (BUFFERING_STATE names users by id). */
  private readonly names = new Map<string, string>();
  /** Grows with every SOURCE_CHANGED, so a slower detail answer cannot undo a newer source. */
  private sourceEpoch = 0;
  private canControl = false;
  private everOpened = false;
  /** Waiting for the host's approval (until the first open). */
  private pending: boolean;
  private left = false;

  constructor(options: EnterOptions) {
    this.code = options.code.toUpperCase();
    this.roomId = options.roomId;
    this.me = api.account?.id ?? "";
    this.pending = options.pending;
    this.setControl(options.isHost);
    this.player = new Html5Player(ui.video);
    this.room = connect({ url: location.origin, code: this.code, getToken: api.token, player: this.player, wait: options.pending });
    if (options.pending) {
      ui.connection.textContent = "waiting for the host";
      showNotice("You asked to join: waiting for the host to let you in…");
      void this.showWaiting();
    }
    this.listen();
    this.refresher = window.setInterval(() => this.renderStats(), 250);
    this.renderStats();
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    window.clearInterval(this.refresher);
    this.room.close();
    this.player.dispose();
    ui.video.removeAttribute("src");
    ui.video.load();
  }

  async play(): Promise<void> {
    await this.room.play();
  }

  async pause(): Promise<void> {
    await this.room.pause();
  }

  async seek(time: number): Promise<void> {
    await this.room.seek(time);
  }

  async setRate(rate: number): Promise<void> {
    await this.room.setRate(rate);
  }

  async setSource(url: string): Promise<void> {
    await api.setDirectSource(this.roomId, url);
  }

  async sendChat(message: string): Promise<void> {
    await this.room.chat(message);
  }

  async react(emoji: Reaction): Promise<void> {
    await this.room.react(emoji);
  }

  async queueAdd(url: string, title: string): Promise<void> {
    await this.room.queueAdd({ provider: "direct", video_id: url, ...(title ? { title } : {}) });
  }

  async queueRemove(itemId: string): Promise<void> {
    await this.room.queueRemove(itemId);
  }

  async next(): Promise<void> {
    await this.room.next();
  }

  async voteSkip(): Promise<void> {
    await this.room.voteSkip();
  }

  async keep(persistent: boolean): Promise<void> {
    try {
      ui.keepRoom.checked = await this.room.setPersistent(persistent);
    } catch (err) {
      ui.keepRoom.checked = !persistent; // refused: the box shows what is in force
      throw err;
    }
  }

  async schedule(startsAt: Date): Promise<void> {
    await this.room.setPartyTime(startsAt);
  }

  /** A link to this page that joins the room with a fresh invite token. */
  async createInvite(): Promise<string> {
    const invite = await api.createInvite(this.roomId);
    return `${location.origin}${location.pathname}#${this.code}?invite=${encodeURIComponent(invite.token)}`;
  }

  private listen(): void {
    const { room } = this;
    room.on("status", (status) => {
      if (status === "connected") ui.connection.textContent = "connected";
      else if (status === "connecting") ui.connection.textContent = this.pending ? "waiting for the host" : "connecting…";
      else if (status === "closed") ui.connection.textContent = "closed";
    });
    room.on("reconnecting", ({ attempt, code }) => {
      // An approval wait that ran out is asked again by the SDK: still waiting.
      ui.connection.textContent = this.pending ? "waiting for the host" : `reconnecting (attempt ${attempt})…`;
      // Never in, and no word from the server: a socket refused at its handshake looks like
      // this, and when the page itself loads the usual cause is the origin check.
      if (!this.everOpened && code === undefined && attempt >= 3) {
        showNotice(
          `Cannot open the room's connection. If this goes on, check that this page's origin (${location.origin}) is in the server's CORS_ORIGINS.`,
          "error",
        );
      }
    });
    room.on("open", () => {
      this.everOpened = true;
      this.pending = false;
      clearNotice();
      void this.loadDetail();
      void room.loadQueue().catch(() => {});
    });
    room.on("QUEUE_UPDATED", (queue) => this.renderQueue(queue));
    room.on("VOTE_SKIP_UPDATED", ({ votes, needed }) => {
      ui.voteSkip.textContent = `Vote to skip (${votes}/${needed})`;
    });
    room.on("ROOM_RESTING", () => {
      ui.restingNote.textContent = "The room is resting: it wakes when the host comes back.";
      ui.restingNote.hidden = false;
    });
    room.on("ROOM_PERSISTENCE", ({ is_persistent }) => {
      ui.keepRoom.checked = is_persistent;
      this.addSystemLine(is_persistent ? "The host keeps this room." : "This room expires again when its host stays away.");
    });
    room.on("closed", (info) => {
      if (this.left) return;
      const message = describeClose(info);
      leaveRoom();
      showNotice(message, "error");
    });
    room.on("playblocked", () => {
      ui.joinPlayback.hidden = false;
    });
    room.on("playback", (state) => {
      if ([...ui.rate.options].some((o) => Number(o.value) === state.rate)) ui.rate.value = String(state.rate);
    });

    room.on("CHAT_HISTORY", ({ messages }) => {
      ui.chat.replaceChildren();
      this.chatIds.clear();
      for (const message of messages) this.addChat(message);
    });
    room.on("CHAT_MESSAGE", (message) => this.addChat(message));
    room.on("REACTION", ({ emoji, user }) => showReaction(emoji, user));
    room.on("CHAT_STATUS", ({ enabled, slow_mode_seconds }) => {
      if (!enabled) this.addSystemLine("The host turned chat off.");
      else if (slow_mode_seconds > 0) this.addSystemLine(`Slow mode: one message per ${slow_mode_seconds} s.`);
      else this.addSystemLine("Chat is on.");
    });
    room.on("roster", (roster) => {
      // Pages of the join snapshot come right after each other: draw once it is whole.
      if (!roster.complete) return;
      const members = roster.members;
      for (const member of members) this.names.set(member.id, member.display_name);
      this.renderRoster(members);
    });
    room.on("BUFFERING_STATE", (state) => this.renderBuffering(state));
    room.on("USER_JOINED", ({ user }) => this.addSystemLine(`${user} joined.`));
    room.on("USER_LEFT", ({ user }) => this.addSystemLine(`${user} left.`));
    room.on("HOST_DISCONNECTED", ({ grace_seconds }) =>
      this.addSystemLine(`The host left. The room waits ${grace_seconds} s for them before it ends.`),
    );
    room.on("HOST_RECONNECTED", () => {
      ui.restingNote.hidden = true;
      this.addSystemLine("The host is back.");
    });
    room.on("HOST_CHANGED", ({ host }) => {
      this.addSystemLine(`${host} is now the host.`);
      void this.loadDetail();
    });
    room.on("COHOSTS_CHANGED", () => void this.loadDetail());
    room.on("ROOM_DELETED", () => this.addSystemLine("The host deleted the room."));
    room.on("ROOM_EXPIRED", () => this.addSystemLine("The room expired."));
    room.on("SOURCE_CHANGED", (source) => {
      this.sourceEpoch += 1;
      ui.voteSkip.textContent = "Vote to skip";
      this.applySource(source);
    });
    room.on("JOIN_REQUESTED", (request) => this.addRequest(request));
    // Refusals of acknowledged messages come back in their acks; an ERROR is anything else.
    room.on("ERROR", ({ code, message }) => showNotice(`${message} (${code}).`, "error"));
  }

  /**
   * The join snapshot carries no media: it comes from the room's detail (and SOURCE_CHANGED
   * after). Fetched on every (re)connect, after the listeners are in, so no change is missed.
   */
  /** While waiting for approval: whose room it is (the reduced detail a pending user gets). */
  private async showWaiting(): Promise<void> {
    const detail = await api.roomDetail(this.code).catch(() => undefined);
    if (detail?.participant_status !== "PENDING" || !this.pending || this.left) return;
    showNotice(`You asked to join ${detail.host}'s room: waiting for the host to let you in…`);
    ui.role.textContent = `host: ${detail.host}`;
  }

  private async loadDetail(): Promise<void> {
    const epoch = this.sourceEpoch;
    let detail: RoomDetail | WaitingDetail;
    try {
      detail = await api.roomDetail(this.code);
    } catch (err) {
      if (!this.left) showNotice(`Could not load the room: ${describe(err)}`, "error");
      return;
    }
    // An open means approved; a pending answer here is stale, and the page has nothing to show from it.
    if (this.left || detail.participant_status !== "APPROVED") return;
    this.setControl(detail.is_host || (detail.is_cohost && detail.cohosts_control_playback), detail);
    ui.keepRoom.checked = detail.is_persistent === true;
    ui.restingNote.hidden = detail.state !== "RESTING";
    if (detail.state === "RESTING") ui.restingNote.textContent = "The room is resting: it wakes when the host comes back.";
    if (epoch === this.sourceEpoch) {
      this.room.sync?.setCapabilities(detail.capabilities);
      this.applySource(detail);
    }
  }

  private setControl(canControl: boolean, detail?: RoomDetail): void {
    this.canControl = canControl;
    ui.hostControls.hidden = !canControl;
    ui.queueControls.hidden = !canControl;
    if (detail) ui.role.textContent = detail.is_host ? "you are the host" : detail.is_cohost ? "you are a co-host" : `host: ${detail.host}`;
    else ui.role.textContent = canControl ? "you are the host" : "";
  }

  private applySource(source: {
    video_provider: string;
    embed_url: string | null;
    title?: string | null | undefined;
    capabilities?: MediaCapabilities | null | undefined;
  }): void {
    ui.mediaCaps.textContent = describeCapabilities(source.title, source.capabilities);
    const url = source.video_provider === "direct" ? source.embed_url : null;
    if (url) {
      if (ui.video.getAttribute("src") !== url) {
        ui.joinPlayback.hidden = true;
        ui.video.src = url;
      }
      ui.mediaNote.textContent = `Media: ${url}`;
      if (this.canControl && !ui.mediaUrl.value) ui.mediaUrl.value = url;
      return;
    }
    ui.video.removeAttribute("src");
    ui.video.load();
    if (!source.embed_url) {
      ui.mediaNote.textContent = this.canControl ? "No media yet: set a media URL below." : "No media yet: the host has not chosen any.";
    } else {
      ui.mediaNote.textContent = `This room plays media from “${source.video_provider}”, which this demo cannot show: it plays direct media files only.`;
    }
  }

  /** The queue, next first; those who may edit it get a remove button per item. */
  private renderQueue(queue: RoomMessage<"QUEUE_UPDATED">): void {
    const rows = queue.items.map((item) => {
      const li = document.createElement("li");
      li.textContent = item.title ?? item.video_id;
      li.dataset.itemId = item.id;
      if (this.canControl) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.addEventListener("click", () => void queueAction((room) => room.queueRemove(item.id))());
        li.append(" ", remove);
      }
      return li;
    });
    ui.queue.replaceChildren(...rows);
  }

  /** A scheduled party's countdown ("Party starts in 4:32"), refreshed with the stats. */
  private renderParty(): void {
    const left = this.room.partyCountdownMs();
    ui.partyNote.hidden = left === undefined;
    if (left === undefined) return;
    const seconds = Math.ceil(left / 1000);
    const clock = `${Math.floor(seconds / 3600) > 0 ? `${Math.floor(seconds / 3600)}:` : ""}${String(Math.floor((seconds % 3600) / 60)).padStart(seconds >= 3600 ? 2 : 1, "0")}:${String(seconds % 60).padStart(2, "0")}`;
    ui.partyNote.textContent = seconds > 0 ? `Party starts in ${clock}` : "The party starts now…";
  }

  /** The room's buffering wait in one line: "Waiting for Bob…", "Bob is catching up". */
  private renderBuffering(state: RoomMessage<"BUFFERING_STATE">): void {
    const names = (ids: readonly string[]) => ids.map((id) => (id === this.me ? "you" : (this.names.get(id) ?? "someone"))).join(", ");
    const parts: string[] = [];
    if (state.waiting.length > 0) parts.push(`Waiting for ${names(state.waiting)}…`);
    if (state.catching_up.length > 0)
      parts.push(
        `${names(state.catching_up)} ${state.catching_up.length === 1 && state.catching_up[0] !== this.me ? "is" : "are"} catching up`,
      );
    ui.bufferingNote.textContent = parts.join(" · ");
    ui.bufferingNote.hidden = parts.length === 0;
  }

  private renderRoster(members: readonly RosterMember[]): void {
    const items = members.map((member) => {
      const li = document.createElement("li");
      li.dataset.userId = member.id;
      li.className = member.online ? "online" : "offline";
      li.append(member.display_name);
      const roles = [
        member.id === this.me ? "you" : "",
        member.is_host ? "host" : "",
        member.is_cohost ? "co-host" : "",
        member.online ? "" : "away",
      ];
      for (const role of roles.filter(Boolean)) {
        const tag = document.createElement("span");
        tag.className = "role";
        tag.textContent = role;
        li.append(" ", tag);
      }
      return li;
    });
    ui.roster.replaceChildren(...items);
  }

  private addChat(message: { id: string; user: string; message: string; created_at: string }): void {
    if (this.chatIds.has(message.id)) return;
    this.chatIds.add(message.id);
    const li = document.createElement("li");
    li.dataset.messageId = message.id;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = message.user;
    const when = new Date(message.created_at);
    if (!Number.isNaN(when.getTime())) li.title = when.toLocaleString();
    li.append(author, " ", message.message);
    this.appendChatItem(li);
  }

  private addSystemLine(text: string): void {
    const li = document.createElement("li");
    li.className = "system";
    li.textContent = text;
    this.appendChatItem(li);
  }

  private appendChatItem(li: HTMLLIElement): void {
    const list = ui.chat;
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.append(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  /** Host, approval rooms: someone asks to join; answered over REST. */
  private addRequest({ user_id, display_name }: { user_id: string; display_name: string }): void {
    if (ui.requests.querySelector(`[data-user-id="${CSS.escape(user_id)}"]`)) return;
    const li = document.createElement("li");
    li.dataset.userId = user_id;
    li.append(`${display_name} `);
    const answer = (approve: boolean) => async () => {
      try {
        await (approve ? api.approve(this.roomId, user_id) : api.reject(this.roomId, user_id));
        li.remove();
        ui.requestsBox.hidden = ui.requests.childElementCount === 0;
      } catch (err) {
        showNotice(`Could not answer ${display_name}: ${describe(err)}`, "error");
      }
    };
    for (const [label, approve] of [
      ["Let in", true],
      ["Decline", false],
    ] as const) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.addEventListener("click", answer(approve));
      li.append(button, " ");
    }
    ui.requests.append(li);
    ui.requestsBox.hidden = false;
  }

  private renderStats(): void {
    this.renderParty();
    const { stats: out } = ui;
    const now = this.room.now();
    out.room.textContent = now
      ? `${now.position.toFixed(2)} s, ${now.playing ? "playing" : "paused"} at ${now.rate}× (version ${now.version})`
      : "waiting for the room's state…";
    const video = ui.video;
    const duration = Number.isFinite(video.duration) ? ` / ${video.duration.toFixed(1)} s` : "";
    const state = !video.getAttribute("src") ? "no media" : video.paused ? "paused" : this.player.isBuffering() ? "buffering" : "playing";
    out.video.textContent = `${video.currentTime.toFixed(2)} s${duration}, ${state}${video.playbackRate !== 1 ? ` at ${video.playbackRate.toFixed(3)}×` : ""}`;
    const stats = this.room.stats;
    out.offset.textContent = stats.rtt === undefined ? "measuring…" : `${ms(stats.offset)} ± ${ms(stats.errorBound)}`;
    out.rtt.textContent = stats.rtt === undefined ? "–" : ms(stats.rtt);
    out.drift.textContent =
      stats.lastDrift === undefined
        ? "–"
        : `${stats.lastDrift >= 0 ? "+" : "−"}${ms(Math.abs(stats.lastDrift) * 1000, 0)} (${stats.phase})`;
    out.corrections.textContent = `${stats.seeks ?? 0} seeks, ${stats.rateChanges ?? 0} rate changes`;
  }
}

function ms(value: number, digits = 1): string {
  return `${value.toFixed(digits)} ms`;
}

function enterRoom(options: EnterOptions): void {
  active?.leave();
  clearNotice();
  showRoomView(options.code.toUpperCase(), options.password);
  active = new ActiveRoom(options);
}

function leaveRoom(): void {
  active?.leave();
  active = undefined;
  history.replaceState(null, "", location.pathname + location.search);
  showLobby();
}

// ---------------------------------------------------------------------------------------------
// Wiring

/** Runs a form's action with its submit button disabled; failures go to `onError`. */
function onSubmit(form: HTMLFormElement, action: () => Promise<void>, onError: (err: unknown) => void): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll<HTMLButtonElement>("button");
    for (const b of buttons) b.disabled = true;
    try {
      await action();
    } catch (err) {
      onError(err);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

/** An action on the room whose errors (the ack's refusal, a timeout) show in `errors`. */
const actionShowingErrorsIn =
  (errors: HTMLElement) =>
  (action: (room: ActiveRoom) => Promise<void>): (() => Promise<void>) =>
  async () => {
    if (!active) return;
    showError(errors, undefined);
    try {
      await action(active);
    } catch (err) {
      showError(errors, describe(err));
    }
  };
/** A host control: its errors under the controls. */
const control = actionShowingErrorsIn(ui.controlError);
/** A queue action: its errors under the queue. */
const queueAction = actionShowingErrorsIn(ui.queueError);

onSubmit(
  ui.guestForm,
  async () => {
    clearNotice();
    await api.signInAsGuest(ui.guestName.value.trim());
    showLobby();
  },
  (err) => showNotice(`Could not sign in: ${describe(err)}`, "error"),
);

// Two submit buttons: "Log in" (also Enter) and "Create account".
ui.accountForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearNotice();
  const register = (event.submitter as HTMLButtonElement | null)?.value === "register";
  const email = ui.accountEmail.value.trim();
  const password = ui.accountPassword.value;
  const name = ui.accountName.value.trim();
  if (register && !name) {
    showNotice("A new account needs a name: fill in “Name (new accounts)”.", "error");
    ui.accountName.focus();
    return;
  }
  const buttons = ui.accountForm.querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  try {
    await (register ? api.register(email, password, name) : api.logIn(email, password));
    ui.accountPassword.value = "";
    showLobby();
  } catch (err) {
    showNotice(`Could not ${register ? "create the account" : "log in"}: ${describe(err)}`, "error");
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

ui.signOut.addEventListener("click", () => {
  active?.leave();
  active = undefined;
  api.signOut();
  clearNotice();
  showSignIn();
});

onSubmit(
  ui.createForm,
  async () => {
    clearNotice();
    const created = await api.createRoom(ui.entryMode.value as EntryMode);
    enterRoom({ code: created.code, roomId: created.room_id, isHost: true, password: created.room_password, pending: false });
  },
  (err) => showNotice(`Could not create a room: ${describe(err)}`, "error"),
);

ui.joinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearNotice();
  const code = ui.joinCode.value.trim().toUpperCase();
  const password = ui.joinPassword.value;
  const button = ui.joinForm.querySelector("button")!;
  button.disabled = true;
  try {
    const fromLink = invitation();
    const answer = await api.joinRoom(code, password || undefined, fromLink.code === code ? fromLink.invite : undefined);
    ui.joinPassword.value = "";
    enterRoom({ code: answer.code, roomId: answer.room_id, isHost: answer.is_host, pending: answer.status === "PENDING" });
  } catch (err) {
    showNotice(describeJoinError(err, code, password !== ""), "error");
    if (err instanceof ApiError && err.code === "INVALID_ROOM_PASSWORD") ui.joinPassword.focus();
  } finally {
    button.disabled = false;
  }
});

ui.leave.addEventListener("click", () => {
  clearNotice();
  leaveRoom();
});

onSubmit(
  ui.sourceForm,
  control((room) => room.setSource(ui.mediaUrl.value.trim())),
  () => {},
);
ui.play.addEventListener(
  "click",
  control((room) => room.play()),
);
ui.pause.addEventListener(
  "click",
  control((room) => room.pause()),
);
onSubmit(
  ui.seekForm,
  control((room) => room.seek(Number(ui.seekTime.value))),
  () => {},
);
ui.rate.addEventListener(
  "change",
  control((room) => room.setRate(Number(ui.rate.value))),
);

onSubmit(
  ui.queueForm,
  queueAction(async (room) => {
    // Take the entry and clear the form at once, so a second entry typed while this one is on
    // its way is not wiped by this one's answer; a refused entry comes back if the form is empty.
    const url = ui.queueUrl.value.trim();
    const title = ui.queueTitle.value.trim();
    ui.queueUrl.value = "";
    ui.queueTitle.value = "";
    try {
      await room.queueAdd(url, title);
    } catch (err) {
      if (!ui.queueUrl.value && !ui.queueTitle.value) {
        ui.queueUrl.value = url;
        ui.queueTitle.value = title;
      }
      throw err;
    }
  }),
  () => {},
);
ui.queueNext.addEventListener("click", () => void queueAction((room) => room.next())());
ui.voteSkip.addEventListener("click", () => void queueAction((room) => room.voteSkip())());
ui.keepRoom.addEventListener(
  "change",
  control((room) => room.keep(ui.keepRoom.checked)),
);
ui.invite.addEventListener(
  "click",
  control(async (room) => {
    ui.inviteLink.value = await room.createInvite();
    ui.inviteLink.hidden = false;
    ui.inviteLink.select();
  }),
);
onSubmit(
  ui.partyForm,
  control((room) => room.schedule(new Date(ui.partyTime.value))),
  () => {},
);

onSubmit(
  ui.chatForm,
  async () => {
    if (!active) return;
    showError(ui.chatError, undefined);
    const message = ui.chatInput.value;
    await active.sendChat(message);
    ui.chatInput.value = "";
  },
  (err) => showError(ui.chatError, `Not sent: ${describe(err)}`),
);

// Reactions: one button per emoji of the fixed set; what anyone sends floats up over the video.
for (const emoji of REACTIONS) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = emoji;
  button.dataset.emoji = emoji;
  button.addEventListener("click", () => {
    if (!active) return;
    showError(ui.reactionError, undefined);
    active.react(emoji).catch((err: unknown) => showError(ui.reactionError, `Not sent: ${describe(err)}`));
  });
  ui.reactions.append(button);
}

function showReaction(emoji: string, user: string): void {
  const item = document.createElement("span");
  const who = document.createElement("small");
  who.textContent = user;
  item.append(emoji, " ", who);
  item.addEventListener("animationend", () => item.remove());
  // A burst must not pile up without bound.
  while (ui.reactionOverlay.childElementCount >= 12) ui.reactionOverlay.firstElementChild?.remove();
  ui.reactionOverlay.append(item);
}

// The autoplay policy refused play() without a gesture: this click is one.
ui.joinPlayback.addEventListener("click", () => {
  ui.video.play().then(
    () => (ui.joinPlayback.hidden = true),
    (err: unknown) => showNotice(`The browser still refuses to play: ${describe(err)}`, "error"),
  );
});
ui.video.addEventListener("playing", () => (ui.joinPlayback.hidden = true));
ui.video.addEventListener("error", () => {
  const error = ui.video.error;
  if (!error || !ui.video.getAttribute("src")) return;
  const kinds: Record<number, string> = {
    1: "the load was aborted",
    2: "a network error",
    3: "the file could not be decoded",
    4: "the file or its format is not supported (or the address is wrong)",
  };
  ui.mediaNote.textContent = `The browser cannot play this media: ${kinds[error.code] ?? error.message}.`;
});

if (api.account) showLobby();
else showSignIn();

/** One small line under the video: the item's title, and what its player can do (docs/media.md). */
function describeCapabilities(title: string | null | undefined, capabilities: MediaCapabilities | null | undefined): string {
  if (!capabilities) return title ?? "";
  const can = [
    capabilities.precise_seek ? "precise seek" : "keyframe seek",
    capabilities.rate_control ? "rate control" : "no rate control (sync by seeking)",
    capabilities.live ? "live" : "on demand",
  ].join(" · ");
  return title ? `${title} — ${can}` : can;
}
