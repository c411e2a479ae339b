//! Entries in a SQLite file.
//!
//! SQLite lets one connection write at a time, and with `synchronous =
//! FULL` every commit waits for the disk. Uploads that each took a pooled
//! connection would queue on SQLite's busy lock (which sleeps and retries,
//! so latency spikes to seconds under load) and pay one disk sync each. So
//! all writes go through one writer task that commits whatever inserts are
//! waiting in a single transaction (group commit): one sync acknowledges
//! many entries, and no request ever waits on the busy lock. Reads use
//! their own read-only connections, which WAL lets run beside the writer.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError};
use crate::entry::{Entry, NewEntry};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const COLUMNS: &str = "id, user_id, date, project, hours, description, task, billable";

/// Most inserts committed in one transaction.
const MAX_BATCH: usize = 256;
/// Inserts that may wait for the writer before `insert` itself waits.
const QUEUE: usize = 4 * MAX_BATCH;

/// Entries in one SQLite file. WAL with `synchronous = FULL` makes every
/// committed insert reach the disk before the API acknowledges it.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reads: SqlitePool,
    writer: mpsc::Sender<Insert>,
}

/// One entry waiting for the writer, and where its id goes once committed.
#[derive(Debug)]
struct Insert {
    entry: NewEntry,
    uploaded_by: String,
    created_at: String,
    done: oneshot::Sender<Result<i64, StoreError>>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`, and
    /// starts its writer task.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let write = write_pool(path).await?;
        MIGRATOR.run(&write).await.map_err(sqlx::Error::from)?;
        let reads = SqlitePool::connect_with(options(path)?.read_only(true)).await?;

        let (writer, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(write, queue));
        Ok(Self { reads, writer })
    }
}

fn options(path: &Path) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5)))
}

/// The writer's one connection.
async fn write_pool(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options(path)?)
        .await
}

/// The writer task: commits what is queued, a batch at a time, until every
/// handle to the store is gone.
async fn write_batches(pool: SqlitePool, mut queue: mpsc::Receiver<Insert>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that is gone (its request timed out, its client left)
        // was answered with an error: storing its entry now would make that
        // answer a lie, and a retry a duplicate.
        batch.retain(|insert| !insert.done.is_closed());
        match commit(&pool, &batch).await {
            Ok(ids) => {
                for (insert, id) in batch.drain(..).zip(ids) {
                    let _ = insert.done.send(Ok(id));
                }
            }
            // An entry the table refuses must not fail the others that
            // shared its transaction: retry each alone, so each gets its
            // own answer.
            Err(error) if batch.len() > 1 && is_refusal(&error) => {
                tracing::warn!(%error, entries = batch.len(), "group commit refused; committing one by one");
                for insert in batch.drain(..) {
                    let outcome = commit(&pool, std::slice::from_ref(&insert)).await;
                    let _ = insert
                        .done
                        .send(outcome.map(|ids| ids[0]).map_err(StoreError::from));
                }
            }
            // Anything else (the database locked by another process, a full
            // disk) would fail each retry the same way, only later.
            Err(error) => {
                let error = Arc::new(error);
                for insert in batch.drain(..) {
                    let _ = insert.done.send(Err(StoreError::Shared(error.clone())));
                }
            }
        }
    }
    pool.close().await;
}

/// Whether the database refused the data itself (a constraint), rather than
/// failing to store it.
fn is_refusal(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| {
        matches!(
            e.kind(),
            ErrorKind::CheckViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
        )
    })
}

/// Inserts `batch` in one transaction; the ids, in order, once it is on disk.
async fn commit(pool: &SqlitePool, batch: &[Insert]) -> Result<Vec<i64>, sqlx::Error> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(batch.len());
    for insert in batch {
        let new = &insert.entry;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO timesheets \
             (user_id, date, project, hours, description, task, billable, uploaded_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.user_id)
        .bind(&new.date)
        .bind(&new.project)
        .bind(new.hours)
        .bind(&new.description)
        .bind(&new.task)
        .bind(new.billable)
        .bind(&insert.uploaded_by)
        .bind(&insert.created_at)
        .fetch_one(&mut *tx)
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

fn entry(row: &SqliteRow) -> Result<Entry, sqlx::Error> {
    Ok(Entry {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        date: row.try_get("date")?,
        project: row.try_get("project")?,
        hours: row.try_get("hours")?,
        description: row.try_get("description")?,
        task: row.try_get("task")?,
        billable: row.try_get("billable")?,
    })
}

impl Store for SqliteStore {
    async fn insert(&self, new: &NewEntry, uploaded_by: &str) -> Result<Entry, StoreError> {
        let (done, committed) = oneshot::channel();
        let insert = Insert {
            entry: new.clone(),
            uploaded_by: uploaded_by.to_owned(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            done,
        };
        self.writer
            .send(insert)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        let id = committed.await.map_err(|_| StoreError::WriterStopped)??;
        Ok(Entry {
            id,
            user_id: new.user_id.clone(),
            date: new.date.clone(),
            project: new.project.clone(),
            hours: new.hours,
            description: new.description.clone(),
            task: new.task.clone(),
            billable: new.billable,
        })
    }

    async fn get(&self, id: i64) -> Result<Option<Entry>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM timesheets WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.as_ref().map(entry).transpose()?)
    }

    async fn list(&self, after: i64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM timesheets WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reads)
        .await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tokio::task::JoinSet;

    use super::*;

    fn new_entry(user_id: &str, hours: f64) -> NewEntry {
        NewEntry {
            user_id: user_id.to_owned(),
            date: "2025-03-03T09:00:00+01:00".to_owned(),
            project: "Website Relaunch".to_owned(),
            hours,
            description: None,
            task: None,
            billable: Some(true),
        }
    }

    type Answer = oneshot::Receiver<Result<i64, StoreError>>;

    /// Inserts queued before any writer runs, so that one takes them all as
    /// one batch; and where each one's answer will arrive.
    fn queued(entries: &[(&str, f64)]) -> (mpsc::Receiver<Insert>, Vec<Answer>) {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let mut answers = Vec::new();
        for &(user, hours) in entries {
            let (done, answer) = oneshot::channel();
            let insert = Insert {
                entry: new_entry(user, hours),
                uploaded_by: "job@clients".to_owned(),
                created_at: "2025-03-03T10:00:00.000Z".to_owned(),
                done,
            };
            queue.try_send(insert).unwrap();
            answers.push(answer);
        }
        (waiting, answers)
    }

    async fn stored_users(store: &SqliteStore) -> Vec<String> {
        let stored = store.list(0, 10).await.unwrap();
        stored.into_iter().map(|e| e.user_id).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_inserts_get_distinct_ids_and_are_all_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.sqlite"))
            .await
            .unwrap();

        let mut inserts = JoinSet::new();
        for n in 0..200 {
            let store = store.clone();
            inserts.spawn(async move {
                let entry = new_entry(&format!("u{n}"), 1.5);
                store.insert(&entry, "job@clients").await.unwrap()
            });
        }
        let mut stored: Vec<Entry> = inserts.join_all().await;
        stored.sort_by_key(|e| e.id);

        assert_eq!(
            stored.iter().map(|e| e.id).collect::<Vec<_>>(),
            (1..=200).collect::<Vec<i64>>()
        );
        assert_eq!(store.list(0, 1000).await.unwrap(), stored);
    }

    #[tokio::test]
    async fn an_insert_the_database_refuses_fails_alone_and_its_batch_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let store = SqliteStore::open(&path).await.unwrap();
        // 30 hours breaks the table's CHECK constraint.
        let (waiting, answers) = queued(&[("a", 1.0), ("b", 30.0), ("c", 2.0)]);

        write_batches(write_pool(&path).await.unwrap(), waiting).await;

        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap().ok());
        }
        assert_eq!(outcomes, [Some(1), None, Some(2)]);
        assert_eq!(stored_users(&store).await, ["a", "c"]);
    }

    #[tokio::test]
    async fn an_entry_whose_caller_is_gone_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let store = SqliteStore::open(&path).await.unwrap();
        let (waiting, mut answers) = queued(&[("a", 1.0), ("b", 1.0), ("c", 1.0)]);
        // The request for "b" timed out while its insert waited.
        drop(answers.remove(1));

        write_batches(write_pool(&path).await.unwrap(), waiting).await;

        assert_eq!(stored_users(&store).await, ["a", "c"]);
    }
}
