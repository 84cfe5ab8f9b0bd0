//! Broadcasts: one approved template to an audience, launched a batch at a
//! time into the outbox, paused, resumed or cancelled at any moment, and
//! measured per recipient.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::{StreamExt, future};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AB_SAMPLE_PERCENT_MAX, AB_VARIANTS, AB_WINDOW_HOURS_MAX, AbMetric, AbPhase, AbTest, AbVariant,
    Audience, AutoPause, BROADCAST_NAME_MAX_CHARS, Broadcast, BroadcastId, BroadcastRecipient,
    BroadcastStatus, Business, BusinessId, ConsentStatus, Conversation, Customer, CustomerId,
    MessageContent, MessageId, MessageStatus, OutboxState, PhoneNumber, SkipReason,
    TemplateCategory, TemplateContent, TemplateId, ValidationError,
};
use crate::policy::SendPolicy;
use crate::ports::{
    BroadcastCounts, Clock, LaunchBatch, LaunchMessage, Page, RecipientStatus, Storage,
    to_storage_precision,
};
use crate::segment::{Rule, SegmentContext, TagTest, parse_rule};
use crate::template::{ATTRIBUTE_PREFIX, TemplatePlan, customer_values};

use super::outbound::approved_content;
use super::{ServiceError, page_params, text_field};

/// Customers handled per launch transaction: large enough to be quick, small
/// enough that inbound traffic never waits long for the writer.
pub const LAUNCH_BATCH: usize = 1000;
/// Launch batches per broadcast in one `run_due` round.
pub const LAUNCH_BATCHES_PER_ROUND: usize = 400;
/// Batches read and rendered ahead of the writer.
const LAUNCH_BATCHES_AHEAD: usize = 2;
/// How long after a broadcast message a customer's message counts as a reply.
pub const REPLY_WINDOW_HOURS: i64 = 72;
/// Rendered samples a preview shows.
pub const PREVIEW_SAMPLES: usize = 3;
/// Provider codes that call for a pause: spam and quality signals, and a
/// sender over its rate (platform-rules 3.4).
pub const QUALITY_ERROR_CODES: &[u32] = &[131_048, 132_015, 132_016, 63_018];

/// What a caller supplies to create a broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// Name shown to the team.
    pub name: String,
    /// An approved template.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Where variables take their values; see [`Broadcast::variables`].
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Who it goes to.
    pub audience: Audience,
    /// Launch then; at once when absent.
    #[serde(default)]
    pub send_at: Option<DateTime<Utc>>,
    /// When it pauses itself; the defaults when absent.
    #[serde(default)]
    pub auto_pause: Option<AutoPause>,
    /// An A/B test: variants tried on a sample first, the best to the rest.
    #[serde(default)]
    pub ab_test: Option<AbTest>,
}

/// One rendered message of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleMessage {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// Their number.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub phone: PhoneNumber,
    /// The text they would read.
    pub text: String,
}

/// What launching now would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastPreview {
    /// Customers in the audience.
    pub audience: u32,
    /// Messages that would be queued.
    pub will_send: u32,
    /// Customers who would be skipped, by reason.
    pub skipped: Vec<(SkipReason, u32)>,
    /// A few messages as they would read.
    pub samples: Vec<SampleMessage>,
}

/// Where a broadcast stands: counts per stage and the rates that matter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastMetrics {
    /// The broadcast.
    pub broadcast: Broadcast,
    /// Messages queued.
    pub queued: u32,
    /// Not yet accepted by the provider (waiting, held or being sent).
    pub pending: u32,
    /// Handed to and accepted by the provider (whatever it reported since).
    pub sent: u32,
    /// Delivered (or read).
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed or undelivered.
    pub failed: u32,
    /// Failed sends by provider code (none: refused by the send policy).
    pub failed_by_code: Vec<(Option<u32>, u32)>,
    /// Whose outcome is unknown (a crash mid-send), until a callback settles it.
    pub unknown: u32,
    /// Withdrawn by a cancel.
    pub cancelled: u32,
    /// Customers skipped, by reason.
    pub skipped: Vec<(SkipReason, u32)>,
    /// Recipients who wrote back within 72 hours.
    pub replies: u32,
    /// Recipients who tapped a button or list row within 72 hours.
    pub clicks: u32,
    /// Delivered over sent.
    pub delivery_rate: f64,
    /// Read over delivered.
    pub read_rate: f64,
    /// Replies over delivered.
    pub reply_rate: f64,
    /// Clicks over delivered.
    pub click_rate: f64,
    /// Per A/B variant, for a broadcast with a test.
    pub variants: Vec<VariantMetrics>,
}

/// How one A/B variant's sample did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantMetrics {
    /// Its index.
    pub index: u8,
    /// Its name.
    pub name: String,
    /// Handed to the provider.
    pub sent: u32,
    /// Delivered (or read).
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed.
    pub failed: u32,
    /// Replies within 72 hours.
    pub replies: u32,
    /// Button taps within 72 hours.
    pub clicks: u32,
    /// Read over delivered.
    pub read_rate: f64,
    /// Replies over delivered.
    pub reply_rate: f64,
    /// Clicks over delivered.
    pub click_rate: f64,
}

impl VariantMetrics {
    fn of(index: u8, name: &str, counts: &BroadcastCounts) -> Self {
        let s = Stages::of(counts);
        Self {
            index,
            name: name.to_owned(),
            sent: s.sent,
            delivered: s.delivered,
            read: s.read,
            failed: s.failed,
            replies: counts.replies,
            clicks: counts.clicks,
            read_rate: rate(s.read, s.delivered),
            reply_rate: rate(counts.replies, s.delivered),
            click_rate: rate(counts.clicks, s.delivered),
        }
    }

    /// The rate an A/B test is decided by.
    pub fn rate(&self, metric: AbMetric) -> f64 {
        match metric {
            AbMetric::ReadRate => self.read_rate,
            AbMetric::ReplyRate => self.reply_rate,
            AbMetric::ClickRate => self.click_rate,
        }
    }
}

fn rate(a: u32, b: u32) -> f64 {
    if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) }
}

/// Messages per stage, from the counts storage sums.
struct Stages {
    /// Rows not yet handed over: waiting, held, claimed or being sent.
    pending: u32,
    sent: u32,
    unknown: u32,
    cancelled: u32,
    delivered: u32,
    read: u32,
    failed: u32,
}

impl Stages {
    fn of(counts: &BroadcastCounts) -> Self {
        let count = |f: &dyn Fn(MessageStatus) -> bool| -> u32 {
            counts.by_status.iter().filter(|(s, _)| f(*s)).map(|(_, n)| n).sum()
        };
        let state = |want: OutboxState| -> u32 {
            counts.by_outbox_state.iter().filter(|(s, _)| *s == want).map(|(_, n)| n).sum()
        };
        Self {
            pending: [
                OutboxState::Pending,
                OutboxState::Claimed,
                OutboxState::Sending,
                OutboxState::Held,
            ]
            .into_iter()
            .map(state)
            .sum(),
            sent: state(OutboxState::Sent),
            unknown: state(OutboxState::Unknown),
            cancelled: state(OutboxState::Cancelled),
            delivered: count(&|s| matches!(s, MessageStatus::Delivered | MessageStatus::Read)),
            read: count(&|s| s == MessageStatus::Read),
            failed: count(&|s| s.is_failure()),
        }
    }
}

/// What one `run_due` round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BroadcastReport {
    /// Broadcasts whose audience was fixed this round.
    pub launched: u32,
    /// Messages queued.
    pub queued: u32,
    /// Customers skipped.
    pub skipped: u32,
    /// Broadcasts that paused themselves.
    pub paused: u32,
    /// Broadcasts that completed.
    pub completed: u32,
    /// A/B tests whose winner was picked.
    pub decided: u32,
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Field { key: String, fallback: Option<String> },
    Literal(String),
}

const FIELDS: &[&str] = &["name", "first_name", "phone", "city", "country"];

fn read_source(text: &str) -> Result<Source, String> {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return Ok(Source::Literal(t[1..t.len() - 1].to_owned()));
    }
    let (key, fallback) = match t.split_once('|') {
        Some((k, f)) => (k.trim(), Some(f.trim().to_owned())),
        None => (t, None),
    };
    let known =
        FIELDS.contains(&key) || key.strip_prefix(ATTRIBUTE_PREFIX).is_some_and(|a| !a.is_empty());
    if !known {
        return Err(format!(
            "{key:?} is not a customer field (name, first_name, phone, city, country, attr.<key>) or a \"quoted\" value"
        ));
    }
    Ok(Source::Field { key: key.to_owned(), fallback })
}

/// A template ready to render for many customers.
struct Prepared {
    name: String,
    category: TemplateCategory,
    content: TemplateContent,
    content_sid: String,
    plan: TemplatePlan,
    sources: BTreeMap<String, Source>,
}

impl Prepared {
    /// The message for one customer, or `None` when it cannot be made.
    fn render(&self, c: &Customer) -> Option<MessageContent> {
        let values = customer_values(c);
        let lookup = |var: &str| -> Option<&str> {
            match self.sources.get(var) {
                Some(Source::Literal(v)) => Some(v.as_str()),
                Some(Source::Field { key, fallback }) => {
                    values.get(key).map(String::as_str).or(fallback.as_deref())
                }
                None => values.get(var).map(String::as_str),
            }
        };
        let variables = self.plan.content_variables(lookup).ok()?;
        let rendered = self.plan.preview(&self.content, lookup).ok()?.body;
        Some(MessageContent::Template {
            name: self.name.clone(),
            content_sid: Some(self.content_sid.clone()),
            variables,
            rendered: Some(rendered),
        })
    }
}

/// Decides one customer: their message, or why they get none.
struct Audit<'a> {
    prepared: &'a Prepared,
    cap: u32,
    recent: HashMap<PhoneNumber, u32>,
}

impl Audit<'_> {
    fn judge(&self, c: &Customer) -> Result<MessageContent, SkipReason> {
        // A broadcast is business-initiated: an opt-out is always honoured.
        match c.marketing.status {
            ConsentStatus::OptedOut => return Err(SkipReason::OptedOut),
            ConsentStatus::Unknown if self.prepared.category == TemplateCategory::Marketing => {
                return Err(SkipReason::NotOptedIn);
            }
            _ => {}
        }
        if self.prepared.category == TemplateCategory::Marketing
            && self.recent.get(&c.phone).copied().unwrap_or(0) >= self.cap
        {
            return Err(SkipReason::Capped);
        }
        self.prepared.render(c).ok_or(SkipReason::Invalid)
    }
}

/// A broadcast's audience as fixed at launch, read a page at a time.
struct AudienceQuery {
    business: BusinessId,
    rule: Rule,
    ctx: SegmentContext,
    at: DateTime<Utc>,
}

impl AudienceQuery {
    /// Up to a launch batch of the audience, whole, after `after`.
    async fn page(
        &self,
        storage: &dyn Storage,
        after: Option<CustomerId>,
    ) -> Result<Vec<Customer>, ServiceError> {
        let limit = LAUNCH_BATCH as u32;
        let (b, rule, ctx) = (self.business, &self.rule, &self.ctx);
        Ok(storage.segment_customers(b, rule, ctx, self.at, after, limit).await?)
    }
}

/// What every batch of one launch shares: for an A/B test's sample, one
/// audit per variant; otherwise the one that applies.
struct Job<'a> {
    bc: &'a Broadcast,
    business: &'a Business,
    audits: &'a [Audit<'a>],
    now: DateTime<Utc>,
}

impl Job<'_> {
    /// The audit for a customer, with their variant; `None` when this phase
    /// of an A/B test is not theirs.
    fn audit_for(&self, c: CustomerId) -> Option<(&Audit<'_>, Option<u8>)> {
        let Some(ab) = &self.bc.ab_test else { return self.audits.first().map(|a| (a, None)) };
        let variant = ab.variant_of(self.bc.id, c);
        match (ab.phase, variant) {
            (AbPhase::Testing, Some(v)) => self.audits.get(usize::from(v)).map(|a| (a, Some(v))),
            (AbPhase::Rollout, None) => self.audits.first().map(|a| (a, None)),
            _ => None,
        }
    }
}

/// Broadcast use cases, and the worker that launches and watches them.
#[derive(Clone)]
pub struct Broadcasts {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    policy: SendPolicy,
}

impl Broadcasts {
    /// A service over `storage`; `policy` gives the marketing frequency cap.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: SendPolicy) -> Self {
        Self { storage, clock, policy }
    }

    fn now(&self) -> DateTime<Utc> {
        to_storage_precision(self.clock.now())
    }

    async fn prepare(
        &self,
        business: BusinessId,
        template: TemplateId,
        variables: &BTreeMap<String, String>,
    ) -> Result<Prepared, ServiceError> {
        let (t, content, content_sid) =
            approved_content(&*self.storage, business, template).await?;
        let plan = TemplatePlan::compile(&content)
            .map_err(|e| ValidationError::field("template_id", e.to_string()))?;
        let mut v = ValidationError::default();
        let mut sources = BTreeMap::new();
        for (var, text) in variables {
            if !plan.variables().any(|p| p == var) {
                v.push(format!("variables.{var}"), "the template has no such variable");
            }
            match read_source(text) {
                Ok(s) => {
                    sources.insert(var.clone(), s);
                }
                Err(e) => v.push(format!("variables.{var}"), e),
            }
        }
        v.into_result(|| Prepared {
            name: t.name,
            category: t.category,
            content,
            content_sid,
            plan,
            sources,
        })
        .map_err(ServiceError::from)
    }

    /// The rule an audience stands for.
    async fn rule(&self, business: &Business, audience: &Audience) -> Result<Rule, ServiceError> {
        Ok(match audience {
            Audience::OptedIn => Rule::OptedIn(true),
            Audience::Segment { segment_id } => {
                self.storage.get_segment(business.id, *segment_id).await?.rule
            }
            Audience::Rule { rule } => parse_rule(rule, business.currency)
                .map_err(|e| ValidationError::field("audience.rule", e.to_string()))?,
            Audience::Tags { tags } if tags.is_empty() => {
                return Err(ValidationError::field("audience.tags", "give at least one tag").into());
            }
            Audience::Tags { tags } => Rule::Tag(TagTest::Any(tags.clone())),
        })
    }

    /// Checks what a broadcast (or each run of a campaign) would send:
    /// `name`, audience, template and variables. Field problems come
    /// together; a missing or unapproved record after them.
    pub(crate) async fn check(
        &self,
        b: &Business,
        v: &mut ValidationError,
        template: TemplateId,
        variables: &BTreeMap<String, String>,
        audience: &Audience,
    ) -> Result<(), ServiceError> {
        if let Err(ServiceError::Invalid(e)) = self.rule(b, audience).await {
            v.errors.extend(e.errors);
        }
        if let Err(ServiceError::Invalid(e)) = self.prepare(b.id, template, variables).await {
            v.errors.extend(e.errors);
        }
        if !v.is_empty() {
            return Err(std::mem::take(v).into());
        }
        self.rule(b, audience).await?;
        self.prepare(b.id, template, variables).await?;
        Ok(())
    }

    /// Checks an A/B test's shape and each variant's template and values;
    /// returns it ready to start.
    async fn check_ab(
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

    /// Validates and stores a draft broadcast.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewBroadcast,
    ) -> Result<Broadcast, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let mut v = ValidationError::default();
        let name = text_field(&mut v, "name", &input.name, BROADCAST_NAME_MAX_CHARS);
        let now = self.now();
        if input.send_at.is_some_and(|t| t < now - Duration::minutes(1)) {
            v.push("send_at", "is in the past");
        }
        let ab_test = match input.ab_test {
            Some(ab) => {
                Some(self.check_ab(&b, &mut v, &input.template_id, &input.variables, ab).await?)
            }
            None => None,
        };
        self.check(&b, &mut v, input.template_id, &input.variables, &input.audience).await?;
        let Some(name) = name else { return Err(v.into()) };
        let mut broadcast = draft(
            business,
            name,
            input.template_id,
            input.variables,
            input.audience,
            input.auto_pause.unwrap_or_default(),
            now,
        );
        broadcast.send_at = input.send_at.map(to_storage_precision);
        broadcast.ab_test = ab_test;
        self.storage.insert_broadcast(&broadcast).await?;
        Ok(broadcast)
    }

    /// Starts one run of a campaign at `now`: a broadcast that launches at
    /// once, its audience fixed now.
    pub(crate) async fn start_run(
        &self,
        campaign: &crate::domain::Campaign,
        name: String,
        now: DateTime<Utc>,
    ) -> Result<Broadcast, ServiceError> {
        self.prepare(campaign.business_id, campaign.template_id, &campaign.variables).await?;
        let mut run = draft(
            campaign.business_id,
            name,
            campaign.template_id,
            campaign.variables.clone(),
            campaign.audience.clone(),
            campaign.auto_pause,
            now,
        );
        run.campaign_id = Some(campaign.id);
        start(&mut run, now);
        self.storage.insert_broadcast(&run).await?;
        Ok(run)
    }

    /// Reads a broadcast.
    pub async fn get(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        Ok(self.storage.get_broadcast(business, id).await?)
    }

    /// Lists broadcasts, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Broadcast>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_broadcasts(business, limit, after).await?)
    }

    /// Everyone the broadcast would reach now, who would be skipped and why,
    /// and a few rendered messages. Nothing is stored.
    pub async fn preview(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<BroadcastPreview, ServiceError> {
        let bc = self.storage.get_broadcast(business, id).await?;
        let b = self.storage.get_business(business).await?;
        let prepared = self.prepare(business, bc.template_id, &bc.variables).await?;
        let now = self.now();
        let audience = self.audience(&b, &bc, now).await?;
        let audit = self.audit(&prepared, business, now).await?;
        let mut skipped: BTreeMap<SkipReason, u32> = BTreeMap::new();
        let mut samples = Vec::new();
        let (mut will_send, mut size, mut after) = (0, 0_usize, None);
        loop {
            let page = audience.page(&*self.storage, after).await?;
            let full = page.len() == LAUNCH_BATCH;
            size += page.len();
            after = page.last().map(|c| c.id);
            for c in page {
                match audit.judge(&c) {
                    Ok(content) => {
                        will_send += 1;
                        if samples.len() < PREVIEW_SAMPLES
                            && let MessageContent::Template { rendered: Some(text), .. } = content
                        {
                            samples.push(SampleMessage { customer_id: c.id, phone: c.phone, text });
                        }
                    }
                    Err(reason) => *skipped.entry(reason).or_default() += 1,
                }
            }
            if !full {
                break;
            }
        }
        Ok(BroadcastPreview {
            audience: u32::try_from(size).unwrap_or(u32::MAX),
            will_send,
            skipped: skipped.into_iter().collect(),
            samples,
        })
    }

    async fn audience(
        &self,
        b: &Business,
        bc: &Broadcast,
        now: DateTime<Utc>,
    ) -> Result<AudienceQuery, ServiceError> {
        let rule = self.rule(b, &bc.audience).await?;
        // The snapshot: rules about time are judged at launch, and customers
        // who arrive after it are not in it.
        let at = bc.launched_at.unwrap_or(now);
        let ctx = SegmentContext { now: at, time_zone: b.time_zone };
        Ok(AudienceQuery { business: b.id, rule, ctx, at })
    }

    async fn audit<'a>(
        &self,
        prepared: &'a Prepared,
        business: BusinessId,
        now: DateTime<Utc>,
    ) -> Result<Audit<'a>, ServiceError> {
        let recent = if prepared.category == TemplateCategory::Marketing {
            let since = now - Duration::hours(self.policy.marketing_cap_window_hours);
            self.storage.marketing_counts_since(business, since).await?.into_iter().collect()
        } else {
            HashMap::new()
        };
        Ok(Audit { prepared, cap: self.policy.marketing_cap, recent })
    }

    /// Starts a draft: at its `send_at`, or now. The audience is fixed when it
    /// starts, and queued by `run_due`.
    pub async fn launch(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        if bc.status != BroadcastStatus::Draft {
            return Err(invalid_state(&bc, "launch"));
        }
        // The template must still be approved.
        self.prepare(business, bc.template_id, &bc.variables).await?;
        let now = self.now();
        bc.updated_at = now;
        match bc.send_at {
            Some(at) if at > now => bc.status = BroadcastStatus::Scheduled,
            _ => start(&mut bc, now),
        }
        self.storage.update_broadcast(&bc, BroadcastStatus::Draft).await?;
        Ok(bc)
    }

    /// Pauses a scheduled, launching or sending broadcast: nothing more is
    /// queued or sent until it resumes (messages already with the provider
    /// go on).
    pub async fn pause(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reason: &str,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        let was = bc.status;
        if !matches!(
            was,
            BroadcastStatus::Scheduled | BroadcastStatus::Launching | BroadcastStatus::Sending
        ) {
            return Err(invalid_state(&bc, "pause"));
        }
        let now = self.now();
        bc.status = BroadcastStatus::Paused;
        bc.pause_reason = Some(reason.to_owned());
        bc.updated_at = now;
        self.storage.update_broadcast(&bc, was).await?;
        self.storage
            .move_broadcast_rows(business, id, OutboxState::Pending, OutboxState::Held, now)
            .await?;
        Ok(bc)
    }

    /// Resumes a paused broadcast where it stopped.
    pub async fn resume(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        if bc.status != BroadcastStatus::Paused {
            return Err(invalid_state(&bc, "resume"));
        }
        let now = self.now();
        bc.status = if bc.launched_at.is_none() {
            BroadcastStatus::Scheduled
        } else if bc.launch_complete {
            BroadcastStatus::Sending
        } else {
            BroadcastStatus::Launching
        };
        bc.pause_reason = None;
        bc.updated_at = now;
        self.storage.update_broadcast(&bc, BroadcastStatus::Paused).await?;
        self.storage
            .move_broadcast_rows(business, id, OutboxState::Held, OutboxState::Pending, now)
            .await?;
        Ok(bc)
    }

    /// Cancels a broadcast for good: nothing more is queued or sent.
    pub async fn cancel(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        let mut bc = self.storage.get_broadcast(business, id).await?;
        let was = bc.status;
        if was.is_final() {
            return Err(invalid_state(&bc, "cancel"));
        }
        let now = self.now();
        bc.status = BroadcastStatus::Cancelled;
        bc.updated_at = now;
        bc.finished_at = Some(now);
        self.storage.update_broadcast(&bc, was).await?;
        for from in [OutboxState::Pending, OutboxState::Held] {
            self.storage
                .move_broadcast_rows(business, id, from, OutboxState::Cancelled, now)
                .await?;
        }
        Ok(bc)
    }

    /// Counts and rates, per stage.
    pub async fn metrics(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<BroadcastMetrics, ServiceError> {
        let broadcast = self.storage.get_broadcast(business, id).await?;
        let counts = self
            .storage
            .broadcast_counts(business, id, Some(Duration::hours(REPLY_WINDOW_HOURS)), None)
            .await?;
        let variants = self.variant_metrics(&broadcast).await?;
        let mut m = metrics_of(broadcast, counts);
        m.variants = variants;
        Ok(m)
    }

    /// Each A/B variant's results (none without a test).
    async fn variant_metrics(&self, bc: &Broadcast) -> Result<Vec<VariantMetrics>, ServiceError> {
        let mut variants = Vec::new();
        for (i, v) in bc.ab_test.iter().flat_map(|ab| ab.variants.iter()).enumerate() {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            let window = Some(Duration::hours(REPLY_WINDOW_HOURS));
            let counts =
                self.storage.broadcast_counts(bc.business_id, bc.id, window, Some(index)).await?;
            variants.push(VariantMetrics::of(index, &v.name, &counts));
        }
        Ok(variants)
    }

    /// The recipients, with where each one's message is.
    pub async fn recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<RecipientStatus>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_broadcast_recipients(business, id, limit, after).await?)
    }

    /// One round at `now`: starts scheduled broadcasts whose time came,
    /// queues launching ones a batch at a time, pauses sending ones that break
    /// their auto-pause rules, and completes those with nothing left to send.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<BroadcastReport, ServiceError> {
        let now = to_storage_precision(now);
        let mut report = BroadcastReport::default();
        for (business, id) in self.storage.active_broadcasts(now).await? {
            let mut bc = self.storage.get_broadcast(business, id).await?;
            let outcome = match bc.status {
                BroadcastStatus::Scheduled => {
                    start(&mut bc, now);
                    report.launched += 1;
                    match self.storage.update_broadcast(&bc, BroadcastStatus::Scheduled).await {
                        Ok(()) => self.launch_batches(&bc, now, &mut report).await,
                        Err(e) => Err(e.into()),
                    }
                }
                BroadcastStatus::Launching => self.launch_batches(&bc, now, &mut report).await,
                BroadcastStatus::Sending => self.watch(bc, now, &mut report).await,
                _ => Ok(()),
            };
            match outcome {
                // Paused or cancelled meanwhile: the person's choice stands.
                Err(ServiceError::Conflict { .. }) => {}
                other => other?,
            }
        }
        Ok(report)
    }

    /// Queues up to [`LAUNCH_BATCHES_PER_ROUND`] batches of the audience.
    async fn launch_batches(
        &self,
        bc: &Broadcast,
        now: DateTime<Utc>,
        report: &mut BroadcastReport,
    ) -> Result<(), ServiceError> {
        let s = &self.storage;
        let business = s.get_business(bc.business_id).await?;
        // The templates this phase sends: each variant's while an A/B test
        // samples, the winner's when it rolls out, the broadcast's otherwise.
        let specs = match &bc.ab_test {
            Some(ab) if ab.phase == AbPhase::Testing => ab.variants.iter().collect(),
            Some(ab) => {
                ab.winner.and_then(|w| ab.variants.get(usize::from(w))).into_iter().collect()
            }
            None => Vec::new(),
        };
        let mut prepared = Vec::new();
        if bc.ab_test.is_none() {
            prepared.push(self.prepare(bc.business_id, bc.template_id, &bc.variables).await?);
        }
        for v in specs {
            let (template, variables) = variant_spec(bc.template_id, &bc.variables, v);
            prepared.push(self.prepare(bc.business_id, template, &variables).await?);
        }
        let mut audits = Vec::with_capacity(prepared.len());
        for p in &prepared {
            audits.push(self.audit(p, bc.business_id, now).await?);
        }
        let audience = self.audience(&business, bc, now).await?;
        // Reading and rendering run ahead of writing, a few batches at most:
        // reads use their own connections, so the writer is never idle, and a
        // slow read no longer holds up the write after it. The audience is
        // read a page at a time, in one pass over the customers.
        let job = Job { bc, business: &business, audits: &audits, now };
        let (mut ready, mut built) = futures_channel::mpsc::channel(LAUNCH_BATCHES_AHEAD - 1);
        let builder = async move {
            let mut after = bc.launch_cursor;
            for _ in 0..LAUNCH_BATCHES_PER_ROUND {
                // Wait for room first, so no more than a few batches are held.
                if future::poll_fn(|cx| ready.poll_ready(cx)).await.is_err() {
                    break; // The writer stopped (it failed): nothing more to build.
                }
                let batch = self.build(&job, &audience, after).await;
                let done = batch.as_ref().map_or(true, |b| b.last);
                after = batch.as_ref().ok().and_then(|b| b.cursor).or(after);
                if ready.start_send(batch).is_err() || done {
                    break;
                }
            }
        };
        let writer = async {
            while let Some(batch) = built.next().await {
                let batch = batch?;
                s.record_launch_batch(&batch).await?;
                report.queued += batch.queued.len() as u32;
                report.skipped += batch.skipped.len() as u32;
            }
            Ok::<_, ServiceError>(())
        };
        let ((), written) = future::join(builder, writer).await;
        written
    }

    /// Reads and renders the batch of the audience after `after`; the last
    /// one is short.
    async fn build(
        &self,
        job: &Job<'_>,
        audience: &AudienceQuery,
        after: Option<CustomerId>,
    ) -> Result<LaunchBatch, ServiceError> {
        let customers = audience.page(&*self.storage, after).await?;
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let open = self.storage.find_active_conversations(job.bc.business_id, &ids).await?;
        let open = open.into_iter().map(|c| (c.customer_id, c)).collect();
        let last = customers.len() < LAUNCH_BATCH;
        Ok(self.build_batch(job, customers, &open, last))
    }

    /// One launch batch: a message for each customer who may have one, the
    /// reason for each who may not.
    fn build_batch(
        &self,
        job: &Job<'_>,
        customers: Vec<Customer>,
        open: &HashMap<CustomerId, Conversation>,
        last: bool,
    ) -> LaunchBatch {
        let (bc, business, now) = (job.bc, job.business, job.now);
        let cursor = customers.last().map(|c| c.id);
        let mut batch = self.batch(bc, business, cursor, last, now);
        for c in customers {
            let Some((audit, variant)) = job.audit_for(c.id) else { continue };
            let content = match audit.judge(&c) {
                Ok(content) => content,
                Err(reason) => {
                    batch.skipped.push(BroadcastRecipient {
                        broadcast_id: bc.id,
                        customer_id: c.id,
                        message_id: None,
                        skipped: Some(reason),
                        variant,
                    });
                    continue;
                }
            };
            let open = open.get(&c.id).map(|conv| conv.id);
            batch.queued.push(LaunchMessage {
                customer_id: c.id,
                phone: c.phone,
                // A new id when the launch opens the conversation.
                conversation_id: open.unwrap_or_default(),
                opens_conversation: open.is_none(),
                message_id: MessageId::new(),
                content,
                category: Some(audit.prepared.category),
                variant,
            });
        }
        batch
    }

    fn batch(
        &self,
        bc: &Broadcast,
        business: &Business,
        cursor: Option<CustomerId>,
        last: bool,
        at: DateTime<Utc>,
    ) -> LaunchBatch {
        LaunchBatch {
            business: bc.business_id,
            broadcast: bc.id,
            sender: business.whatsapp_sender.clone(),
            queued: Vec::new(),
            skipped: Vec::new(),
            cursor,
            last,
            at,
        }
    }

    /// Pauses a sending broadcast that breaks its rules, or completes it.
    async fn watch(
        &self,
        mut bc: Broadcast,
        now: DateTime<Utc>,
        report: &mut BroadcastReport,
    ) -> Result<(), ServiceError> {
        let counts = self.storage.broadcast_counts(bc.business_id, bc.id, None, None).await?;
        if let Some(reason) = auto_pause_reason(&bc.auto_pause, &counts) {
            self.pause(bc.business_id, bc.id, &reason).await?;
            report.paused += 1;
            return Ok(());
        }
        // An A/B test's sample is out: wait its window, then pick the winner
        // and send it to everyone else.
        let variants = match bc.ab_test.as_ref().map(|ab| ab.phase) {
            Some(AbPhase::Waiting) => self.variant_metrics(&bc).await?,
            _ => Vec::new(),
        };
        if let Some(ab) = bc.ab_test.as_mut() {
            match ab.phase {
                AbPhase::Testing => {
                    ab.phase = AbPhase::Waiting;
                    ab.decide_at = Some(now + Duration::hours(i64::from(ab.window_hours)));
                    bc.updated_at = now;
                    self.storage.update_broadcast(&bc, BroadcastStatus::Sending).await?;
                    return Ok(());
                }
                AbPhase::Waiting if ab.decide_at.is_some_and(|t| t > now) => return Ok(()),
                AbPhase::Waiting => {
                    let metric = ab.metric;
                    // The best rate wins; a tie goes to the earlier variant.
                    let winner = variants
                        .iter()
                        .fold(None::<&VariantMetrics>, |best, v| match best {
                            Some(b) if b.rate(metric) >= v.rate(metric) => Some(b),
                            _ => Some(v),
                        })
                        .map_or(0, |v| v.index);
                    ab.winner = Some(winner);
                    ab.phase = AbPhase::Rollout;
                    bc.status = BroadcastStatus::Launching;
                    bc.launch_cursor = None;
                    bc.launch_complete = false;
                    bc.updated_at = now;
                    self.storage.update_broadcast(&bc, BroadcastStatus::Sending).await?;
                    report.decided += 1;
                    return Ok(());
                }
                AbPhase::Rollout => {}
            }
        }
        if Stages::of(&counts).pending == 0 {
            bc.status = BroadcastStatus::Completed;
            bc.finished_at = Some(now);
            bc.updated_at = now;
            self.storage.update_broadcast(&bc, BroadcastStatus::Sending).await?;
            report.completed += 1;
        }
        Ok(())
    }
}

/// A variant's template and variables: its own, over the broadcast's.
fn variant_spec(
    template: TemplateId,
    variables: &BTreeMap<String, String>,
    v: &AbVariant,
) -> (TemplateId, BTreeMap<String, String>) {
    let mut merged = variables.clone();
    merged.extend(v.variables.clone());
    (v.template_id.unwrap_or(template), merged)
}

/// A new draft broadcast, nothing launched yet.
fn draft(
    business: BusinessId,
    name: String,
    template_id: TemplateId,
    variables: BTreeMap<String, String>,
    audience: Audience,
    auto_pause: AutoPause,
    now: DateTime<Utc>,
) -> Broadcast {
    Broadcast {
        id: BroadcastId::new(),
        business_id: business,
        name,
        template_id,
        variables,
        audience,
        send_at: None,
        status: BroadcastStatus::Draft,
        pause_reason: None,
        auto_pause,
        ab_test: None,
        recipients: 0,
        queued: 0,
        skipped: 0,
        launch_cursor: None,
        launch_complete: false,
        campaign_id: None,
        created_at: now,
        updated_at: now,
        launched_at: None,
        finished_at: None,
    }
}

fn start(bc: &mut Broadcast, now: DateTime<Utc>) {
    bc.status = BroadcastStatus::Launching;
    bc.launched_at = Some(now);
    bc.updated_at = now;
}

fn invalid_state(bc: &Broadcast, action: &str) -> ServiceError {
    super::not_now(action, "broadcast", bc.status)
}

/// Why `counts` break `rules`, if they do.
pub fn auto_pause_reason(rules: &AutoPause, counts: &BroadcastCounts) -> Option<String> {
    if rules.on_quality_errors
        && let Some(code) = counts
            .failed_by_code
            .iter()
            .filter_map(|(c, _)| *c)
            .find(|c| QUALITY_ERROR_CODES.contains(c))
    {
        return Some(format!("provider error {code}: spam or quality signal"));
    }
    // Sends the provider took or refused; queued ones are not judged yet.
    let finished: u32 = counts
        .by_outbox_state
        .iter()
        .filter(|(s, _)| matches!(s, OutboxState::Sent | OutboxState::Failed))
        .map(|(_, n)| n)
        .sum();
    let failed: u32 = counts.failed_by_code.iter().map(|(_, n)| n).sum();
    let limit = rules.max_failure_percent?;
    (finished >= rules.min_sends.max(1) && failed * 100 > u32::from(limit) * finished).then(|| {
        format!("{}% of {finished} sends failed (limit {limit}%)", failed * 100 / finished)
    })
}

fn metrics_of(broadcast: Broadcast, counts: BroadcastCounts) -> BroadcastMetrics {
    let s = Stages::of(&counts);
    BroadcastMetrics {
        queued: broadcast.queued,
        pending: s.pending,
        sent: s.sent,
        delivered: s.delivered,
        read: s.read,
        failed: s.failed,
        failed_by_code: counts.failed_by_code.clone(),
        unknown: s.unknown,
        cancelled: s.cancelled,
        skipped: counts.skipped.clone(),
        replies: counts.replies,
        clicks: counts.clicks,
        delivery_rate: rate(s.delivered, s.sent),
        read_rate: rate(s.read, s.delivered),
        reply_rate: rate(counts.replies, s.delivered),
        click_rate: rate(counts.clicks, s.delivered),
        variants: Vec::new(),
        broadcast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts with `ok` sends the provider took and `failed` it refused (by code).
    fn counts(ok: u32, failed: &[(Option<u32>, u32)], queued: u32) -> BroadcastCounts {
        let refused: u32 = failed.iter().map(|(_, n)| n).sum();
        BroadcastCounts {
            failed_by_code: failed.to_vec(),
            by_outbox_state: vec![
                (OutboxState::Pending, queued),
                (OutboxState::Sent, ok),
                (OutboxState::Failed, refused),
            ],
            ..BroadcastCounts::default()
        }
    }

    #[test]
    fn auto_pause_waits_for_enough_sends_then_judges_the_rate() {
        let rules = AutoPause::default();
        // 20 of 40 failed: too few sends to judge.
        assert_eq!(auto_pause_reason(&rules, &counts(20, &[(Some(63016), 20)], 0)), None);
        // 13 of 50 failed is 26%: over the 25% limit.
        assert_eq!(
            auto_pause_reason(&rules, &counts(37, &[(Some(63016), 13)], 0)).as_deref(),
            Some("26% of 50 sends failed (limit 25%)")
        );
        // 12 of 50 is 24%: fine. Queued messages are not judged.
        assert_eq!(auto_pause_reason(&rules, &counts(38, &[(None, 12)], 500)), None);
        // One spam signal is enough, unless that rule is off.
        let spam = counts(0, &[(Some(131_048), 1)], 0);
        assert!(auto_pause_reason(&rules, &spam).unwrap().contains("131048"));
        let off = AutoPause { on_quality_errors: false, max_failure_percent: None, ..rules };
        assert_eq!(auto_pause_reason(&off, &spam), None);
    }

    #[test]
    fn variable_sources_are_fields_with_fallbacks_or_quoted_values() {
        assert_eq!(
            read_source("first_name|rafiki"),
            Ok(Source::Field { key: "first_name".into(), fallback: Some("rafiki".into()) })
        );
        assert_eq!(read_source("\"50% off\""), Ok(Source::Literal("50% off".into())));
        assert_eq!(
            read_source("attr.tier"),
            Ok(Source::Field { key: "attr.tier".into(), fallback: None })
        );
        assert!(read_source("password").is_err());
        assert!(read_source("attr.").is_err());
    }
}
