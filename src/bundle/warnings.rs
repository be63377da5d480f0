//! Warnings: what a bundle author should look at but which does not stop
//! the bundle from serving (`tollgate check` prints them and exits 0). One
//! list for every kind of warning: those found while compiling are kept in
//! the bundle; those that depend on the clock (a schedule already past) are
//! added when asked, since compiling never reads the clock.

use jiff::{Timestamp, civil::Time, tz::TimeZone};

use super::{BundleWarning, CompiledBundle, TimingSpec};

impl CompiledBundle {
    /// Every warning about this bundle at `now`: those found while
    /// compiling and those that depend on the clock, sorted by file and line.
    pub fn warnings_at(&self, now: Timestamp) -> Vec<BundleWarning> {
        let mut out = self.warnings.clone();
        out.extend(past_schedules(self, now));
        out.sort();
        out.dedup();
        out
    }
}

/// A `scheduled` rule whose date or instant is already past: it still
/// allows, taking effect at `as_of`, which is rarely what its author meant.
fn past_schedules(bundle: &CompiledBundle, now: Timestamp) -> impl Iterator<Item = BundleWarning> {
    bundle.plan_change.rules.iter().filter_map(move |rule| {
        let crate::bundle::Effect::Allow(spec) = &rule.effect else {
            return None;
        };
        let (shown, past) = match spec {
            TimingSpec::ScheduledAt(at) => (at.to_string(), *at < now),
            // 00:00 of a date is past in every time zone once it is past
            // at UTC-12, the last zone to reach it.
            TimingSpec::ScheduledOn(date) => {
                let last = date
                    .to_datetime(Time::midnight())
                    .to_zoned(TimeZone::fixed(jiff::tz::offset(-12)))
                    .map(|z| z.timestamp());
                (date.to_string(), last.is_ok_and(|t| t < now))
            }
            _ => return None,
        };
        past.then(|| {
            BundleWarning::at(
                &rule.file,
                rule.at,
                format!(
                    "rule `{}`: schedule: `{shown}` is already past; a change it allows takes effect at once",
                    rule.id
                ),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundleFiles, compile};

    fn bundle(at: &str) -> CompiledBundle {
        let mut files = BundleFiles::default();
        files.insert("bundle.yaml", b"name: t\nrevision: \"1\"\n".to_vec());
        let rules = format!(
            "plans:\n  - {{ id: a, rank: 0 }}\n  - {{ id: b, rank: 1 }}\nplan_change_rules:\n  - id: migrate\n    effect: allow\n    timing: scheduled\n    schedule: {{ at: \"{at}\" }}\n    reason: {{ code: MIGRATION, message: m }}\n"
        );
        files.insert("rules.yaml", rules.into_bytes());
        compile(&files).expect("compiles")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    #[test]
    fn a_date_is_past_once_it_began_in_every_time_zone() {
        let b = bundle("2026-04-01");
        // 2026-04-01 00:00 at UTC-12 is 12:00 UTC.
        assert!(b.warnings_at(ts("2026-04-01T11:59:59Z")).is_empty());
        let w = b.warnings_at(ts("2026-04-01T12:00:01Z"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            w[0].to_string(),
            "rules.yaml:5:9: rule `migrate`: schedule: `2026-04-01` is already past; a change it allows takes effect at once"
        );
    }

    #[test]
    fn an_instant_is_past_once_it_passed() {
        let b = bundle("2026-04-01T09:00:00+09:00");
        assert!(b.warnings_at(ts("2026-04-01T00:00:00Z")).is_empty());
        assert_eq!(b.warnings_at(ts("2026-04-01T00:00:01Z")).len(), 1);
    }
}
