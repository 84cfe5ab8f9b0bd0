//! Rendering flat WhatsApp messages: our engine beside minijinja, tera,
//! handlebars and upon on the same input and output, and two floors: copying the
//! finished text, and appending pre-split segments into an exactly sized string.
//!
//! `cargo bench -p benches --bench templates` (add `-- --quick`, or set
//! `WCRM_BENCH_QUICK=1`, for a short run). Ends with `summary:` lines.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use whatsapp_crm_core::template::CompiledTemplate;

/// One message shape, written in each engine's own syntax.
struct Case {
    name: &'static str,
    /// Our syntax (WhatsApp's `{{name}}`).
    ours: String,
    /// Jinja-style `{{ name }}` (minijinja, tera, upon).
    jinja: String,
    /// Handlebars `{{name}}`.
    handlebars: String,
    vars: Vec<(&'static str, &'static str)>,
    expected: String,
}

fn case(name: &'static str, parts: &[&str], vars: &[(&'static str, &'static str)]) -> Case {
    // `parts` alternates literal text and variable names: lit, var, lit, var, ..., lit.
    let (mut ours, mut jinja, mut hb, mut expected) =
        (String::new(), String::new(), String::new(), String::new());
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 0 {
            for s in [&mut ours, &mut jinja, &mut hb, &mut expected] {
                s.push_str(p);
            }
        } else {
            ours.push_str(&format!("{{{{{p}}}}}"));
            jinja.push_str(&format!("{{{{ {p} }}}}"));
            hb.push_str(&format!("{{{{{p}}}}}"));
            let value = vars.iter().find(|(k, _)| k == p).map(|(_, v)| *v).unwrap_or_default();
            expected.push_str(value);
        }
    }
    Case { name, ours, jinja, handlebars: hb, vars: vars.to_vec(), expected }
}

fn small() -> Case {
    case(
        "render_small",
        &[
            "Hi ",
            "name",
            ", your order ",
            "order",
            " of ",
            "amount",
            " is ready at ",
            "shop",
            ". Asante!",
        ],
        &[
            ("name", "Wanjiku"),
            ("order", "#4821"),
            ("amount", "KES 2,450.00"),
            ("shop", "Moi Avenue, Nairobi"),
        ],
    )
}

fn medium() -> Case {
    case(
        "render_medium",
        &[
            "Habari ",
            "name",
            "! Thanks for shopping at ",
            "shop",
            ". Your order ",
            "order",
            " (",
            "items",
            " items, total ",
            "amount",
            ") was paid by ",
            "method",
            " on ",
            "date",
            ". It ships with ",
            "courier",
            " and arrives by ",
            "eta",
            ". Track it at ",
            "url",
            " or call us on ",
            "phone",
            ". Your loyalty balance is now ",
            "points",
            " points. Karibu tena!",
        ],
        &[
            ("name", "Wanjiku"),
            ("shop", "Duka la Mama"),
            ("order", "#4821"),
            ("items", "3"),
            ("amount", "KES 2,450.00"),
            ("method", "M-Pesa"),
            ("date", "24 Nov 2026"),
            ("courier", "G4S"),
            ("eta", "Thursday 27 Nov"),
            ("url", "https://duka.example/t/4821"),
            ("phone", "+254 700 000 001"),
            ("points", "1,240"),
        ],
    )
}

/// The hand-written floor: segments split ahead of time, pushed into a string
/// sized exactly once.
enum Seg {
    Lit(&'static str),
    Var(usize),
}

struct Floor {
    segs: Vec<Seg>,
    literal_len: usize,
}

impl Floor {
    fn new(c: &Case) -> Self {
        let t = CompiledTemplate::parse(&c.ours).unwrap();
        let src: &'static str = Box::leak(c.ours.clone().into_boxed_str());
        let mut segs = Vec::new();
        let mut at = 0;
        for p in t.placeholders() {
            if p.start > at {
                segs.push(Seg::Lit(&src[at..p.start]));
            }
            segs.push(Seg::Var(p.slot));
            at = p.end;
        }
        if at < src.len() {
            segs.push(Seg::Lit(&src[at..]));
        }
        Self { segs, literal_len: t.literal_len() }
    }

    fn render(&self, values: &[&str]) -> String {
        let mut len = self.literal_len;
        for s in &self.segs {
            if let Seg::Var(i) = s {
                len += values[*i].len();
            }
        }
        let mut out = String::with_capacity(len);
        for s in &self.segs {
            match s {
                Seg::Lit(l) => out.push_str(l),
                Seg::Var(i) => out.push_str(values[*i]),
            }
        }
        out
    }
}

type Render<'a> = Box<dyn Fn() -> String + 'a>;

/// Every implementation, ready to render `c`, each checked against the expected text.
fn implementations(c: &Case) -> Vec<(&'static str, Render<'static>)> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let map: BTreeMap<String, String> =
        c.vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    let ours = CompiledTemplate::parse(&c.ours).unwrap();
    let values: Vec<Option<&'static str>> = ours
        .variables()
        .iter()
        .map(|v| c.vars.iter().find(|(k, _)| *k == v.name).map(|(_, val)| *val))
        .collect();
    let plain: Vec<&'static str> = values.iter().map(|v| v.unwrap_or_default()).collect();
    let floor = Floor::new(c);
    let expected = c.expected.clone();

    let mut mj = minijinja::Environment::new();
    mj.add_template_owned("t.txt", c.jinja.clone()).unwrap();
    let mj_ctx = minijinja::Value::from(map.clone());

    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_template("t", &c.jinja).unwrap();
    let mut tera_ctx = tera::Context::new();
    for (k, v) in &c.vars {
        tera_ctx.insert(*k, v);
    }

    let mut hb = handlebars::Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_template_string("t", &c.handlebars).unwrap();
    let hb_ctx = serde_json::to_value(&map).unwrap();

    let mut upon_engine = upon::Engine::new();
    upon_engine.add_template("t", leak(c.jinja.clone())).unwrap();
    let upon_engine: &'static upon::Engine<'static> = Box::leak(Box::new(upon_engine));
    let upon_ctx: &'static upon::Value = Box::leak(Box::new(upon::to_value(&map).unwrap()));

    let impls: Vec<(&'static str, Render<'static>)> = vec![
        ("ours_checked", {
            let (ours, values) = (ours.clone(), values.clone());
            Box::new(move || ours.render_checked(black_box(&values)).unwrap())
        }),
        ("ours", Box::new(move || ours.render(black_box(&values)).unwrap())),
        ("segment_floor", Box::new(move || floor.render(black_box(&plain)))),
        ("copy_floor", Box::new(move || black_box(&expected).clone())),
        (
            "minijinja",
            Box::new(move || mj.get_template("t.txt").unwrap().render(black_box(&mj_ctx)).unwrap()),
        ),
        ("tera", Box::new(move || tera.render("t", black_box(&tera_ctx)).unwrap())),
        ("handlebars", Box::new(move || hb.render("t", black_box(&hb_ctx)).unwrap())),
        (
            "upon",
            Box::new(move || {
                upon_engine.template("t").render_from(black_box(upon_ctx)).to_string().unwrap()
            }),
        ),
    ];
    for (name, f) in &impls {
        assert_eq!(f(), c.expected, "{name} renders something else for {}", c.name);
    }
    impls
}

/// Fastest of `samples` timed batches, in nanoseconds per call: the least
/// disturbed estimate on a shared machine.
fn best_ns(f: &dyn Fn() -> String, samples: usize) -> f64 {
    let mut batch = 64u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() >= Duration::from_millis(2) {
            break;
        }
        batch *= 2;
    }
    (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let quick = benches::quick_mode();
    let mut c = Criterion::default().configure_from_args();
    if quick {
        c = c
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(600))
            .sample_size(10);
    } else {
        c = c
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .sample_size(40);
    }
    let cases = [small(), medium()];
    let mut summary = Vec::new();
    for case in &cases {
        let impls = implementations(case);
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Bytes(case.expected.len() as u64));
        for (name, f) in &impls {
            group.bench_function(*name, |b| b.iter(f));
        }
        group.finish();

        let samples = if quick { 15 } else { 60 };
        // Interleave the implementations so drift on the machine affects all alike.
        let mut best = vec![f64::INFINITY; impls.len()];
        for _ in 0..3 {
            for (i, (_, f)) in impls.iter().enumerate() {
                best[i] = best[i].min(best_ns(f.as_ref(), samples / 3));
            }
        }
        let ns = |name: &str| best[impls.iter().position(|(n, _)| *n == name).unwrap()];
        let ours = ns("ours");
        summary.push(format!("summary: {} ours = {:.1} ns", case.name, ours));
        summary.push(format!("summary: {} ours_checked = {:.1} ns", case.name, ns("ours_checked")));
        summary.push(format!(
            "summary: {} ours_checked/segment_floor = {:.3} x",
            case.name,
            ns("ours_checked") / ns("segment_floor")
        ));
        for other in ["segment_floor", "copy_floor", "tera", "minijinja", "upon", "handlebars"] {
            summary.push(format!(
                "summary: {} ours/{} = {:.3} x",
                case.name,
                other,
                ours / ns(other)
            ));
        }
        let parse_ns = best_ns(
            &|| CompiledTemplate::parse(black_box(&case.ours)).unwrap().source().to_owned(),
            samples,
        );
        summary.push(format!("summary: {} parse = {:.1} ns", case.name, parse_ns));
        let met = ours <= 2.0 * ns("segment_floor")
            && ns("tera") >= 2.0 * ours
            && ns("minijinja") >= 5.0 * ours;
        summary.push(format!(
            "summary: {} targets (<= 2x floor, >= 2x faster than tera, >= 5x faster than minijinja) met = {} bool",
            case.name,
            u8::from(met)
        ));
    }
    c.final_summary();
    for line in summary {
        println!("{line}");
    }
}
