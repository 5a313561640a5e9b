//! Reporting periods as Vietnamese reports name them: a month ("tháng 11/2026"), a quarter
//! ("quý III/2026"), a half year ("6 tháng đầu năm 2026") or a year. Written in the API and the
//! store as `2026-11`, `2026-Q3`, `2026-H1` and `2026`, which sort in time within one kind.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How often an indicator is reported; real-time ones are computed from the hub and reported
/// by month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Month,
    Quarter,
    HalfYear,
    Year,
    RealTime,
}

impl Frequency {
    pub fn parse(text: &str) -> Option<Frequency> {
        Some(match text {
            "month" | "monthly" => Frequency::Month,
            "quarter" | "quarterly" => Frequency::Quarter,
            "half_year" | "6_months" => Frequency::HalfYear,
            "year" | "yearly" => Frequency::Year,
            "real_time" | "realtime" => Frequency::RealTime,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Frequency::Month => "month",
            Frequency::Quarter => "quarter",
            Frequency::HalfYear => "half_year",
            Frequency::Year => "year",
            Frequency::RealTime => "real_time",
        }
    }

    /// The kind of period the indicator's figures are kept by.
    pub fn period_kind(&self) -> PeriodKind {
        match self {
            Frequency::Month | Frequency::RealTime => PeriodKind::Month,
            Frequency::Quarter => PeriodKind::Quarter,
            Frequency::HalfYear => PeriodKind::Half,
            Frequency::Year => PeriodKind::Year,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    Half,
    Year,
}

impl PeriodKind {
    /// How many periods of this kind make a year.
    pub fn per_year(&self) -> u8 {
        match self {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
            PeriodKind::Half => 2,
            PeriodKind::Year => 1,
        }
    }

    fn months(&self) -> u8 {
        12 / self.per_year()
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Half => "half",
            PeriodKind::Year => "year",
        }
    }
}

/// One period: `index` counts from 1 within the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub year: i16,
    pub kind: PeriodKind,
    pub index: u8,
}

impl Period {
    pub fn new(year: i16, kind: PeriodKind, index: u8) -> Option<Period> {
        (index >= 1 && index <= kind.per_year() && (1900..=2200).contains(&year)).then_some(Period {
            year,
            kind,
            index,
        })
    }

    pub fn year_of(year: i16) -> Period {
        Period { year, kind: PeriodKind::Year, index: 1 }
    }

    /// Parses `2026-11`, `2026-Q3`, `2026-H1` or `2026`.
    pub fn parse(text: &str) -> Option<Period> {
        let text = text.trim();
        let (year, rest) = match text.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (text, None),
        };
        if year.len() != 4 {
            return None;
        }
        let year: i16 = year.parse().ok()?;
        let (kind, index) = match rest {
            None => (PeriodKind::Year, 1),
            Some(r) if r.starts_with(['Q', 'q']) => (PeriodKind::Quarter, r[1..].parse().ok()?),
            Some(r) if r.starts_with(['H', 'h']) => (PeriodKind::Half, r[1..].parse().ok()?),
            Some(r) if r.len() == 2 => (PeriodKind::Month, r.parse().ok()?),
            Some(_) => return None,
        };
        Period::new(year, kind, index)
    }

    /// The period of `kind` that contains `date`.
    pub fn containing(kind: PeriodKind, date: Date) -> Period {
        let month0 = (date.month() - 1) as u8;
        Period { year: date.year(), kind, index: month0 / kind.months() + 1 }
    }

    pub fn first_day(&self) -> Date {
        let month = (self.index - 1) * self.kind.months() + 1;
        Date::new(self.year, month as i8, 1).unwrap_or(Date::MIN)
    }

    /// The first day after the period.
    pub fn end(&self) -> Date {
        self.next().first_day()
    }

    pub fn last_day(&self) -> Date {
        self.end().yesterday().unwrap_or(Date::MIN)
    }

    pub fn next(&self) -> Period {
        if self.index >= self.kind.per_year() {
            Period { year: self.year + 1, kind: self.kind, index: 1 }
        } else {
            Period { index: self.index + 1, ..*self }
        }
    }

    pub fn previous(&self) -> Period {
        if self.index <= 1 {
            Period { year: self.year - 1, kind: self.kind, index: self.kind.per_year() }
        } else {
            Period { index: self.index - 1, ..*self }
        }
    }

    /// The same period of the year before ("cùng kỳ năm trước").
    pub fn same_last_year(&self) -> Period {
        Period { year: self.year - 1, ..*self }
    }

    /// The periods of the year from the first up to this one, in order.
    pub fn year_to_date(&self) -> impl Iterator<Item = Period> + '_ {
        (1..=self.index).map(move |index| Period { index, ..*self })
    }

    /// The periods of `kind` in `year`.
    pub fn of_year(year: i16, kind: PeriodKind) -> impl Iterator<Item = Period> {
        (1..=kind.per_year()).map(move |index| Period { year, kind, index })
    }

    /// Periods from `self` to `to` inclusive (same kind), in order.
    pub fn through(self, to: Period) -> Vec<Period> {
        let mut out = Vec::new();
        let mut p = self;
        while p <= to && p.kind == to.kind && out.len() < 1200 {
            out.push(p);
            p = p.next();
        }
        out
    }

    /// Share of the year elapsed at the period's end, for pro-rata expectations.
    pub fn share_of_year(&self) -> f64 {
        f64::from(self.index) / f64::from(self.kind.per_year())
    }

    /// "tháng 11/2026", "quý III/2026", "6 tháng đầu năm 2026", "năm 2026".
    pub fn label_vi(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("tháng {}/{}", self.index, self.year),
            PeriodKind::Quarter => format!("quý {}/{}", roman(self.index), self.year),
            PeriodKind::Half if self.index == 1 => format!("6 tháng đầu năm {}", self.year),
            PeriodKind::Half => format!("6 tháng cuối năm {}", self.year),
            PeriodKind::Year => format!("năm {}", self.year),
        }
    }

    pub fn label_en(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{:02}/{}", self.index, self.year),
            PeriodKind::Quarter => format!("Q{} {}", self.index, self.year),
            PeriodKind::Half => format!("H{} {}", self.index, self.year),
            PeriodKind::Year => format!("{}", self.year),
        }
    }
}

fn roman(n: u8) -> &'static str {
    ["I", "II", "III", "IV"].get(usize::from(n.saturating_sub(1))).copied().unwrap_or("?")
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{}-{:02}", self.year, self.index),
            PeriodKind::Quarter => write!(f, "{}-Q{}", self.year, self.index),
            PeriodKind::Half => write!(f, "{}-H{}", self.year, self.index),
            PeriodKind::Year => write!(f, "{}", self.year),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = String::deserialize(d)?;
        Period::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("'{text}' is not a period (2026-11, 2026-Q3, 2026-H1, 2026)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn periods_round_trip_through_their_text() {
        for text in ["2026-11", "2026-01", "2026-Q3", "2026-H1", "2026-H2", "2026"] {
            assert_eq!(Period::parse(text).unwrap().to_string(), text);
        }
        for bad in ["2026-13", "2026-Q5", "2026-H3", "26-01", "2026-1", "2026-M1", "", "abcd"] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn periods_know_their_days_neighbours_and_labels() {
        let q3 = Period::parse("2026-Q3").unwrap();
        assert_eq!(q3.first_day(), date(2026, 7, 1));
        assert_eq!(q3.last_day(), date(2026, 9, 30));
        assert_eq!(q3.label_vi(), "quý III/2026");
        let dec = Period::parse("2025-12").unwrap();
        assert_eq!(dec.next().to_string(), "2026-01");
        assert_eq!(dec.next().previous(), dec);
        assert_eq!(dec.same_last_year().to_string(), "2024-12");
        assert_eq!(Period::containing(PeriodKind::Half, date(2026, 7, 1)).to_string(), "2026-H2");
        assert_eq!(Period::parse("2026-H1").unwrap().label_vi(), "6 tháng đầu năm 2026");
        assert_eq!(Period::parse("2026-09").unwrap().share_of_year(), 0.75);
        assert_eq!(q3.year_to_date().count(), 3);
        let span = Period::parse("2025-11").unwrap().through(Period::parse("2026-02").unwrap());
        assert_eq!(span.len(), 4);
    }
}
