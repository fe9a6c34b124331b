//! A topic partition, ordered the way Kafka's Java client orders them.

use std::cmp::Ordering;
use std::fmt;

/// Compares two strings as Java's `String.compareTo` does: by UTF-16 code
/// units. Rust's `str` order is by code point, which differs for characters
/// above U+FFFF against U+E000..U+FFFF; member ids and instance ids are
/// arbitrary text, and the assignors must sort members exactly as Kafka's
/// leader would so that every client computes the same assignment.
pub fn java_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A topic name and a partition index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Topic (Java order), then partition: Kafka's `TopicPartitionComparator`.
impl Ord for TopicPartition {
    fn cmp(&self, other: &Self) -> Ordering {
        java_cmp(&self.topic, &other.topic).then(self.partition.cmp(&other.partition))
    }
}

impl PartialOrd for TopicPartition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            crate::escape::escape(&self.topic),
            self.partition
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_order_is_utf16_order() {
        // U+FF61 sorts after U+1F600 by code point but before it in UTF-16
        // (the surrogate 0xD83D < 0xFF61).
        let a = "\u{1F600}";
        let b = "\u{FF61}";
        assert_eq!(a.cmp(b), Ordering::Greater);
        assert_eq!(java_cmp(a, b), Ordering::Less);
        assert_eq!(java_cmp("a", "b"), Ordering::Less);
        assert_eq!(java_cmp("b", "b"), Ordering::Equal);
    }

    #[test]
    fn partitions_order_by_topic_then_index() {
        let mut v = vec![
            TopicPartition::new("b", 0),
            TopicPartition::new("a", 10),
            TopicPartition::new("a", 2),
        ];
        v.sort();
        assert_eq!(
            v,
            vec![
                TopicPartition::new("a", 2),
                TopicPartition::new("a", 10),
                TopicPartition::new("b", 0)
            ]
        );
    }
}
