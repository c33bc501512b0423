//! Prints the events of the files given, one JSON object per line (for looking at a reader's output).
fn main() {
    let opts = spoor_input::ReadOptions::default();
    for p in std::env::args().skip(1) {
        let stats = spoor_input::read_path(&p, &opts, |e| {
            let fields: serde_json::Map<String, serde_json::Value> = e
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            println!(
                "{:?} {:?} {}",
                e.timestamp,
                e.logsource,
                serde_json::Value::Object(fields)
            );
        });
        eprintln!("{stats:?}");
    }
}
