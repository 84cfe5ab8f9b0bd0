//! `eval-intents`: how well the offline classifier and the decision rule do
//! on labelled data, the protocol the README describes.
//!
//! Each file holds JSON lines `{"text": "...", "intent": "..."}`; the intent
//! `oos` marks a message the business has no answer for. The model is
//! trained on the training file's in-scope lines, the threshold chosen on
//! the validation file, and the test file measured with it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use whatsapp_crm_core::assistant::eval::{
    Metrics, OUT_OF_SCOPE, Prediction, measure, threshold_for_accuracy, threshold_for_recall,
};
use whatsapp_crm_core::assistant::{Example, Gate, IntentModel, TrainConfig, train};

/// Options of `eval-intents`.
#[derive(Debug, Clone, Args)]
pub struct EvalIntentsArgs {
    /// Training examples (JSON lines; `oos` lines are not trained on).
    #[arg(long = "train")]
    pub train: PathBuf,
    /// Validation examples: the threshold is chosen on them.
    #[arg(long = "val")]
    pub val: PathBuf,
    /// Test examples: measured with the chosen threshold.
    #[arg(long = "test")]
    pub test: PathBuf,
    /// Choose the lowest threshold whose out-of-scope recall on validation
    /// reaches this (0–1); without it, the threshold with the best accuracy
    /// on validation, `oos` counted as its own class.
    #[arg(long, conflicts_with = "threshold")]
    pub target_oos_recall: Option<f64>,
    /// Measure at this threshold instead of choosing one (as a business's
    /// setting would be).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// The decision rule's least lead of the top intent over the runner-up.
    #[arg(long, default_value_t = 0.0)]
    pub ambiguity: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    text: String,
    intent: String,
}

/// Reads a JSON lines file of examples; blank lines are skipped, a bad line
/// is named.
pub fn read_examples(path: &Path) -> anyhow::Result<Vec<Example>> {
    let data =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line).with_context(|| {
            format!("{} line {}: want {{\"text\": ..., \"intent\": ...}}", path.display(), i + 1)
        })?;
        if l.intent.trim().is_empty() {
            bail!("{} line {}: the intent is empty", path.display(), i + 1);
        }
        out.push(Example::new(l.text, l.intent));
    }
    Ok(out)
}

/// What one evaluation measured.
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// Examples trained on (in scope).
    pub trained_on: usize,
    /// Intents the model tells apart.
    pub intents: usize,
    /// The chosen threshold.
    pub threshold: f64,
    /// How it was chosen.
    pub chosen_by: String,
    /// Validation metrics at the threshold.
    pub validation: Metrics,
    /// Test metrics at the threshold.
    pub test: Metrics,
    /// Training time, seconds.
    pub training_secs: f64,
    /// Classification time per test message, microseconds.
    pub classify_us: f64,
}

impl EvalReport {
    /// The `summary:` lines.
    pub fn lines(&self) -> Vec<String> {
        let pct = |x: f64| x * 100.0;
        vec![
            format!(
                "summary: trained on {} examples, {} intents; threshold {:.4} ({})",
                self.trained_on, self.intents, self.threshold, self.chosen_by
            ),
            format!("summary: in_scope_accuracy = {:.2} %", pct(self.test.in_scope_accuracy)),
            format!("summary: oos_recall = {:.2} %", pct(self.test.oos_recall)),
            format!("summary: closed_set_accuracy = {:.2} %", pct(self.test.closed_set_accuracy)),
            format!("summary: handoff_rate = {:.2} %", pct(self.test.handoff_rate)),
            format!("summary: answered_precision = {:.2} %", pct(self.test.answered_precision)),
            format!(
                "summary: validation in_scope_accuracy = {:.2} %, oos_recall = {:.2} %",
                pct(self.validation.in_scope_accuracy),
                pct(self.validation.oos_recall)
            ),
            format!("summary: training_time = {:.3} s", self.training_secs),
            format!("summary: classify_time = {:.1} us/message", self.classify_us),
        ]
    }
}

/// Trains, chooses the threshold and measures.
pub fn eval_intents(args: &EvalIntentsArgs) -> anyhow::Result<EvalReport> {
    if let Some(r) = args.target_oos_recall
        && !(0.0..=1.0).contains(&r)
    {
        bail!("--target-oos-recall must be between 0 and 1");
    }
    if args.threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
        bail!("--threshold must be between 0 and 1");
    }
    if !(0.0..=1.0).contains(&args.ambiguity) {
        bail!("--ambiguity must be between 0 and 1");
    }
    let train_set: Vec<Example> =
        read_examples(&args.train)?.into_iter().filter(|e| e.intent != OUT_OF_SCOPE).collect();
    let (val, test) = (read_examples(&args.val)?, read_examples(&args.test)?);
    if test.is_empty() || val.is_empty() {
        bail!("the validation and test files need at least one example each");
    }
    let started = Instant::now();
    let model = train(&train_set, &TrainConfig::for_examples(train_set.len()))
        .map_err(|e| anyhow::anyhow!("cannot train: {e}"))?;
    let training_secs = started.elapsed().as_secs_f64();
    let validation = predict(&model, &val);
    let started = Instant::now();
    let tested = predict(&model, &test);
    let classify_us = started.elapsed().as_secs_f64() * 1e6 / test.len() as f64;
    let (threshold, chosen_by) = match (args.threshold, args.target_oos_recall) {
        (Some(t), _) => (t, "given".to_owned()),
        (None, Some(r)) => match threshold_for_recall(&validation, args.ambiguity, r) {
            Some(t) => (t, format!("lowest reaching {:.0} % oos recall on validation", r * 100.0)),
            None => bail!("--target-oos-recall needs `oos` examples in the validation file"),
        },
        (None, None) => (
            threshold_for_accuracy(&validation, args.ambiguity),
            "best accuracy on validation, oos as a class".to_owned(),
        ),
    };
    let gate = Gate { threshold, ambiguity: args.ambiguity };
    Ok(EvalReport {
        trained_on: train_set.len(),
        intents: model.labels().len(),
        threshold,
        chosen_by,
        validation: measure(&validation, gate),
        test: measure(&tested, gate),
        training_secs,
        classify_us,
    })
}

fn predict(model: &IntentModel, set: &[Example]) -> Vec<Prediction> {
    set.iter().map(|e| Prediction::new(&e.intent, &model.classify(&e.text))).collect()
}

/// Options of `eval-recommendations`.
#[derive(Debug, Clone, Args)]
pub struct EvalRecommendationsArgs {
    /// Baskets, one per line, items separated by commas.
    #[arg(long)]
    pub baskets: PathBuf,
    /// Hit rate at this many picks, beside 5 and 10.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Seed of the split and of the hidden items.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of baskets the model is built from (the rest are held out).
    #[arg(long, default_value_t = 0.8)]
    pub split: f64,
    /// How co-occurrence is normalised: `confidence` (the default),
    /// `count`, `cosine` or `lift`.
    #[arg(long, default_value = "confidence")]
    pub score: String,
}

/// Reads a baskets file: one basket a line, items separated by commas,
/// blank items and lines skipped.
pub fn read_baskets(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let data =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(data
        .lines()
        .map(|l| l.split(',').map(str::trim).filter(|i| !i.is_empty()).map(str::to_owned).collect())
        .filter(|b: &Vec<String>| !b.is_empty())
        .collect())
}

/// Splits, builds on the first part, hides an item of each held-out basket
/// and prints popularity and the model side by side.
pub fn eval_recommendations(args: &EvalRecommendationsArgs) -> anyhow::Result<Vec<String>> {
    use whatsapp_crm_core::recommend::{ModelConfig, evaluate, split_baskets};
    if !(args.split > 0.0 && args.split < 1.0) {
        bail!("--split must be between 0 and 1");
    }
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    let score: whatsapp_crm_core::recommend::Score =
        serde_json::from_value(serde_json::Value::String(args.score.clone()))
            .map_err(|_| anyhow::anyhow!("--score must be confidence, count, cosine or lift"))?;
    let baskets = read_baskets(&args.baskets)?;
    // Items as numbers: the model is the same, and faster to build.
    let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let baskets: Vec<Vec<u32>> = baskets
        .into_iter()
        .map(|b| {
            b.into_iter()
                .map(|i| {
                    let next = ids.len() as u32;
                    *ids.entry(i).or_insert(next)
                })
                .collect()
        })
        .collect();
    let (train, test) = split_baskets(&baskets, args.split, args.seed);
    let config = ModelConfig { score, ..ModelConfig::default() };
    let r = evaluate(&train, &test, args.k, args.seed, config, chrono::Utc::now());
    if r.tested == 0 {
        bail!("no held-out basket has 2 items or more");
    }
    let pct = |x: f64| x * 100.0;
    let line = |name: &str, pop: f64, ours: f64| {
        format!(
            "summary: {name}: popularity = {:.2} %, ours = {:.2} %, lift = {:+.2} points",
            pct(pop),
            pct(ours),
            pct(ours - pop)
        )
    };
    let mut out = vec![
        format!(
            "summary: {} baskets, {} items; built on {}, {} held out with 2+ items (seed {}, split {}, score {})",
            baskets.len(),
            ids.len(),
            r.train,
            r.tested,
            args.seed,
            args.split,
            args.score
        ),
        line("hit@5", r.popularity.at5, r.ours.at5),
        line("hit@10", r.popularity.at10, r.ours.at10),
    ];
    if args.k != 5 && args.k != 10 {
        out.push(line(&format!("hit@{}", args.k), r.popularity.at_k, r.ours.at_k));
    }
    out.push(format!("summary: build_time = {:.1} ms", r.build_ms));
    Ok(out)
}
