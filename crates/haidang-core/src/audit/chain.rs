//! Sealing and verifying the chain. The seal of record n is HMAC-SHA256(key, canonical(record n)),
//! where the canonical form includes record n-1's seal; the first record chains to "genesis".

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::model::AuditRecord;

pub const GENESIS: &str = "genesis";

#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

impl AuditKey {
    pub fn new(bytes: Vec<u8>) -> Option<AuditKey> {
        (bytes.len() >= 32).then_some(AuditKey(bytes))
    }

    /// The seal of a record, from every field but the seal itself.
    pub fn seal(&self, record: &AuditRecord) -> String {
        let canonical = serde_json::json!([
            record.seq,
            record.at.as_microsecond(),
            record.user_id,
            record.username,
            record.org_id,
            record.role,
            record.action,
            record.target,
            record.source_ip,
            record.outcome.as_str(),
            record.detail,
            record.prev_mac,
        ])
        .to_string();
        // HMAC accepts keys of any length, so this cannot fail; fall back to an impossible seal.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(canonical.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::from("invalid-key"),
        }
    }
}

/// The last record's number and seal, also kept in a file beside the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub mac: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ChainProblem {
    /// A record's seal does not match its content: it was edited, or sealed with another key.
    Altered { seq: i64 },
    /// A record does not chain to the one before it.
    Unlinked { seq: i64 },
    /// Records are missing from the middle of the chain.
    Missing { from_seq: i64, to_seq: i64 },
    /// The chain ends before the head recorded in the file: the last records were deleted.
    Truncated { last_seq: i64, head_seq: i64 },
    /// The record the head file names carries another seal.
    HeadMismatch { seq: i64 },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Altered { seq } => write!(f, "record {seq} was altered (its seal does not match)"),
            ChainProblem::Unlinked { seq } => {
                write!(f, "record {seq} does not chain to the record before it")
            }
            ChainProblem::Missing { from_seq, to_seq } if from_seq == to_seq => {
                write!(f, "record {from_seq} is missing")
            }
            ChainProblem::Missing { from_seq, to_seq } => write!(f, "records {from_seq} to {to_seq} are missing"),
            ChainProblem::Truncated { last_seq, head_seq } => write!(
                f,
                "records {} to {head_seq} are missing: the chain ends at {last_seq} but the head file says {head_seq}",
                last_seq + 1
            ),
            ChainProblem::HeadMismatch { seq } => {
                write!(f, "record {seq} does not match the chain head file")
            }
        }
    }
}

/// Incremental verifier: feed records in sequence order, then `finish` with the head file.
pub struct ChainVerifier<'k> {
    key: &'k AuditKey,
    expected_seq: i64,
    prev_mac: String,
    checked: i64,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k AuditKey) -> Self {
        ChainVerifier { key, expected_seq: 1, prev_mac: GENESIS.to_string(), checked: 0 }
    }

    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainProblem> {
        if record.seq > self.expected_seq {
            return Err(ChainProblem::Missing { from_seq: self.expected_seq, to_seq: record.seq - 1 });
        }
        if record.seq < self.expected_seq {
            return Err(ChainProblem::Unlinked { seq: record.seq });
        }
        if self.key.seal(record) != record.mac {
            return Err(ChainProblem::Altered { seq: record.seq });
        }
        if record.prev_mac != self.prev_mac {
            return Err(ChainProblem::Unlinked { seq: record.seq });
        }
        self.prev_mac = record.mac.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// Compares the end of the chain with the head file (if there is one). The head may lag the
    /// database by records committed just before a crash, but must never be ahead of it.
    pub fn finish(
        self,
        head: Option<&ChainHead>,
        head_record_mac: Option<&str>,
    ) -> Result<i64, ChainProblem> {
        let last_seq = self.expected_seq - 1;
        if let Some(head) = head {
            if head.seq > last_seq {
                return Err(ChainProblem::Truncated { last_seq, head_seq: head.seq });
            }
            if head.seq > 0 && head_record_mac != Some(head.mac.as_str()) {
                return Err(ChainProblem::HeadMismatch { seq: head.seq });
            }
        }
        Ok(self.checked)
    }
}

/// Verifies a whole chain held in memory; returns the number of records checked.
pub fn verify_chain(
    key: &AuditKey,
    records: &[AuditRecord],
    head: Option<&ChainHead>,
) -> Result<i64, ChainProblem> {
    let mut verifier = ChainVerifier::new(key);
    for record in records {
        verifier.push(record)?;
    }
    let head_mac = head.and_then(|h| records.iter().find(|r| r.seq == h.seq)).map(|r| r.mac.as_str());
    verifier.finish(head, head_mac)
}

pub use ChainVerifier as Verifier;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditEvent, Outcome};

    fn chain(key: &AuditKey, n: i64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        let mut prev = GENESIS.to_string();
        for seq in 1..=n {
            let event = AuditEvent::new(&Actor::cli(), "user.lock", Some("u"), Outcome::Success);
            let mut r = AuditRecord::from_event(&event, seq, crate::time::micros_to_ts(seq * 1000), prev);
            r.mac = key.seal(&r);
            prev = r.mac.clone();
            out.push(r);
        }
        out
    }

    fn key() -> AuditKey {
        AuditKey::new(vec![7u8; 32]).unwrap_or_else(|| AuditKey(vec![1; 32]))
    }

    #[test]
    fn intact_chain_verifies() {
        let k = key();
        let records = chain(&k, 5);
        let head = ChainHead { seq: 5, mac: records.last().map(|r| r.mac.clone()).unwrap_or_default() };
        assert_eq!(verify_chain(&k, &records, Some(&head)), Ok(5));
    }

    #[test]
    fn edit_deletion_and_truncation_are_named() {
        let k = key();
        let records = chain(&k, 5);
        let head = ChainHead { seq: 5, mac: records.last().map(|r| r.mac.clone()).unwrap_or_default() };

        let mut edited = records.clone();
        if let Some(r) = edited.get_mut(2) {
            r.target = Some("someone-else".into());
        }
        assert_eq!(verify_chain(&k, &edited, Some(&head)), Err(ChainProblem::Altered { seq: 3 }));

        let mut holed = records.clone();
        holed.remove(1);
        assert_eq!(
            verify_chain(&k, &holed, Some(&head)),
            Err(ChainProblem::Missing { from_seq: 2, to_seq: 2 })
        );

        let cut = &records[..3];
        assert_eq!(
            verify_chain(&k, cut, Some(&head)),
            Err(ChainProblem::Truncated { last_seq: 3, head_seq: 5 })
        );

        let other = AuditKey::new(vec![9u8; 32]).unwrap_or_else(|| AuditKey(vec![2; 32]));
        assert_eq!(verify_chain(&other, &records, Some(&head)), Err(ChainProblem::Altered { seq: 1 }));
    }
}
