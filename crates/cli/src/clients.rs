//! `timesheets clients`: registering and listing clients on the embedded
//! authorization server's database, also while `serve` runs.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use secrecy::ExposeSecret;
use serde_json::json;
use timesheets_authz::Store;
use timesheets_authz::registry;

use crate::cli::{CreateClientArgs, ListClientsArgs};
use crate::serve::open_authz_store;

pub async fn create(args: &CreateClientArgs, out: &mut impl Write) -> Result<()> {
    let store = existing_store(&args.data.dir).await?;
    let created = registry::create_client(&store, &args.name, &args.audience, &args.scope).await?;
    let secret = created.client_secret.expose_secret();
    if args.json {
        let shown = json!({ "client_id": created.client_id, "client_secret": secret });
        writeln!(out, "{shown}")?;
    } else {
        writeln!(
            out,
            "Created client {:?} for {}",
            args.name.trim(),
            args.audience
        )?;
        writeln!(out, "client_id:     {}", created.client_id)?;
        writeln!(out, "client_secret: {secret}")?;
        writeln!(
            out,
            "Keep the secret now: it is stored only as a hash and never shown again."
        )?;
    }
    Ok(())
}

pub async fn list(args: &ListClientsArgs, out: &mut impl Write) -> Result<()> {
    let store = existing_store(&args.data.dir).await?;
    let clients = store.clients().await?;
    if args.json {
        let list: Vec<_> = clients
            .iter()
            .map(|c| {
                let grants: Vec<_> = c
                    .grants
                    .iter()
                    .map(|g| json!({ "audience": g.audience, "scope": g.scopes.join(" ") }))
                    .collect();
                json!({ "client_id": c.client_id, "name": c.name, "created_at": c.created_at,
                        "grants": grants })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(list))?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<32}  {:<20}  {:<24}  GRANTS",
        "CLIENT ID", "CREATED", "NAME"
    )?;
    for client in &clients {
        let grants: Vec<String> = client
            .grants
            .iter()
            .map(|g| format!("{} ({})", g.audience, g.scopes.join(" ")))
            .collect();
        writeln!(
            out,
            "{:<32}  {:<20}  {:<24}  {}",
            client.client_id,
            client.created_at,
            client.name,
            grants.join(", ")
        )?;
    }
    Ok(())
}

/// The authorization database, which `serve` creates: opening it here must
/// not silently make an empty one in a mistyped directory.
async fn existing_store(data: &Path) -> Result<timesheets_authz::SqliteStore> {
    let path = data.join(timesheets_authz::DATABASE_FILE);
    if !path.exists() {
        bail!(
            "no authorization database at {}; start `timesheets serve --data {}` once first",
            path.display(),
            data.display()
        );
    }
    open_authz_store(data).await
}
