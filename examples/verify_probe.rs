//! Where verify's record pass spends its time: strict `Value` parsing and validation (the findings
//! path) vs the reusable tape (the fast path every record takes first).
use std::io::BufRead;
fn main() {
    let path = std::env::args().nth(1).expect("usage: verify_probe EVENTS.jsonl");
    let f = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let lines: Vec<Vec<u8>> = f.split(b'\n').map(|l| l.expect("read")).filter(|l| !l.is_empty()).collect();
    let schema = wrkr::contract::schema::find("wrkr.event").expect("schema");
    let t = std::time::Instant::now();
    let vals: Vec<serde_json::Value> = lines.iter().map(|l| wrkr::json::parse(l).expect("json")).collect();
    println!("{} lines: strict parse {:?}", lines.len(), t.elapsed());
    let t = std::time::Instant::now();
    let valid = vals.iter().filter(|v| schema.validator().is_valid(*v)).count();
    println!("is_valid {:?} ({valid} valid)", t.elapsed());
    let mut tape = wrkr::json::tape::Tape::new();
    let t = std::time::Instant::now();
    for l in &lines {
        tape.parse(l).expect("json");
    }
    println!("tape parse {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut valid = 0;
    for l in &lines {
        tape.parse(l).expect("json");
        valid += usize::from(tape.root().is_some_and(|root| schema.is_valid_tape(root)));
    }
    println!("tape parse + is_valid_tape {:?} ({valid} valid)", t.elapsed());
}
