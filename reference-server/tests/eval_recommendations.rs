//! `reference-server eval-recommendations` through the real binary on
//! generated baskets with planted pairs: both baselines printed, ours ahead
//! of popularity at 10; bad options refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use whatsapp_crm_core::recommend::planted_baskets;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .arg("eval-recommendations")
        .args(args)
        .output()
        .unwrap()
}

/// `(popularity, ours)` of each `summary: hit@k:` line.
fn hits(stdout: &[u8]) -> BTreeMap<String, (f64, f64)> {
    let number = |s: &str| s.trim().trim_end_matches(" %").parse::<f64>().unwrap();
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("summary: hit@"))
        .map(|l| {
            let (k, rest) = l.split_once(": popularity = ").unwrap();
            let (pop, rest) = rest.split_once(", ours = ").unwrap();
            let ours = rest.split_once(", lift").unwrap().0;
            (k.to_owned(), (number(pop), number(ours)))
        })
        .collect()
}

#[test]
fn prints_both_baselines_and_beats_popularity_on_planted_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baskets.txt");
    let mut f = std::fs::File::create(&path).unwrap();
    let (baskets, _) = planted_baskets(500, 20_000, 40, 11);
    for b in &baskets {
        let items: Vec<String> = b.iter().map(|i| format!("p{i}")).collect();
        writeln!(f, "{}", items.join(", ")).unwrap();
    }
    writeln!(f).unwrap();
    let file = path.to_str().unwrap();
    let out = run(&["--baskets", file, "--k", "3", "--seed", "5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("summary: 20000 baskets, 500 items; built on 16000"), "{stdout}");
    assert!(stdout.contains("score confidence"), "{stdout}");
    assert!(stdout.contains("summary: build_time = "), "{stdout}");
    let h = hits(&out.stdout);
    assert_eq!(h.keys().collect::<Vec<_>>(), ["10", "3", "5"], "{stdout}");
    let (pop, ours) = h["10"];
    assert!(ours > pop, "{stdout}");
    // The same seed, the same numbers.
    assert_eq!(hits(&run(&["--baskets", file, "--k", "3", "--seed", "5"]).stdout), h);

    for (bad, says) in [
        (vec!["--baskets", file, "--split", "1.5"], "--split"),
        (vec!["--baskets", file, "--k", "0"], "--k"),
        (vec!["--baskets", file, "--score", "magic"], "--score"),
        (vec!["--baskets", "/nonexistent/baskets.txt"], "cannot read"),
    ] {
        let out = run(&bad);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{bad:?}");
    }
}
