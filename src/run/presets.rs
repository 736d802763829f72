//! Built-in event presets, as the console's Test pane offers them. Each is an event file
//! (see `event`) shipped inside the binary.

/// Name, one-line description, and the event file's JSON.
pub static PRESETS: &[(&str, &str, &str)] = &[
    (
        "logged-in-us-user",
        "Ada, a password user in San Francisco, with her directory entry and credentials",
        include_str!("presets/logged-in-us-user.json"),
    ),
    (
        "unauthenticated",
        "A request with no identity and no credentials",
        include_str!("presets/unauthenticated.json"),
    ),
    (
        "tor-exit-node",
        "Ada signing in from a Tor exit node",
        include_str!("presets/tor-exit-node.json"),
    ),
    (
        "vpn-datacenter",
        "Ada signing in through a commercial VPN hosted in a datacenter",
        include_str!("presets/vpn-datacenter.json"),
    ),
    (
        "private-ip",
        "Ada from a private (bogon) IP: empty geo fields, lat/long 0",
        include_str!("presets/private-ip.json"),
    ),
    (
        "mfa-enrolled-user",
        "Grace, with a TOTP factor enrolled and a valid code at the simulated time",
        include_str!("presets/mfa-enrolled-user.json"),
    ),
    (
        "restricted-region",
        "Ada signing in from Moscow (country RU)",
        include_str!("presets/restricted-region.json"),
    ),
];

/// The JSON of a preset by name.
pub fn find(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, json)| *json)
}

/// Every preset name, for messages.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{crypto, directory::Directory, event};

    /// A preset whose user has a TOTP factor carries a code that verifies at its own `now`, and
    /// its secret has at least 160 bits.
    #[test]
    fn every_preset_that_needs_an_otp_has_one_that_works() {
        let mut with_otp = 0;
        for (name, _, text) in PRESETS {
            let sim = event::parse(serde_json::from_str(text).unwrap()).unwrap();
            let Some(identifier) = sim.credentials.identifier.as_deref() else {
                continue;
            };
            let user = Directory::find_in(&sim.directory, identifier)
                .unwrap_or_else(|| panic!("{name}: no directory entry for {identifier}"));
            let Some(secret) = &user.totp_secret else {
                assert!(
                    sim.credentials.otp.is_none(),
                    "{name}: an OTP without a factor"
                );
                continue;
            };
            let key = crypto::base32_decode(secret).unwrap();
            // RFC 4226 section 4 requires 128 bits and recommends 160 (the HMAC-SHA-1 size).
            assert!(
                key.len() >= 20,
                "{name}: a {}-bit TOTP secret",
                key.len() * 8
            );
            let otp = sim.credentials.otp.as_deref();
            let otp = otp.unwrap_or_else(|| panic!("{name}: a TOTP user without an OTP"));
            assert!(crypto::verify_totp(&key, otp, sim.now), "{name}: OTP fails");
            with_otp += 1;
        }
        assert_eq!(with_otp, 2, "mfa-enrolled-user and restricted-region");
    }
}
