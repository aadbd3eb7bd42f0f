/**
 * Every documented operation's `operationId`, keyed by "METHOD path" as the OpenAPI document
 * spells it. Client generators name their methods after these, so they are part of the
 * document's contract: never rename one. The set-username route is served twice (under
 * /api/auth/ and, like the original, /api/), so it is keyed here rather than at its declaration.
 * test/openapi.test.ts fails when an operation has no id here or a key names no operation.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  "GET /health/": "getHealth",
  "GET /livez": "getLiveness",
  "GET /readyz": "getReadiness",
  "GET /api/health/": "getApiHealth",

  "POST /api/auth/register/": "register",
  "POST /api/auth/login/": "login",
  "POST /api/auth/logout/": "logout",
  "POST /api/auth/guest/": "createGuest",
  "POST /api/auth/guest-login/": "createAnonymousGuest",
  "POST /api/auth/refresh/": "refreshTokens",
  "GET /api/auth/me/": "getMe",
  "POST /api/auth/set-username/": "setUsername",
  "POST /api/set-username/": "setUsernameAtApiRoot",

  "POST /api/rooms/create/": "createRoom",
  "POST /api/rooms/join/": "joinRoom",
  "POST /api/rooms/approve/": "approveParticipant",
  "POST /api/rooms/reject/": "rejectParticipant",
  "POST /api/rooms/delete/": "deleteRoom",
  "POST /api/rooms/password/": "rotateRoomPassword",
  "GET /api/rooms/mine/": "listMyRooms",
  "GET /api/rooms/participants/": "listParticipants",
  "GET /api/rooms/{room_code}/events/": "listRoomEvents",
  "GET /api/rooms/{room_code}/detail/": "getRoom",
  "POST /api/rooms/party/": "setPartyTime",
  "POST /api/rooms/chat/": "setChatEnabled",
  "POST /api/rooms/slow-mode/": "setSlowMode",
  "POST /api/rooms/source/": "setSource",
  "POST /api/rooms/cohosts/": "setCohost",
  "POST /api/rooms/host-policy/": "setHostPolicy",
  "POST /api/rooms/reclaim-host/": "reclaimHost",
  "POST /api/rooms/persistent/": "setPersistent",
  "POST /api/rooms/invites/": "createInvite",
  "GET /api/rooms/invites/": "listInvites",
  "POST /api/rooms/invites/revoke/": "revokeInvite",
  "GET /api/rooms/queue/": "getQueue",
  "POST /api/rooms/queue/settings/": "setQueueSettings",
  "POST /api/rooms/buffering/": "setBufferingPolicy",
  "POST /api/rooms/progress/save/": "saveProgress",
  "GET /api/rooms/progress/get/": "getProgress",
  "GET /api/rooms/{room_code}/resume/": "getResumePoint",
  "GET /api/rooms/public/": "listPublicRooms",
  "GET /api/rooms/search/": "searchCatalogue",

  "GET /api/admin/rooms/": "adminListRooms",
  "GET /api/admin/users/": "adminListUsers",
  "POST /api/admin/rooms/expire/": "adminExpireRoom",
  "POST /api/admin/rooms/delete/": "adminDeleteRoom",
};
