//! A client's write as a log entry's payload.
//!
//! The encoding is text (`kv <client> <seq> put <key> <value>`,
//! `... del <key>`, `... cas <key> <expected|-> <new>`) so that it reads
//! well in a trace. Keys and values are the simulator's own (`k0`,
//! `v2.17`): never empty, no spaces, never `-`. Payloads that do not parse
//! are other proposals (the fault schedule's `c<event>`, the liveness
//! phase's `live<k>`), applied to the hash chain only.

use bytes::Bytes;
use raft_lincheck::kv::KvInput;

/// A write, with the session it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvCommand {
    /// The client that issued it.
    pub client: u64,
    /// The client's sequence number for it (increasing per client).
    pub seq: u64,
    /// What it does (never a get: reads do not go through the log).
    pub input: KvInput,
}

impl KvCommand {
    /// The payload to propose; `None` for a get, which has none.
    pub fn encode(&self) -> Option<Bytes> {
        let head = format!("kv {} {}", self.client, self.seq);
        let text = match &self.input {
            KvInput::Put { key, value } => format!("{head} put {key} {value}"),
            KvInput::Delete { key } => format!("{head} del {key}"),
            KvInput::Cas { key, expected, new } => {
                let expected = expected.as_deref().unwrap_or("-");
                format!("{head} cas {key} {expected} {new}")
            }
            _ => return None,
        };
        Some(Bytes::from(text))
    }

    /// The command a payload holds, if it is one.
    pub fn decode(data: &[u8]) -> Option<KvCommand> {
        let text = std::str::from_utf8(data).ok()?;
        let mut words = text.split(' ');
        if words.next()? != "kv" {
            return None;
        }
        let client = words.next()?.parse().ok()?;
        let seq = words.next()?.parse().ok()?;
        let op = words.next()?;
        let key = words.next()?.to_string();
        let input = match op {
            "put" => KvInput::Put {
                key,
                value: words.next()?.to_string(),
            },
            "del" => KvInput::Delete { key },
            "cas" => {
                let expected = words.next()?;
                KvInput::Cas {
                    key,
                    expected: (expected != "-").then(|| expected.to_string()),
                    new: words.next()?.to_string(),
                }
            }
            _ => return None,
        };
        words
            .next()
            .is_none()
            .then_some(KvCommand { client, seq, input })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_trip_and_other_payloads_are_not_commands() {
        let cmds = [
            KvInput::Put {
                key: "k0".into(),
                value: "v1.2".into(),
            },
            KvInput::Delete { key: "k1".into() },
            KvInput::Cas {
                key: "k2".into(),
                expected: None,
                new: "v3.4".into(),
            },
            KvInput::Cas {
                key: "k2".into(),
                expected: Some("v1.1".into()),
                new: "v3.5".into(),
            },
        ];
        for (seq, input) in cmds.into_iter().enumerate() {
            let cmd = KvCommand {
                client: 3,
                seq: seq as u64,
                input,
            };
            let payload = cmd.encode().unwrap();
            assert_eq!(KvCommand::decode(&payload), Some(cmd));
        }
        let get = KvCommand {
            client: 1,
            seq: 1,
            input: KvInput::Get { key: "k0".into() },
        };
        assert_eq!(get.encode(), None);
        for other in [
            &b"c17"[..],
            b"live0",
            b"",
            b"kv 1 2 put k0",
            b"kv 1 2 put k0 v x",
            b"\xff",
        ] {
            assert_eq!(KvCommand::decode(other), None, "{other:?}");
        }
    }
}
