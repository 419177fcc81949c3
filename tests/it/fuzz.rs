//! The short version of the fuzzing run (`examples/fuzz.rs` runs as many cases as asked; its
//! figures are in docs/RELIABILITY.md): every target, 500 hostile inputs each from a fixed
//! seed, must return without a panic.

#[path = "../../examples/support/fuzz.rs"]
mod targets;

#[test]
fn no_client_input_makes_a_normalizer_or_parser_panic() {
    let outcomes = targets::run_all(500, 20_261_207);
    assert_eq!(outcomes.len(), 9, "every target ran");
    for o in &outcomes {
        assert_eq!(o.cases, 500, "{}", o.target);
        assert_eq!(
            o.panics,
            0,
            "{} panicked: {}",
            o.target,
            o.first_panic.clone().unwrap_or_default()
        );
    }
}
