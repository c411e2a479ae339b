//! The import run: files are read on a blocking thread and their entries
//! uploaded a few at a time, with results reported in file order.
//!
//! An entry the API refuses for its content fails alone. A failure that
//! would fail every entry alike (the token refused, a wrong URL, the API
//! down) stops the run instead: the uploads in flight finish, nothing new
//! is sent, and the summary says the run stopped early.
//!
//! Reading and uploading are joined by a bounded channel, so a file is never
//! further ahead of the uploads than the channel holds: memory stays flat
//! however large the export.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::entry::{Origin, Record};
use crate::read::{self, ReadOptions};
use crate::upload::{Created, UploadError, Uploader};

/// Uploads in flight at once unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Records read ahead of the uploads.
const READ_AHEAD: usize = 256;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records read from the files, skipped ones included.
    pub read: u64,
    pub created: u64,
    /// Records that could not be used or that the API did not create.
    pub failed: u64,
    /// Records that must not be uploaded (running timers and the like).
    pub skipped: u64,
    /// Files that could not be read at all.
    pub unreadable: u64,
    /// The run stopped before the end of its files.
    pub stopped: bool,
}

impl Summary {
    /// True when every entry read was created.
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.unreadable == 0 && !self.stopped
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} read, {} created, {} failed",
            self.read, self.created, self.failed
        )?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        if self.unreadable > 0 {
            let files = if self.unreadable == 1 {
                "file"
            } else {
                "files"
            };
            write!(f, ", {} {files} unreadable", self.unreadable)?;
        }
        if self.stopped {
            f.write_str(", stopped early")?;
        }
        Ok(())
    }
}

enum Item {
    Record(Record),
    Unreadable(String),
}

enum Outcome {
    Created(Created),
    Failed(Origin, String),
    /// A failure no later entry could escape; the run stops.
    Fatal(Origin, String),
    /// Not looked at, because the run is stopping.
    NotSent,
    Skipped(Origin, String),
    Unreadable(String),
}

/// Reads `files` and uploads their entries through `uploader`, writing one
/// line per created entry to `out` (as the tutorial's job prints it) and one
/// per problem to `err`.
pub async fn run(
    files: Vec<PathBuf>,
    options: ReadOptions,
    uploader: &Uploader,
    concurrency: usize,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> Summary {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    let reader = tokio::task::spawn_blocking(move || read_all(files, &options, &sender));
    let stopping = AtomicBool::new(false);
    let mut summary = Summary::default();
    {
        let items = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        let outcomes = items
            .map(|item| settle(item, uploader, &stopping))
            .buffered(concurrency.max(1));
        let mut outcomes = std::pin::pin!(outcomes);
        while let Some(outcome) = outcomes.next().await {
            if matches!(outcome, Outcome::NotSent) {
                // Every later item was not looked at either: stop reading.
                break;
            }
            report(&outcome, &mut summary, out, err);
        }
    } // Dropping the receiver here lets a reader blocked on a full channel end.
    if let Err(panic) = reader.await {
        let _ = writeln!(err, "error: reading the files stopped: {panic}");
        summary.unreadable += 1;
    }
    summary
}

fn read_all(files: Vec<PathBuf>, options: &ReadOptions, sender: &mpsc::Sender<Item>) {
    for file in files {
        let items: Box<dyn Iterator<Item = Item>> = match read::open(&file, options) {
            Ok(records) => Box::new(records.map(Item::Record)),
            Err(error) => Box::new(std::iter::once(Item::Unreadable(error.to_string()))),
        };
        for item in items {
            if sender.blocking_send(item).is_err() {
                return;
            }
        }
    }
}

async fn settle(item: Item, uploader: &Uploader, stopping: &AtomicBool) -> Outcome {
    if stopping.load(Ordering::Relaxed) {
        return Outcome::NotSent;
    }
    match item {
        Item::Record(Record::Entry(origin, entry)) => match uploader.upload(&entry).await {
            Ok(created) => Outcome::Created(created),
            Err(UploadError::Rejected { status, message }) if error_is_the_entrys(status) => {
                Outcome::Failed(
                    origin,
                    format!("the API refused the entry ({status}): {message}"),
                )
            }
            Err(error) => {
                stopping.store(true, Ordering::Relaxed);
                Outcome::Fatal(origin, error.to_string())
            }
        },
        Item::Record(Record::Invalid(origin, reason)) => Outcome::Failed(origin, reason),
        Item::Record(Record::Skipped(origin, reason)) => Outcome::Skipped(origin, reason),
        Item::Unreadable(reason) => Outcome::Unreadable(reason),
    }
}

/// Whether an answer with `status` refuses the entry for its own content,
/// so that the next entry may still go up. Any other failure (a token the
/// API refuses, a wrong URL, an API that is down) would fail every entry
/// alike.
fn error_is_the_entrys(status: u16) -> bool {
    matches!(status, 400 | 409 | 413 | 422)
}

fn report(
    outcome: &Outcome,
    summary: &mut Summary,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) {
    // A closed stdout or stderr must not stop the uploads; the summary and
    // the exit status still tell the outcome.
    let _ = match outcome {
        Outcome::Created(created) => {
            summary.read += 1;
            summary.created += 1;
            writeln!(
                out,
                "Created timesheet {} for employee {}",
                created.id, created.user_id
            )
        }
        Outcome::Failed(origin, reason) => {
            summary.read += 1;
            summary.failed += 1;
            writeln!(err, "{origin}: {reason}")
        }
        Outcome::Fatal(origin, reason) => {
            summary.read += 1;
            summary.failed += 1;
            let first = !summary.stopped;
            summary.stopped = true;
            writeln!(err, "{origin}: {reason}").and_then(|()| {
                if first {
                    writeln!(err, "error: stopping: no later entry could be uploaded either; entries after this one were not sent")
                } else {
                    Ok(())
                }
            })
        }
        Outcome::NotSent => Ok(()),
        Outcome::Skipped(origin, reason) => {
            summary.read += 1;
            summary.skipped += 1;
            writeln!(err, "{origin}: skipped: {reason}")
        }
        Outcome::Unreadable(reason) => {
            summary.unreadable += 1;
            writeln!(err, "error: {reason}")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_only_what_happened() {
        let plain = Summary {
            read: 8,
            created: 7,
            failed: 1,
            ..Summary::default()
        };
        let all = Summary {
            read: 3,
            created: 1,
            failed: 1,
            skipped: 1,
            unreadable: 2,
            stopped: true,
        };

        assert_eq!(plain.to_string(), "8 read, 7 created, 1 failed");
        assert_eq!(
            all.to_string(),
            "3 read, 1 created, 1 failed, 1 skipped, 2 files unreadable, stopped early"
        );
        assert!(!plain.succeeded());
    }
}
