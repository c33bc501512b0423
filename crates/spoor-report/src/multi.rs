//! Several outputs in one run (a table on the terminal and an HTML file, say).
//!
//! One failing output must not cost the others: when the terminal's pipe closes, the HTML report
//! should still be written. So a failed sink is retired and its error kept for the end.

use spoor_event::{Finding, FindingSink, RunSummary};
use std::io;

struct Member<'a> {
    name: String,
    sink: Box<dyn FindingSink + 'a>,
    error: Option<io::Error>,
}

/// A [`FindingSink`] that forwards every finding to each of its members.
///
/// `write` fails only when every member has failed; `finish` is called on every member still
/// working and then returns the first error any member had, named after the member (e.g.
/// `output 'html': No space left on device`), keeping the error's kind. The errors of all
/// members are available from [`MultiSink::errors`].
#[derive(Default)]
pub struct MultiSink<'a> {
    members: Vec<Member<'a>>,
}

impl<'a> MultiSink<'a> {
    /// An empty set of outputs.
    pub fn new() -> Self {
        MultiSink {
            members: Vec::new(),
        }
    }

    /// Adds an output, named for error messages (e.g. `table`, `html`).
    pub fn push(&mut self, name: impl Into<String>, sink: Box<dyn FindingSink + 'a>) {
        self.members.push(Member {
            name: name.into(),
            sink,
            error: None,
        });
    }

    /// Builder form of [`MultiSink::push`].
    pub fn with(mut self, name: impl Into<String>, sink: Box<dyn FindingSink + 'a>) -> Self {
        self.push(name, sink);
        self
    }

    /// How many outputs there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no outputs.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The failed outputs so far, by name.
    pub fn errors(&self) -> impl Iterator<Item = (&str, &io::Error)> {
        self.members
            .iter()
            .filter_map(|m| m.error.as_ref().map(|e| (m.name.as_str(), e)))
    }

    fn first_error(&self) -> Option<io::Error> {
        self.errors()
            .next()
            .map(|(name, e)| io::Error::new(e.kind(), format!("output '{name}': {e}")))
    }
}

impl FindingSink for MultiSink<'_> {
    fn write(&mut self, finding: &Finding) -> io::Result<()> {
        for m in self.members.iter_mut().filter(|m| m.error.is_none()) {
            if let Err(e) = m.sink.write(finding) {
                m.error = Some(e);
            }
        }
        if !self.members.is_empty() && self.members.iter().all(|m| m.error.is_some()) {
            return Err(self
                .first_error()
                .unwrap_or_else(|| io::Error::other("no output")));
        }
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        for m in self.members.iter_mut().filter(|m| m.error.is_none()) {
            if let Err(e) = m.sink.finish(summary) {
                m.error = Some(e);
            }
        }
        match self.first_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        for m in self.members.iter_mut().filter(|m| m.error.is_none()) {
            if let Err(e) = m.sink.flush() {
                m.error = Some(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{Event, Position, RuleKind, RuleLevel, RuleMeta};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

    struct Counting {
        log: Rc<RefCell<Vec<String>>>,
        name: &'static str,
        fail_after: Option<usize>,
        seen: usize,
    }
    impl FindingSink for Counting {
        fn write(&mut self, _: &Finding) -> io::Result<()> {
            self.seen += 1;
            if self.fail_after.is_some_and(|n| self.seen > n) {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"));
            }
            self.log.borrow_mut().push(format!("{} write", self.name));
            Ok(())
        }
        fn finish(&mut self, _: &RunSummary) -> io::Result<()> {
            self.log.borrow_mut().push(format!("{} finish", self.name));
            Ok(())
        }
    }

    #[test]
    fn a_failed_output_does_not_stop_the_others() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mk = |name, fail_after| {
            Box::new(Counting {
                log: log.clone(),
                name,
                fail_after,
                seen: 0,
            })
        };
        let mut multi = MultiSink::new()
            .with("table", mk("table", Some(1)))
            .with("html", mk("html", None));
        let f = Finding::from_event(
            Arc::new(RuleMeta::new("r", "R", RuleLevel::Low, RuleKind::Sigma)),
            &Event::new("a", Position::Line(1)),
        );
        multi.write(&f).unwrap();
        multi.write(&f).unwrap();
        let err = multi.finish(&RunSummary::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(err.to_string().contains("output 'table'"));
        assert_eq!(
            *log.borrow(),
            ["table write", "html write", "html write", "html finish"]
        );
    }

    #[test]
    fn write_fails_when_all_failed() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut multi = MultiSink::new().with(
            "jsonl",
            Box::new(Counting {
                log,
                name: "jsonl",
                fail_after: Some(0),
                seen: 0,
            }),
        );
        let f = Finding::from_event(
            Arc::new(RuleMeta::new("r", "R", RuleLevel::Low, RuleKind::Sigma)),
            &Event::new("a", Position::Line(1)),
        );
        assert!(multi.write(&f).is_err());
        assert_eq!(multi.errors().count(), 1);
    }
}
