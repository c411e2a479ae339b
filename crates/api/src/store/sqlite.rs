//! Entries in a SQLite file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteRow, SqliteSynchronous,
};

use super::{Store, StoreError};
use crate::entry::{Entry, NewEntry};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const COLUMNS: &str = "id, user_id, date, project, hours, description, task, billable";

/// Entries in one SQLite file. WAL with `synchronous = FULL` makes every
/// committed insert reach the disk before the API acknowledges it.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePool::connect_with(options).await?;
        MIGRATOR.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self { pool })
    }
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
        let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
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
        .bind(uploaded_by)
        .bind(created_at)
        .fetch_one(&self.pool)
        .await?;
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
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(entry).transpose()?)
    }

    async fn list(&self, after: i64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM timesheets WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }
}
