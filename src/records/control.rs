//! Control records (KIP-98): the records of a control batch.
//!
//! Key: `version int16 | type int16`. For the transaction markers (abort 0,
//! commit 1) the value is `version int16 | coordinatorEpoch int32`. The
//! KRaft types (leader change, snapshot header/footer, kraft version,
//! voters) carry their own message in the value, kept as bytes here.

use bytes::Bytes;

use super::batch::Record;
use super::error::RecordsError;

/// The type in a control record's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    Abort,
    Commit,
    /// KRaft (KIP-595).
    LeaderChange,
    /// KRaft snapshots (KIP-630).
    SnapshotHeader,
    SnapshotFooter,
    /// KRaft membership (KIP-853).
    KRaftVersion,
    KRaftVoters,
    /// A type this build does not know: kept, as Kafka itself does.
    Unknown(i16),
}

impl ControlRecordType {
    pub fn from_i16(v: i16) -> Self {
        match v {
            0 => Self::Abort,
            1 => Self::Commit,
            2 => Self::LeaderChange,
            3 => Self::SnapshotHeader,
            4 => Self::SnapshotFooter,
            5 => Self::KRaftVersion,
            6 => Self::KRaftVoters,
            v => Self::Unknown(v),
        }
    }

    pub fn to_i16(self) -> i16 {
        match self {
            Self::Abort => 0,
            Self::Commit => 1,
            Self::LeaderChange => 2,
            Self::SnapshotHeader => 3,
            Self::SnapshotFooter => 4,
            Self::KRaftVersion => 5,
            Self::KRaftVoters => 6,
            Self::Unknown(v) => v,
        }
    }
}

/// The key of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlRecordKey {
    pub version: i16,
    pub kind: ControlRecordType,
}

impl ControlRecordKey {
    /// Version 0, the only one Kafka has written so far.
    pub fn new(kind: ControlRecordType) -> Self {
        ControlRecordKey { version: 0, kind }
    }

    /// Parses a key. Like Kafka's ControlRecordType.parse, a newer version
    /// is read by its version-0 prefix; a negative one is invalid.
    pub fn parse(key: &[u8]) -> Result<Self, RecordsError> {
        if key.len() < 4 {
            return Err(RecordsError::Malformed {
                offset: 0,
                reason: "control record key shorter than 4 bytes",
            });
        }
        let version = i16::from_be_bytes([key[0], key[1]]);
        if version < 0 {
            return Err(RecordsError::Malformed {
                offset: 0,
                reason: "negative control record key version",
            });
        }
        Ok(ControlRecordKey {
            version,
            kind: ControlRecordType::from_i16(i16::from_be_bytes([key[2], key[3]])),
        })
    }

    pub fn encode(&self) -> [u8; 4] {
        let v = self.version.to_be_bytes();
        let t = self.kind.to_i16().to_be_bytes();
        [v[0], v[1], t[0], t[1]]
    }
}

/// The value of a commit or abort marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTxnMarker {
    pub version: i16,
    /// Epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    pub fn new(coordinator_epoch: i32) -> Self {
        EndTxnMarker {
            version: 0,
            coordinator_epoch,
        }
    }

    /// Parses a marker value. As in Kafka's EndTransactionMarker, a newer
    /// version is read by its version-0 prefix.
    pub fn parse(value: &[u8]) -> Result<Self, RecordsError> {
        if value.len() < 6 {
            return Err(RecordsError::Malformed {
                offset: 0,
                reason: "end transaction marker shorter than 6 bytes",
            });
        }
        let version = i16::from_be_bytes([value[0], value[1]]);
        if version < 0 {
            return Err(RecordsError::Malformed {
                offset: 0,
                reason: "negative end transaction marker version",
            });
        }
        Ok(EndTxnMarker {
            version,
            coordinator_epoch: i32::from_be_bytes([value[2], value[3], value[4], value[5]]),
        })
    }

    pub fn encode(&self) -> [u8; 6] {
        let v = self.version.to_be_bytes();
        let e = self.coordinator_epoch.to_be_bytes();
        [v[0], v[1], e[0], e[1], e[2], e[3]]
    }
}

/// A parsed control record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRecord {
    pub key: ControlRecordKey,
    /// Set for commit and abort markers.
    pub marker: Option<EndTxnMarker>,
    /// The value as stored (the KRaft types' payload).
    pub value: Option<Bytes>,
}

impl ControlRecord {
    /// Parses a record of a control batch.
    pub fn parse(record: &Record) -> Result<Self, RecordsError> {
        let key = record.key.as_deref().ok_or(RecordsError::Malformed {
            offset: 0,
            reason: "control record without a key",
        })?;
        let key = ControlRecordKey::parse(key)?;
        let marker = match key.kind {
            ControlRecordType::Abort | ControlRecordType::Commit => {
                let v = record.value.as_deref().ok_or(RecordsError::Malformed {
                    offset: 0,
                    reason: "transaction marker without a value",
                })?;
                Some(EndTxnMarker::parse(v)?)
            }
            _ => None,
        };
        Ok(ControlRecord {
            key,
            marker,
            value: record.value.clone(),
        })
    }

    /// Whether this is a commit marker.
    pub fn is_commit(&self) -> bool {
        self.key.kind == ControlRecordType::Commit
    }

    /// Whether this is an abort marker.
    pub fn is_abort(&self) -> bool {
        self.key.kind == ControlRecordType::Abort
    }
}

impl Record {
    /// Parses this record as a control record (meaningful in a control batch).
    pub fn control(&self) -> Result<ControlRecord, RecordsError> {
        ControlRecord::parse(self)
    }
}
