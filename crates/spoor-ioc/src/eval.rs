//! Evaluates compiled observations on one event. The event is first turned into a view: each
//! mapped field is looked up once and its values, transformed for each object path it feeds, are
//! kept with the field they came from (for `MatchedValue`).

use crate::ast2test::{normalize, Leaf, Op, Operand, Order, Test};
use crate::mapping::{apply, Mapping, SlotId, ValueKind};
use crate::net;
use chrono::DateTime;
use spoor_event::{Event, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

/// Longest field value considered, in bytes; longer values are cut at a character boundary
/// (bounds the work per event on hostile input).
const MAX_VALUE_LEN: usize = 64 * 1024;
/// Most array elements of one field considered.
const MAX_ARRAY_ITEMS: usize = 1024;

/// One value of an object path in an event.
#[derive(Debug, Clone)]
pub(crate) struct SlotValue<'e> {
    /// The path.
    pub(crate) slot: SlotId,
    /// Index of the event field it came from.
    pub(crate) field: usize,
    /// The value (after the field's transform).
    pub(crate) text: Cow<'e, str>,
}

/// The mapped values of one event.
#[derive(Debug, Default)]
pub(crate) struct EventView<'e> {
    /// All values, in field order.
    pub(crate) values: Vec<SlotValue<'e>>,
}

impl<'e> EventView<'e> {
    /// Builds the view of `event`.
    pub(crate) fn new(mapping: &Mapping, event: &'e Event) -> EventView<'e> {
        let mut values = Vec::new();
        for (i, (name, value)) in event.fields.iter().enumerate() {
            let Some(roles) = mapping.by_field.get(&**name) else {
                continue;
            };
            let mut push_text = |text: Cow<'e, str>| {
                let text = cap(text);
                for &(slot, transform) in roles {
                    let sub = match &text {
                        Cow::Borrowed(b) => apply(transform, b).map(Cow::Borrowed),
                        Cow::Owned(o) => apply(transform, o).map(|s| Cow::Owned(s.to_string())),
                    };
                    if let Some(sub) = sub {
                        values.push(SlotValue {
                            slot,
                            field: i,
                            text: sub,
                        });
                    }
                }
            };
            match value {
                Value::Array(items) => {
                    for item in items.iter().take(MAX_ARRAY_ITEMS) {
                        if let Some(t) = item.as_text() {
                            push_text(t);
                        }
                    }
                }
                other => {
                    if let Some(t) = other.as_text() {
                        push_text(t);
                    }
                }
            }
        }
        EventView { values }
    }
}

fn cap(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.len() <= MAX_VALUE_LEN {
        return text;
    }
    let mut end = MAX_VALUE_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(..end).unwrap_or(b)),
        Cow::Owned(mut o) => {
            o.truncate(end);
            Cow::Owned(o)
        }
    }
}

/// Whether `test` holds on the view; the values that made it hold are appended to `matched` as
/// indexes into `view.values` (nothing is appended when it does not hold).
pub(crate) fn holds(test: &Test, view: &EventView<'_>, matched: &mut Vec<usize>) -> bool {
    let mark = matched.len();
    let ok = match test {
        Test::And(items) => items.iter().all(|t| holds(t, view, matched)),
        Test::Or(items) => items.iter().any(|t| holds(t, view, matched)),
        Test::Leaf(leaf) => {
            let hit = view
                .values
                .iter()
                .position(|v| v.slot == leaf.slot && leaf_holds(leaf, &v.text));
            if let Some(i) = hit {
                matched.push(i);
            }
            hit.is_some()
        }
    };
    if !ok {
        matched.truncate(mark);
    }
    ok
}

/// One comparison on one value. A path that is absent makes every comparison false, `NOT` included.
pub(crate) fn leaf_holds(leaf: &Leaf, text: &str) -> bool {
    let raw = match &leaf.op {
        Op::Exists => true,
        Op::Eq(o) => equals(leaf.kind, text, o),
        Op::Ne(o) => !equals(leaf.kind, text, o),
        Op::In(items) => items.iter().any(|o| equals(leaf.kind, text, o)),
        Op::Cmp(order, o) => match compare(leaf.kind, text, o) {
            Some(ord) => match order {
                Order::Lt => ord == Ordering::Less,
                Order::Le => ord != Ordering::Greater,
                Order::Gt => ord == Ordering::Greater,
                Order::Ge => ord != Ordering::Less,
            },
            None => false,
        },
        Op::Regex(re) => re.is_match(text),
        Op::Subset(n) => net::parse_loose(text).is_some_and(|v| v.is_subset_of(n)),
        Op::Superset(n) => net::parse_loose(text).is_some_and(|v| n.is_subset_of(&v)),
    };
    raw != leaf.negated
}

fn equals(kind: ValueKind, text: &str, o: &Operand) -> bool {
    match o {
        Operand::Text(t) => normalize(kind, text) == t.as_str(),
        Operand::Num(n) => text.trim().parse::<f64>().is_ok_and(|v| v == *n),
        Operand::Net(n) => net::parse_loose(text).is_some_and(|v| v == *n),
        Operand::Bool(b) => text
            .trim()
            .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Operand::Time(t) => DateTime::parse_from_rfc3339(text.trim()).is_ok_and(|v| v == *t),
        Operand::Bytes(b) => text.as_bytes() == b.as_slice(),
    }
}

fn compare(kind: ValueKind, text: &str, o: &Operand) -> Option<Ordering> {
    match o {
        Operand::Text(t) => Some(normalize(kind, text).as_ref().cmp(t.as_str())),
        Operand::Num(n) => text.trim().parse::<f64>().ok()?.partial_cmp(n),
        Operand::Time(t) => Some(
            DateTime::parse_from_rfc3339(text.trim())
                .ok()?
                .to_utc()
                .cmp(t),
        ),
        Operand::Bytes(b) => Some(text.as_bytes().cmp(b.as_slice())),
        Operand::Net(_) | Operand::Bool(_) => None,
    }
}
