//! Field names shared per thread: the readers push the same dozen names millions of times, and
//! one `Arc<str>` per name per thread (a reference count bump) is much cheaper than allocating
//! each name for each event. Thread-local, so threads never contend on a shared counter.

use spoor_event::{Event, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

thread_local! {
    static NAMES: RefCell<HashMap<&'static str, Arc<str>>> = RefCell::new(HashMap::new());
}

/// The shared `Arc<str>` for a static field name.
pub(crate) fn intern(name: &'static str) -> Arc<str> {
    NAMES.with(|m| {
        m.borrow_mut()
            .entry(name)
            .or_insert_with(|| Arc::from(name))
            .clone()
    })
}

/// Appends a field under an interned static name.
pub(crate) fn push(ev: &mut Event, name: &'static str, value: impl Into<Value>) {
    ev.fields.push((intern(name), value.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_allocation_per_thread() {
        let a = intern("c-ip");
        let b = intern("c-ip");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "c-ip");
    }
}
