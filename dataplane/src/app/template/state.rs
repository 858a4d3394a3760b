//! The template protocol's state: the request line waiting for its answer.

use super::parse::{self, MAX_LINE};
use super::record;
use crate::app::{Cx, Step};
use crate::record::RecordOut;

/// State of one flow.
#[derive(Debug, Default)]
pub struct Lines {
    /// When the waiting request came, and its length.
    pub waiting: Option<(u64, usize)>,
}

impl Lines {
    /// Parses bytes of one direction.
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let Some(end) = parse::line_end(data) else {
            if data.len() > MAX_LINE {
                return Step::Fatal;
            }
            return Step::Need {
                consumed: 0,
                min: 0,
            };
        };
        if dir == 0 {
            self.waiting = Some((cx.now, end));
        } else {
            let req = self.waiting.take();
            record::emit(req, Some(end), cx);
        }
        Step::Consumed(end)
    }

    /// Bytes were lost: the waiting request is logged unanswered.
    pub fn gap<O: RecordOut>(&mut self, _dir: usize, _len: u64, cx: &mut Cx<'_, O>) {
        if let Some(r) = self.waiting.take() {
            record::emit(Some(r), None, cx);
        }
    }
}
