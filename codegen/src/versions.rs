//! Version ranges as the schemas write them: `"3"`, `"1+"`, `"0-4"`, `"none"`.

use std::fmt;

/// An inclusive version range. `hi == i16::MAX` means open-ended (`"N+"`).
/// The empty range is `Versions::NONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versions {
    pub lo: i16,
    pub hi: i16,
}

pub const OPEN: i16 = i16::MAX;

impl Versions {
    pub const NONE: Versions = Versions { lo: 1, hi: 0 };
    pub const ALL: Versions = Versions { lo: 0, hi: OPEN };

    pub const fn new(lo: i16, hi: i16) -> Self {
        Versions { lo, hi }
    }

    /// Parses the schema syntax. `None` on anything else.
    pub fn parse(s: &str) -> Option<Versions> {
        let s = s.trim();
        if s == "none" {
            return Some(Versions::NONE);
        }
        if let Some(lo) = s.strip_suffix('+') {
            let lo: i16 = lo.trim().parse().ok()?;
            return (lo >= 0).then_some(Versions::new(lo, OPEN));
        }
        if let Some((a, b)) = s.split_once('-') {
            let lo: i16 = a.trim().parse().ok()?;
            let hi: i16 = b.trim().parse().ok()?;
            return (lo >= 0 && lo <= hi).then_some(Versions::new(lo, hi));
        }
        let v: i16 = s.parse().ok()?;
        (v >= 0).then_some(Versions::new(v, v))
    }

    pub fn is_empty(&self) -> bool {
        self.lo > self.hi
    }

    pub fn is_open(&self) -> bool {
        !self.is_empty() && self.hi == OPEN
    }

    pub fn contains(&self, v: i16) -> bool {
        self.lo <= v && v <= self.hi
    }

    /// Whether every version of `other` is in `self` (the empty range is in
    /// every range).
    pub fn contains_range(&self, other: &Versions) -> bool {
        other.is_empty() || (self.lo <= other.lo && other.hi <= self.hi)
    }

    pub fn intersect(&self, other: &Versions) -> Versions {
        let v = Versions::new(self.lo.max(other.lo), self.hi.min(other.hi));
        if v.is_empty() {
            Versions::NONE
        } else {
            v
        }
    }

    /// `self` minus `other`, when that is one range (it always is for the
    /// pairs the schemas use); `None` when it would split in two.
    pub fn subtract(&self, other: &Versions) -> Option<Versions> {
        let o = self.intersect(other);
        if o.is_empty() {
            return Some(*self);
        }
        if o == *self {
            return Some(Versions::NONE);
        }
        if o.lo == self.lo {
            Some(Versions::new(o.hi + 1, self.hi))
        } else if o.hi == self.hi {
            Some(Versions::new(self.lo, o.lo - 1))
        } else {
            None
        }
    }
}

impl fmt::Display for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("none")
        } else if self.hi == OPEN {
            write!(f, "{}+", self.lo)
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(Versions::parse("3"), Some(Versions::new(3, 3)));
        assert_eq!(Versions::parse("1+"), Some(Versions::new(1, OPEN)));
        assert_eq!(Versions::parse("0-4"), Some(Versions::new(0, 4)));
        assert_eq!(Versions::parse("none"), Some(Versions::NONE));
        assert_eq!(Versions::parse("4-1"), None);
        assert_eq!(Versions::parse("-1"), None);
        assert_eq!(Versions::parse("x"), None);
    }

    #[test]
    fn set_operations() {
        let a = Versions::new(0, 9);
        assert_eq!(a.intersect(&Versions::new(5, OPEN)), Versions::new(5, 9));
        assert!(a.intersect(&Versions::new(10, OPEN)).is_empty());
        assert_eq!(
            a.subtract(&Versions::new(5, OPEN)),
            Some(Versions::new(0, 4))
        );
        assert_eq!(a.subtract(&Versions::new(0, 2)), Some(Versions::new(3, 9)));
        assert_eq!(a.subtract(&Versions::new(2, 3)), None);
        assert!(a.contains_range(&Versions::NONE));
        assert_eq!(Versions::new(2, OPEN).to_string(), "2+");
    }
}
