//! The template protocol's state: the request line waiting for its answer.
//! `UPGRADE <protocol>` answered `OK` hands the connection over to that
//! protocol (as STARTTLS hands a connection to TLS).

use super::parse::{self, MAX_LINE};
use super::record;
use crate::app::{Cx, Info, Proto, Step};
use crate::record::RecordOut;

/// State of one flow.
#[derive(Debug, Default)]
pub struct Lines {
    /// When the waiting request came, and its length.
    pub waiting: Option<(u64, usize)>,
    /// The waiting request asks to go on in this protocol.
    pub upgrade: Option<Proto>,
    /// Answered: the connection goes on in this protocol.
    pub next: Option<Proto>,
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
            self.upgrade = parse::upgrade(&data[..end]).and_then(Info::named);
        } else {
            let req = self.waiting.take();
            record::emit(req, Some(end), cx);
            if let Some(p) = self.upgrade.take().filter(|_| data.starts_with(b"OK")) {
                self.next = Some(p);
                // What follows the answer is the next protocol's: held
                // for it, not consumed.
                return Step::Need {
                    consumed: end,
                    min: usize::MAX,
                };
            }
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
