//! Where accepted entries are kept, behind the narrow interface of
//! [`Store`]. Each backend lives in a file of its own and implements all of it.

mod sqlite;

use std::future::Future;
use std::sync::Arc;

pub use sqlite::SqliteStore;

use crate::entry::{Entry, NewEntry};

/// A storage failure; its text is for the log, never for a response.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("timesheet store: {0}")]
    Database(#[from] sqlx::Error),
    /// A failure that every entry of one commit shares.
    #[error("timesheet store: {0}")]
    Shared(Arc<sqlx::Error>),
    #[error("timesheet store: the writer has stopped")]
    WriterStopped,
}

/// The operations the API performs on its entries.
pub trait Store: Send + Sync + 'static {
    /// Stores `entry` durably and returns it with its new id; when this
    /// returns, the entry survives a crash.
    fn insert(
        &self,
        entry: &NewEntry,
        uploaded_by: &str,
    ) -> impl Future<Output = Result<Entry, StoreError>> + Send;

    /// The entry with `id`.
    fn get(&self, id: i64) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;

    /// Up to `limit` entries with ids above `after`, in id order.
    fn list(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
}
