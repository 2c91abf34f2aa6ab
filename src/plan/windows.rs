//! Splitting a request that is too large for one query: date windows and ID batches.

use jiff::ToSpan;
use jiff::civil::Date;

/// `since..=until` cut into windows whose `end - start` is at most `max_span_days`, newest first.
pub fn date_windows(since: Date, until: Date, max_span_days: i64) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut end = until;
    while end >= since {
        let start = end
            .checked_sub(max_span_days.days())
            .map_or(since, |s| s.max(since));
        out.push((start, end));
        match start.yesterday() {
            Ok(prev) => end = prev,
            Err(_) => break,
        }
    }
    out
}

/// `items` cut into batches of at most `size`.
pub fn batches<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    items.chunks(size.max(1)).map(<[T]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().expect("date")
    }

    #[test]
    fn windows_cover_every_day_once_within_the_span() {
        let (since, until) = (d("2020-02-10"), d("2023-08-31"));
        let w = date_windows(since, until, 366);
        assert_eq!(w.first().map(|x| x.1), Some(until));
        assert_eq!(w.last().map(|x| x.0), Some(since));
        for pair in w.windows(2) {
            assert_eq!(
                pair[1].1.tomorrow().expect("day"),
                pair[0].0,
                "gap or overlap"
            );
        }
        for (s, e) in &w {
            assert!((*e - *s).get_days() <= 366 && s <= e);
        }
        assert_eq!(date_windows(d("2024-01-01"), d("2024-01-01"), 366).len(), 1);
        assert!(date_windows(d("2024-01-02"), d("2024-01-01"), 366).is_empty());
    }

    #[test]
    fn batches_keep_order_and_size() {
        let ids: Vec<u32> = (0..250).collect();
        let b = batches(&ids, 100);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert_eq!(b.concat(), ids);
    }
}
