// Package fleet makes several knockbeepd hosts knock as one, on NATS with
// JetStream: a fleet-wide replay cache, fleet doors, per-user keys that
// can be revoked everywhere at once, a signed audit chain, and start
// instants for an orchestra. The user's guide is docs/fleet.md.
//
// # Identity
//
// Each node has an Ed25519 key (GenerateKeyFile, ReadKeyFile) and a trust
// list of the fleet's public keys (ReadTrust). Every fleet message is an
// envelope signed by its node; a node drops — and counts in Stats, never
// crashes on — anything malformed, oversized, unsigned, forged, from a key
// it does not trust, outside the freshness window, or seen before.
//
// # Flow
//
//	Open ─► embedded nats-server (serve) or a connection to a cluster (nats)
//	     ─► in the background, until the cluster answers: the buckets
//	        knockbeep_NAME_replay and _users, the streams _open and _audit,
//	        this node's durable consumer of openings, the user-key watcher,
//	        the audit sender                                  ─► Ready
//	Claim(key, ttl)        ─► replay bucket, create-if-absent with a TTL
//	PublishOpening         ─► knockbeep.NAME.open.NODE ─► Openings() at the others
//	AddUserKey/RevokeUserKey ─► users bucket ─► watch ─► UserKeys() everywhere
//	Audit(record)          ─► spool on disk ─► knockbeep.NAME.audit.NODE ─► Verify
//	Conduct(song, voices)  ─► knockbeep.NAME.cue ─► Cues() with the local start
//
// With the cluster unreachable, Claim and PublishOpening return errors
// wrapping ErrDegraded (the daemon decides alone and carries on), and
// audit records wait on disk until the cluster takes them.
package fleet
