//! JSON Schema validation of exported documents (OSV, SARIF).

use serde_json::Value;

/// Fails, listing every violation and where it is, unless `doc` validates against
/// the JSON Schema text `schema`; `what` names the document in the message.
pub fn validate(doc: &Value, schema: &str, what: &str) {
    let schema: Value = serde_json::from_str(schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} schema violations:\n{}",
        errors.join("\n")
    );
}
