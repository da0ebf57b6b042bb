//! Where wrkr-jcs spends its time: parsing vs canonical writing (ours vs serde_jcs), per phase.
use std::io::BufRead;
fn main() {
    let path = std::env::args().nth(1).expect("usage: jcs_probe FILE.jsonl");
    let f = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let lines: Vec<Vec<u8>> = f.split(b'\n').map(|l| l.expect("read")).collect();
    let t = std::time::Instant::now();
    let vals: Vec<serde_json::Value> = lines.iter().map(|l| wrkr::json::parse(l).expect("json")).collect();
    println!("strict parse      {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut n = 0;
    let mut buf = Vec::new();
    for v in &vals {
        buf.clear();
        wrkr::jcs::write_value(&mut buf, v);
        n += buf.len();
    }
    println!("wrkr jcs writer   {:?} {n}", t.elapsed());
    let t = std::time::Instant::now();
    let mut m = 0;
    for v in &vals {
        m += serde_jcs::to_vec(v).expect("jcs").len();
    }
    println!("serde_jcs         {:?} {m}", t.elapsed());
}
