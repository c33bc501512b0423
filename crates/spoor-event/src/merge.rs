//! One k-way merge for every sorted run spoor spills. The timeline sorter and the correlation
//! input buffer both sort what they hold, write it to temporary files past a budget and read the
//! files back in order; what differs is the record and its order, so the merge is written once
//! here, over any [`SortedSource`] and any order function.
//!
//! The merge is stable: of two records that compare equal, the one from the lower source comes
//! first, so a caller that numbers its sources in the order they were written keeps input order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;

/// A source of records already in order (a run read back, or a sorted buffer).
pub trait SortedSource {
    /// What the source yields.
    type Item;
    /// The next record, or `None` at the end.
    fn next_item(&mut self) -> io::Result<Option<Self::Item>>;
}

impl<T> SortedSource for std::vec::IntoIter<T> {
    type Item = T;
    fn next_item(&mut self) -> io::Result<Option<T>> {
        Ok(self.next())
    }
}

/// The merge of sorted sources in one order, one record at a time.
pub struct KWayMerge<S: SortedSource> {
    sources: Vec<S>,
    heap: BinaryHeap<Head<S::Item>>,
}

/// The head of one source. The heap pops the greatest, so the comparison is reversed.
struct Head<T> {
    item: T,
    source: usize,
    order: fn(&T, &T) -> Ordering,
}

impl<T> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Head<T> {}
impl<T> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.order)(&other.item, &self.item).then_with(|| other.source.cmp(&self.source))
    }
}

impl<S: SortedSource> KWayMerge<S> {
    /// Merges `sources`, each sorted by `order`; ties go to the lower source.
    pub fn new(mut sources: Vec<S>, order: fn(&S::Item, &S::Item) -> Ordering) -> io::Result<Self> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (source, s) in sources.iter_mut().enumerate() {
            if let Some(item) = s.next_item()? {
                heap.push(Head {
                    item,
                    source,
                    order,
                });
            }
        }
        Ok(KWayMerge { sources, heap })
    }

    /// The next record of the merge, or `None` when every source is done.
    pub fn next_item(&mut self) -> io::Result<Option<S::Item>> {
        let Some(Head {
            item,
            source,
            order,
        }) = self.heap.pop()
        else {
            return Ok(None);
        };
        if let Some(src) = self.sources.get_mut(source) {
            if let Some(next) = src.next_item()? {
                self.heap.push(Head {
                    item: next,
                    source,
                    order,
                });
            }
        }
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that fails after `ok` records.
    struct Failing {
        left: Vec<u32>,
        ok: usize,
    }

    impl SortedSource for Failing {
        type Item = u32;
        fn next_item(&mut self) -> io::Result<Option<u32>> {
            if self.ok == 0 {
                return Err(io::Error::other("damaged run"));
            }
            self.ok -= 1;
            Ok(if self.left.is_empty() {
                None
            } else {
                Some(self.left.remove(0))
            })
        }
    }

    #[test]
    fn merges_in_order_and_ties_keep_source_order() {
        // (key, source tag): equal keys must come out in source order.
        let a = vec![(1, 'a'), (3, 'a'), (3, 'a'), (9, 'a')];
        let b = vec![(0, 'b'), (3, 'b'), (8, 'b')];
        let c: Vec<(u32, char)> = Vec::new();
        let d = vec![(3, 'd'), (10, 'd')];
        let order: fn(&(u32, char), &(u32, char)) -> Ordering = |x, y| x.0.cmp(&y.0);
        let sources = vec![a.into_iter(), b.into_iter(), c.into_iter(), d.into_iter()];
        let mut m = KWayMerge::new(sources, order).expect("in memory");
        let mut out = Vec::new();
        while let Some(x) = m.next_item().expect("in memory") {
            out.push(x);
        }
        let want = vec![
            (0, 'b'),
            (1, 'a'),
            (3, 'a'),
            (3, 'a'),
            (3, 'b'),
            (3, 'd'),
            (8, 'b'),
            (9, 'a'),
            (10, 'd'),
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn a_failing_source_is_an_error() {
        let order: fn(&u32, &u32) -> Ordering = Ord::cmp;
        let sources = vec![Failing {
            left: vec![1, 2, 3],
            ok: 2,
        }];
        let mut m = KWayMerge::new(sources, order).expect("first record reads");
        assert_eq!(m.next_item().expect("second record reads"), Some(1));
        assert!(m.next_item().is_err());
    }
}
