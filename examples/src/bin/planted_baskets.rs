//! Writes generated baskets with planted pairs, one basket a line, items
//! separated by commas, for `reference-server eval-recommendations`:
//! `cargo run -p examples --bin planted_baskets [FILE] [BASKETS] [SEED]`
//! (default `target/planted-baskets.txt`, 20,000 baskets, seed 11).
//!
//! 500 products with skewed popularity; 40 pairs among the less popular
//! half go together nine times in ten (the README's protocol).

use std::io::Write;

use whatsapp_crm_core::recommend::planted_baskets;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "target/planted-baskets.txt".into());
    let count: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(11), |a| a.parse())?;
    let (baskets, pairs) = planted_baskets(500, count, 40, seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for b in &baskets {
        let line: Vec<String> = b.iter().map(|i| format!("p{i}")).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    println!("wrote {} baskets with {} planted pairs to {path}", baskets.len(), pairs.len());
    Ok(())
}
