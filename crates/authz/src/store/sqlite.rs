//! The authorization store in a SQLite file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

use super::{Api, Client, ClientSummary, Grant, Store, StoreError, split_scopes};
use crate::credentials::SecretHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The registry in one SQLite file, shared safely with other processes
/// (`clients create` while `serve` runs) through WAL mode.
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
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePool::connect_with(options).await?;
        MIGRATOR.run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Self { pool })
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Store for SqliteStore {
    async fn api(&self, identifier: &str) -> Result<Option<Api>, StoreError> {
        let row = sqlx::query(
            "SELECT identifier, name, scopes, token_lifetime FROM apis WHERE identifier = ?",
        )
        .bind(identifier)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Api {
                identifier: row.try_get("identifier")?,
                name: row.try_get("name")?,
                scopes: split_scopes(row.try_get("scopes")?),
                token_lifetime: row.try_get("token_lifetime")?,
            })
        })
        .transpose()
    }

    async fn register_api(&self, api: &Api) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO apis (identifier, name, scopes, token_lifetime, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING",
        )
        .bind(&api.identifier)
        .bind(&api.name)
        .bind(api.scopes.join(" "))
        .bind(api.token_lifetime)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let row =
            sqlx::query("SELECT client_id, name, secret_sha256 FROM clients WHERE client_id = ?")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            let hash: Vec<u8> = row.try_get("secret_sha256")?;
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| sqlx::Error::Decode("secret_sha256 is not 32 bytes".into()))?;
            Ok(Client {
                client_id: row.try_get("client_id")?,
                name: row.try_get("name")?,
                secret_hash: SecretHash(hash),
            })
        })
        .transpose()
    }

    async fn granted_scopes(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let scopes: Option<String> = sqlx::query_scalar(
            "SELECT scopes FROM client_grants WHERE client_id = ? AND audience = ?",
        )
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&self.pool)
        .await?;
        Ok(scopes.as_deref().map(split_scopes))
    }

    async fn create_client(&self, client: &Client, grant: &Grant) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(client.secret_hash.0.as_slice())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO client_grants (client_id, audience, scopes) VALUES (?, ?, ?)")
            .bind(&client.client_id)
            .bind(&grant.audience)
            .bind(grant.scopes.join(" "))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clients(&self) -> Result<Vec<ClientSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.client_id, c.name, c.created_at, g.audience, g.scopes \
             FROM clients c LEFT JOIN client_grants g ON g.client_id = c.client_id \
             ORDER BY c.rowid, g.audience",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut clients: Vec<ClientSummary> = Vec::new();
        for row in rows {
            let client_id: String = row.try_get("client_id")?;
            if clients.last().is_none_or(|c| c.client_id != client_id) {
                clients.push(ClientSummary {
                    client_id,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    grants: Vec::new(),
                });
            }
            let audience: Option<String> = row.try_get("audience")?;
            let scopes: Option<String> = row.try_get("scopes")?;
            if let (Some(audience), Some(scopes), Some(client)) =
                (audience, scopes, clients.last_mut())
            {
                client.grants.push(Grant {
                    audience,
                    scopes: split_scopes(&scopes),
                });
            }
        }
        Ok(clients)
    }
}
