//! Where verify's record pass spends its time: strict JSON parsing vs schema validation.
use std::io::BufRead;
fn main() {
    let path = std::env::args().nth(1).expect("usage: verify_probe EVENTS.jsonl");
    let f = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let lines: Vec<Vec<u8>> = f.split(b'\n').map(|l| l.expect("read")).filter(|l| !l.is_empty()).collect();
    let t = std::time::Instant::now();
    let vals: Vec<serde_json::Value> = lines.iter().map(|l| wrkr::json::parse(l).expect("json")).collect();
    println!("{} lines: strict parse {:?}", lines.len(), t.elapsed());
    let t = std::time::Instant::now();
    let _: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_slice(l).expect("json")).collect();
    println!("serde_json::from_slice {:?}", t.elapsed());
    let schema = wrkr::contract::schema::find("wrkr.event").expect("schema");
    let t = std::time::Instant::now();
    let valid = vals.iter().filter(|v| schema.validator().is_valid(v)).count();
    println!("is_valid {:?} ({valid} valid)", t.elapsed());
}
