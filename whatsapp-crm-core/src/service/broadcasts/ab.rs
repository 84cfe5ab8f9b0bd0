//! A/B tests: checking one, and moving it from sample to winner.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    AB_SAMPLE_PERCENT_MAX, AB_VARIANTS, AB_WINDOW_HOURS_MAX, AbMetric, AbPhase, AbTest, AbVariant,
    Broadcast, BroadcastStatus, Business, TemplateId, ValidationError,
};
use crate::service::ServiceError;

use super::metrics::VariantMetrics;
use super::service::Broadcasts;
use super::worker::BroadcastReport;

impl Broadcasts {
    /// Checks an A/B test's shape and each variant's template and values;
    /// returns it ready to start.
    pub(super) async fn check_ab(
        &self,
        b: &Business,
        v: &mut ValidationError,
        template: &TemplateId,
        variables: &BTreeMap<String, String>,
        mut ab: AbTest,
    ) -> Result<AbTest, ServiceError> {
        if !AB_VARIANTS.contains(&ab.variants.len()) {
            v.push(
                "ab_test.variants",
                format!("give {} to {} variants", AB_VARIANTS.start(), AB_VARIANTS.end()),
            );
        }
        let total: u32 = ab.variants.iter().map(|x| u32::from(x.percent)).sum();
        if total != 100 || ab.variants.iter().any(|x| x.percent == 0) {
            v.push(
                "ab_test.variants",
                "each variant's percent must be at least 1, and all add up to 100",
            );
        }
        if !(1..=AB_SAMPLE_PERCENT_MAX).contains(&ab.sample_percent) {
            v.push("ab_test.sample_percent", format!("must be 1 to {AB_SAMPLE_PERCENT_MAX}"));
        }
        if !(1..=AB_WINDOW_HOURS_MAX).contains(&ab.window_hours) {
            v.push("ab_test.window_hours", format!("must be 1 to {AB_WINDOW_HOURS_MAX}"));
        }
        for (i, variant) in ab.variants.iter().enumerate() {
            if variant.name.trim().is_empty() {
                v.push(format!("ab_test.variants[{i}].name"), "give the variant a name");
            }
            let (t, vars) = variant_spec(*template, variables, variant);
            match self.prepare(b.id, t, &vars).await {
                Ok(_) => {}
                Err(ServiceError::Invalid(e)) => {
                    v.errors.extend(e.errors.into_iter().map(|mut f| {
                        f.field = format!("ab_test.variants[{i}].{}", f.field);
                        f
                    }))
                }
                Err(e) => return Err(e),
            }
        }
        ab.phase = AbPhase::Testing;
        ab.decide_at = None;
        ab.winner = None;
        Ok(ab)
    }

    /// Moves a sending broadcast's A/B test on: once the sample is out it
    /// waits its window, then the winner is picked and launched to everyone
    /// else. True when the test took this round, so the broadcast is not
    /// judged complete.
    pub(super) async fn advance_ab(
        &self,
        bc: &mut Broadcast,
        now: DateTime<Utc>,
        report: &mut BroadcastReport,
    ) -> Result<bool, ServiceError> {
        let Some(mut ab) = bc.ab_test.clone() else { return Ok(false) };
        match ab.phase {
            AbPhase::Rollout => return Ok(false),
            AbPhase::Waiting if ab.decide_at.is_some_and(|t| t > now) => return Ok(true),
            AbPhase::Testing => {
                ab.phase = AbPhase::Waiting;
                ab.decide_at = Some(now + Duration::hours(i64::from(ab.window_hours)));
            }
            AbPhase::Waiting => {
                let variants = self.variant_metrics(bc).await?;
                ab.winner = Some(winner(&variants, ab.metric));
                ab.phase = AbPhase::Rollout;
                bc.status = BroadcastStatus::Launching;
                bc.launch_cursor = None;
                bc.launch_complete = false;
                report.decided += 1;
            }
        }
        bc.ab_test = Some(ab);
        bc.updated_at = now;
        self.storage.update_broadcast(bc, BroadcastStatus::Sending).await?;
        Ok(true)
    }
}

/// The variant with the best rate; a tie goes to the earlier one, and no
/// results at all to the first.
fn winner(variants: &[VariantMetrics], metric: AbMetric) -> u8 {
    variants
        .iter()
        .fold(None::<&VariantMetrics>, |best, v| match best {
            Some(b) if b.rate(metric) >= v.rate(metric) => Some(b),
            _ => Some(v),
        })
        .map_or(0, |v| v.index)
}

/// A variant's template and variables: its own, over the broadcast's.
pub(super) fn variant_spec(
    template: TemplateId,
    variables: &BTreeMap<String, String>,
    v: &AbVariant,
) -> (TemplateId, BTreeMap<String, String>) {
    let mut merged = variables.clone();
    merged.extend(v.variables.clone());
    (v.template_id.unwrap_or(template), merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(index: u8, read_rate: f64, reply_rate: f64) -> VariantMetrics {
        VariantMetrics {
            index,
            name: format!("v{index}"),
            sent: 100,
            delivered: 100,
            read: 0,
            failed: 0,
            replies: 0,
            clicks: 0,
            read_rate,
            reply_rate,
            click_rate: 0.0,
        }
    }

    #[test]
    fn the_best_rate_wins_and_a_tie_goes_to_the_earlier_variant() {
        let vs = [variant(0, 0.4, 0.10), variant(1, 0.6, 0.10), variant(2, 0.6, 0.05)];
        assert_eq!(winner(&vs, AbMetric::ReadRate), 1);
        assert_eq!(winner(&vs, AbMetric::ReplyRate), 0);
        assert_eq!(winner(&vs, AbMetric::ClickRate), 0);
        assert_eq!(winner(&[], AbMetric::ReadRate), 0);
    }
}
