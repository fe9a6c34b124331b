//! Every message at every valid version round-trips with arbitrary values
//! valid for that version (Kafka's `MessageTest.testAllMessageRoundTrips`,
//! randomized). proptest drives the seed, so a failure names the message,
//! version and seed to replay.

use kwire::dispatch::{round_trip, MESSAGES};
use kwire::testing::Gen;
use proptest::prelude::*;

fn all_versions() -> Vec<(&'static str, i16)> {
    MESSAGES
        .iter()
        .flat_map(|(name, r)| (r.min..=r.max).map(move |v| (*name, v)))
        .collect()
}

#[test]
fn every_message_and_version_is_covered() {
    let all = all_versions();
    // 4.4: 91 APIs x 2 plus headers and data messages; over 600 versions.
    assert!(MESSAGES.len() >= 190, "{}", MESSAGES.len());
    assert!(all.len() >= 600, "{}", all.len());
    assert!(MESSAGES.iter().any(|(n, _)| *n == "RequestHeader"));
    assert!(MESSAGES
        .iter()
        .any(|(n, _)| *n == "ConsumerProtocolSubscription"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn round_trip_every_message_every_version(seed in any::<u64>()) {
        for (name, version) in all_versions() {
            let mut g = Gen::new(seed ^ (version as u64) << 48);
            if let Err(e) = round_trip(name, version, &mut g) {
                prop_assert!(false, "{name} v{version} seed {seed}: {e}");
            }
        }
    }

    #[test]
    fn round_trip_with_larger_values(seed in any::<u64>()) {
        for (name, version) in all_versions() {
            let mut g = Gen::new(seed);
            g.max_array = 16;
            g.max_len = 300;
            if let Err(e) = round_trip(name, version, &mut g) {
                prop_assert!(false, "{name} v{version} seed {seed}: {e}");
            }
        }
    }
}
