//! The Risk Evaluate score: a documented, deterministic 0-100 sum of request signals.

use serde_json::Value;

/// Weights of each signal; the sum is capped at 100.
pub const TOR: f64 = 60.0;
pub const VPN: f64 = 25.0;
pub const DATACENTER: f64 = 20.0;
pub const BOT: f64 = 30.0;
pub const BOGON: f64 = 15.0;
/// Scaled by how unsure FingerprintJS was: `(1 - visitor_confidence)`, the full weight when it
/// could not run at all (empty `visitor_id`).
pub const FINGERPRINT: f64 = 15.0;

/// The score of `request` (the event's `request` group), rounded to an integer.
pub fn score(request: &Value) -> u32 {
    let flag = |group: &str, key: &str| {
        request
            .get(group)
            .and_then(|g| g.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let mut score = 0.0;
    if flag("asn", "is_tor") {
        score += TOR;
    }
    if flag("asn", "is_vpn") {
        score += VPN;
    }
    if flag("asn", "is_datacenter") {
        score += DATACENTER;
    }
    if flag("user_agent", "is_bot") {
        score += BOT;
    }
    if flag("asn", "is_bogon") {
        score += BOGON;
    }
    let visitor = request
        .get("visitor_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let confidence = request
        .get("visitor_confidence")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    score += if visitor.is_empty() {
        FINGERPRINT
    } else {
        FINGERPRINT * (1.0 - confidence)
    };
    score.min(100.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signals_add_up_and_cap_at_100() {
        let clean =
            json!({"asn": {}, "user_agent": {}, "visitor_id": "v1", "visitor_confidence": 1.0});
        assert_eq!(score(&clean), 0);
        let tor = json!({"asn": {"is_tor": true}, "visitor_id": "v1", "visitor_confidence": 0.8});
        assert_eq!(score(&tor), 63);
        let everything = json!({"asn": {"is_tor": true, "is_vpn": true, "is_datacenter": true, "is_bogon": true}, "user_agent": {"is_bot": true}});
        assert_eq!(score(&everything), 100);
    }
}
