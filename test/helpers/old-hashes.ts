/** Password hashes stored by `argon2@0.45.1`, the library before `@node-rs/argon2`, with their passwords. */

// Made with src/auth/passwords.ts's options before the switch,
// { type: argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }: note its p-before-t order.
export const OLD_HASH = {
  password: "correct horse battery staple",
  hash: "$argon2id$v=19$m=19456,p=1,t=2$EhQYF5GCrcr3JYnGNsViVw$R5NcM6M7TEW1PEoZ/dcg9acL1oYwO6+WYJZIOT/CVok",
};
// Made by argon2@0.45.1 with its defaults (m=64 MiB, t=3, p=4) and a non-ASCII password: stored
// parameters, not ours, decide how a hash is checked.
export const OLD_DEFAULT_HASH = {
  password: "Ünïcode pässword ✓",
  hash: "$argon2id$v=19$m=65536,p=4,t=3$+vMP9HTqhM1aMjiQaFHlrQ$H9eFWNuNx8Cz8bWtxnH6p4CR/lz+DIL8DCfF7uTF6EY",
};
