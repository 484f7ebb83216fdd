//! Hybrid logical clocks: the order of edits made on devices whose wall clocks cannot be
//! trusted. A clock is (wall milliseconds, counter, node); it never goes backwards on a
//! device (it is persisted and only ever advanced), it moves past every clock the device
//! has seen from others, and the node breaks ties, so two edits never compare equal.
//!
//! The text form sorts like the clock, so stores can compare clocks as strings:
//! `0001732406400000-0000-<node>`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as the device believed it.
    pub wall_ms: i64,
    /// Orders edits within one millisecond, and after a clock stepped backwards.
    pub counter: u32,
    /// The device that made the edit (its id, without dashes is fine): breaks ties.
    pub node: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a clock (expected WALL-COUNTER-NODE)")]
pub struct HlcParseError(String);

impl Hlc {
    /// The clock for a new local edit: after `last` (the newest clock this device has
    /// made or seen) and at least `now_ms`.
    pub fn tick(last: Option<&Hlc>, now_ms: i64, node: &str) -> Hlc {
        match last {
            Some(last) if last.wall_ms >= now_ms => {
                Hlc { wall_ms: last.wall_ms, counter: last.counter.saturating_add(1), node: node.to_string() }
            }
            _ => Hlc { wall_ms: now_ms.max(0), counter: 0, node: node.to_string() },
        }
    }

    /// The later of two clocks (what a device remembers after seeing `other`).
    pub fn max_of(a: Option<Hlc>, b: Option<Hlc>) -> Option<Hlc> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b > a { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// A clock from a device whose wall clock ran ahead of `now_ms` by more than
    /// `tolerance_ms` is brought back to `now_ms`: otherwise its edits would beat every
    /// later edit until real time caught up with it.
    pub fn clamped(self, now_ms: i64, tolerance_ms: i64) -> Hlc {
        if self.wall_ms > now_ms + tolerance_ms { Hlc { wall_ms: now_ms, ..self } } else { self }
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, &self.node).cmp(&(other.wall_ms, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}-{:04x}-{}", self.wall_ms, self.counter, self.node)
    }
}

impl FromStr for Hlc {
    type Err = HlcParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || HlcParseError(s.chars().take(80).collect());
        let mut parts = s.splitn(3, '-');
        let (wall, counter, node) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        if wall.len() != 16 || counter.len() != 4 || node.is_empty() || node.len() > 64 {
            return Err(bad());
        }
        Ok(Hlc {
            wall_ms: wall.parse().map_err(|_| bad())?,
            counter: u32::from_str_radix(counter, 16).map_err(|_| bad())?,
            node: node.to_string(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_clock_order() {
        let clocks = [
            Hlc { wall_ms: 5, counter: 0, node: "b".into() },
            Hlc { wall_ms: 5, counter: 1, node: "a".into() },
            Hlc { wall_ms: 1_732_406_400_000, counter: 0, node: "a".into() },
            Hlc { wall_ms: 1_732_406_400_000, counter: 16, node: "a".into() },
        ];
        for pair in clocks.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].to_string() < pair[1].to_string());
            assert_eq!(pair[1].to_string().parse::<Hlc>().unwrap(), pair[1]);
        }
        assert!("12-0000-a".parse::<Hlc>().is_err());
    }

    #[test]
    fn a_clock_stepping_backwards_still_moves_forwards() {
        let first = Hlc::tick(None, 10_000, "n");
        let after_step_back = Hlc::tick(Some(&first), 4_000, "n");
        assert!(after_step_back > first);
        assert_eq!(after_step_back.wall_ms, 10_000);
        let later = Hlc::tick(Some(&after_step_back), 20_000, "n");
        assert_eq!((later.wall_ms, later.counter), (20_000, 0));
    }

    #[test]
    fn a_clock_from_the_future_is_brought_back() {
        let day = 86_400_000;
        let ahead = Hlc { wall_ms: 1_000 + day, counter: 3, node: "x".into() };
        assert_eq!(ahead.clone().clamped(1_000, 60_000).wall_ms, 1_000);
        let slightly = Hlc { wall_ms: 1_500, counter: 0, node: "x".into() };
        assert_eq!(slightly.clone().clamped(1_000, 60_000), slightly);
    }
}
