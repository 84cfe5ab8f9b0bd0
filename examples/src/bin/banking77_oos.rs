//! Writes the README's out-of-scope split of BANKING77 as JSON lines, for
//! `reference-server eval-intents`:
//! `cargo run -p examples --bin banking77_oos [DIR]` (default
//! `target/banking77-oos`).
//!
//! A quarter of the 77 intents (19, chosen with seed 77) are held out as
//! `oos`; a tenth of the training file, drawn with the same seed, is the
//! validation set; the test file is the dataset's own test split. The
//! protocol is [`hold_out`]'s.

use std::io::Write;
use std::path::{Path, PathBuf};

use whatsapp_crm_core::assistant::Example;
use whatsapp_crm_core::assistant::eval::hold_out;

/// The split's seed and share of intents held out (README, assistant).
const SEED: u64 = 77;
const SHARE: f64 = 0.25;

fn read(path: &Path) -> anyhow::Result<Vec<Example>> {
    let mut r = csv::Reader::from_path(path)?;
    let mut out = Vec::new();
    for row in r.records() {
        let row = row?;
        out.push(Example::new(&row[0], &row[1]));
    }
    Ok(out)
}

fn write(path: &Path, set: &[Example]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for e in set {
        let line = serde_json::json!({"text": e.text, "intent": e.intent});
        writeln!(f, "{line}")?;
    }
    f.flush()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = root.join("datasets/banking77");
    let out =
        std::env::args_os().nth(1).map_or_else(|| root.join("target/banking77-oos"), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let split =
        hold_out(&read(&data.join("train.csv"))?, &read(&data.join("test.csv"))?, SHARE, SEED);
    for (name, set) in [("train", &split.train), ("val", &split.validation), ("test", &split.test)]
    {
        write(&out.join(format!("{name}.jsonl")), set)?;
        eprintln!("{name}.jsonl: {} examples", set.len());
    }
    std::fs::write(out.join("held_out.txt"), split.held_out.join("\n") + "\n")?;
    eprintln!("held out as oos: {}", split.held_out.join(", "));
    let d = out.display();
    println!(
        "cargo run --release -p reference-server -- eval-intents --train {d}/train.jsonl --val {d}/val.jsonl --test {d}/test.jsonl --target-oos-recall 0.8"
    );
    Ok(())
}
