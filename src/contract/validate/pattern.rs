//! The `pattern`s the v1 schemas use, each checked by hand rather than by a regex engine.
//!
//! Three anchored patterns over ASCII classes do not justify a regex engine in the binary. A
//! pattern not listed here does not compile (see the parent module), so a schema cannot gain one
//! that is silently skipped; a test checks each against the `jsonschema` crate's regex engine on
//! strings built around its edges.

/// One supported pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `^v1(\.[0-9]+)?$`: a schema_version (`v1`, `v1.2`).
    Version,
    /// `^[a-f0-9]{64}$`: a lowercase hex SHA-256.
    Sha256Hex,
    /// `^cp_[1-9][0-9]*$`: a checkpoint id.
    CheckpointId,
}

const ALL: [Pattern; 3] = [Pattern::Version, Pattern::Sha256Hex, Pattern::CheckpointId];

impl Pattern {
    /// The pattern's source text, as the schemas write it.
    pub fn source(self) -> &'static str {
        match self {
            Pattern::Version => r"^v1(\.[0-9]+)?$",
            Pattern::Sha256Hex => "^[a-f0-9]{64}$",
            Pattern::CheckpointId => "^cp_[1-9][0-9]*$",
        }
    }

    /// The supported pattern with exactly this source text.
    pub fn compile(source: &str) -> Option<Pattern> {
        ALL.into_iter().find(|p| p.source() == source)
    }

    /// Whether `text` matches (`$` is the end of the text, as in ECMA 262: no trailing newline).
    pub fn matches(self, text: &str) -> bool {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Pattern::Version => text
                .strip_prefix("v1")
                .is_some_and(|rest| rest.is_empty() || rest.strip_prefix('.').is_some_and(digits)),
            Pattern::Sha256Hex => text.len() == 64 && text.bytes().all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9')),
            Pattern::CheckpointId => text
                .strip_prefix("cp_")
                .is_some_and(|rest| rest.bytes().next().is_some_and(|b| b != b'0') && digits(rest)),
        }
    }

    #[cfg(test)]
    pub fn all() -> [Pattern; 3] {
        ALL
    }
}
