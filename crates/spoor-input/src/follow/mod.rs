//! Live reading (`spoor hunt --follow`, `--state`): files followed as they grow, by identity,
//! through rotations, and resumed from saved cursors. The batch readers read a file once from
//! its start; here every file is read from where its [`FileCursor`] stands, whole lines only,
//! on the calling thread, so that a cursor saved between two polls says exactly what was read.
//!
//! Lines end at `\n` (a `\r` before it is dropped); the lone `\r` line ends the batch readers
//! also accept are not recognised while following.
//!
//! Memory is bounded: one read buffer (the line cap), one cursor and parser per followed file,
//! at most 64 cursors of files that left the watch set and 4,096 of files read once.

mod checkpoint;
mod cursor;
mod follower;
mod tail;

pub use checkpoint::{
    Checkpoint, CheckpointError, OutputMark, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
    MAX_CHECKPOINT_BYTES,
};
pub use cursor::{FileCursor, HEAD_BYTES};
pub use follower::{Follower, PollReport, DEFAULT_POLL_BUDGET};

#[cfg(test)]
mod tests;
