//! Reason codes and the exit codes they map to: the v1 table, and the only place it lives.
//!
//! The set is additive within v1: a new code may be added, an existing one keeps its exit code.
//! Exit codes 3 and 7 are unused on purpose (the Go implementation never used them either).

use std::fmt;

/// A machine-readable failure class. Its string form is the wire form (`E_...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    GenericFailure,
    BudgetExceeded,
    AdapterFail,
    CheckpointApprovalRequired,
    AcceptMissingArtifact,
    AcceptTestFail,
    VerifyHashMismatch,
    StoreCorrupt,
    EnvFingerprintMismatch,
    LeaseConflict,
    InvalidStateTransition,
    InvalidInputSchema,
    UnsafeOperation,
}

impl ReasonCode {
    /// Every code, in the order of the v1 table.
    pub const ALL: [ReasonCode; 13] = [
        ReasonCode::GenericFailure,
        ReasonCode::BudgetExceeded,
        ReasonCode::AdapterFail,
        ReasonCode::CheckpointApprovalRequired,
        ReasonCode::AcceptMissingArtifact,
        ReasonCode::AcceptTestFail,
        ReasonCode::VerifyHashMismatch,
        ReasonCode::StoreCorrupt,
        ReasonCode::EnvFingerprintMismatch,
        ReasonCode::LeaseConflict,
        ReasonCode::InvalidStateTransition,
        ReasonCode::InvalidInputSchema,
        ReasonCode::UnsafeOperation,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReasonCode::GenericFailure => "E_GENERIC_FAILURE",
            ReasonCode::BudgetExceeded => "E_BUDGET_EXCEEDED",
            ReasonCode::AdapterFail => "E_ADAPTER_FAIL",
            ReasonCode::CheckpointApprovalRequired => "E_CHECKPOINT_APPROVAL_REQUIRED",
            ReasonCode::AcceptMissingArtifact => "E_ACCEPT_MISSING_ARTIFACT",
            ReasonCode::AcceptTestFail => "E_ACCEPT_TEST_FAIL",
            ReasonCode::VerifyHashMismatch => "E_VERIFY_HASH_MISMATCH",
            ReasonCode::StoreCorrupt => "E_STORE_CORRUPT",
            ReasonCode::EnvFingerprintMismatch => "E_ENV_FINGERPRINT_MISMATCH",
            ReasonCode::LeaseConflict => "E_LEASE_CONFLICT",
            ReasonCode::InvalidStateTransition => "E_INVALID_STATE_TRANSITION",
            ReasonCode::InvalidInputSchema => "E_INVALID_INPUT_SCHEMA",
            ReasonCode::UnsafeOperation => "E_UNSAFE_OPERATION",
        }
    }

    /// The process exit code for a failure with this reason (digest 3.1).
    pub const fn exit_code(self) -> u8 {
        match self {
            ReasonCode::VerifyHashMismatch => 2,
            ReasonCode::CheckpointApprovalRequired => 4,
            ReasonCode::AcceptMissingArtifact | ReasonCode::AcceptTestFail => 5,
            ReasonCode::InvalidInputSchema => 6,
            ReasonCode::UnsafeOperation => 8,
            ReasonCode::GenericFailure
            | ReasonCode::BudgetExceeded
            | ReasonCode::AdapterFail
            | ReasonCode::StoreCorrupt
            | ReasonCode::EnvFingerprintMismatch
            | ReasonCode::LeaseConflict
            | ReasonCode::InvalidStateTransition => 1,
        }
    }

    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_exit_table() {
        let table: Vec<(&str, u8)> = ReasonCode::ALL.iter().map(|c| (c.as_str(), c.exit_code())).collect();
        assert_eq!(
            table,
            vec![
                ("E_GENERIC_FAILURE", 1),
                ("E_BUDGET_EXCEEDED", 1),
                ("E_ADAPTER_FAIL", 1),
                ("E_CHECKPOINT_APPROVAL_REQUIRED", 4),
                ("E_ACCEPT_MISSING_ARTIFACT", 5),
                ("E_ACCEPT_TEST_FAIL", 5),
                ("E_VERIFY_HASH_MISMATCH", 2),
                ("E_STORE_CORRUPT", 1),
                ("E_ENV_FINGERPRINT_MISMATCH", 1),
                ("E_LEASE_CONFLICT", 1),
                ("E_INVALID_STATE_TRANSITION", 1),
                ("E_INVALID_INPUT_SCHEMA", 6),
                ("E_UNSAFE_OPERATION", 8),
            ]
        );
    }

    #[test]
    fn parse_round_trips() {
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ReasonCode::parse("E_NOPE"), None);
    }
}
