//! Every input the fuzzers found a bug with, replayed through the same property check
//! on every `make test` (see `fuzz/` and `make fuzz`). File names say what each broke.

mod support;

use std::fs;

#[test]
fn every_request_head_the_fuzzer_found_now_passes() {
    let directory = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz_regressions/request_head"
    );
    let mut replayed = 0;
    for entry in fs::read_dir(directory).expect("the regression folder exists") {
        let path = entry.expect("readable folder").path();
        let input = fs::read(&path).expect("readable input");
        let outcome = std::panic::catch_unwind(|| support::head_check::check_request_head(&input));
        assert!(outcome.is_ok(), "{} fails again", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "no regression inputs found in {directory}");
}
