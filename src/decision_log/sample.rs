//! Sampling by decision id: the same id is kept or left out everywhere.

use crate::domain::DecisionId;

/// Which decisions are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// Every decision.
    All,
    /// None.
    Nothing,
    /// Those whose id mixes below this fraction of 2^64.
    Below(u64),
}

impl Sample {
    /// Keeps `rate` (0.0 to 1.0) of the decisions.
    pub fn of(rate: f64) -> Self {
        if rate >= 1.0 {
            Self::All
        } else if rate > 0.0 {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "rate is in (0, 1): a fraction of 2^64"
            )]
            let below = (rate * 18_446_744_073_709_551_616.0) as u64;
            Self::Below(below)
        } else {
            Self::Nothing
        }
    }

    /// Whether the decision `id` is kept.
    pub fn keeps(self, id: DecisionId) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Below(below) => mix(id) < below,
        }
    }
}

/// A well-spread 64-bit value of a decision id (splitmix64 finaliser),
/// so sampling is the same for the same id everywhere.
fn mix(id: DecisionId) -> u64 {
    let bits = id.as_u128();
    #[expect(clippy::cast_possible_truncation, reason = "folding 128 bits into 64")]
    let mut z = (bits as u64) ^ ((bits >> 64) as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_extremes_are_exact() {
        let ids: Vec<DecisionId> = (0..1000).map(|_| DecisionId::generate()).collect();
        assert!(ids.iter().all(|id| Sample::of(1.0).keeps(*id)));
        assert!(!ids.iter().any(|id| Sample::of(0.0).keeps(*id)));
        let half = ids.iter().filter(|id| Sample::of(0.5).keeps(**id)).count();
        assert!((300..700).contains(&half), "{half}");
    }
}
