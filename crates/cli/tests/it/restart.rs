//! What a restart or a crash of `serve` keeps: every acknowledged entry,
//! the signing key, and with it every token already issued.

use serde_json::{Value, json};

use crate::support::{Server, create_client, get, seed_entry, token, upload, workspace};

#[tokio::test]
async fn an_entry_survives_a_clean_restart_and_old_tokens_still_work() {
    let (_dir, data) = workspace();
    let mut first = Server::start(&data);
    let job = create_client(&data, "Timesheets import job", "batch:upload");
    let reader = create_client(&data, "Timesheets reader", "read:timesheets");
    let read_token = token(&first, &reader).await;
    let created: Value = upload(&first, Some(&token(&first, &job).await), &seed_entry())
        .await
        .json()
        .await
        .unwrap();

    assert!(first.stop(), "SIGTERM stops the server cleanly");
    let second = Server::start_with(
        &data,
        &["--listen", first.base.trim_start_matches("http://")],
    );

    let response = get(&second, &read_token, "/timesheets/1").await;
    assert_eq!(
        response.status(),
        200,
        "a token issued before the restart is still valid"
    );
    assert_eq!(response.json::<Value>().await.unwrap(), created);
}

#[tokio::test]
async fn an_acknowledged_entry_survives_a_crash() {
    let (_dir, data) = workspace();
    let mut first = Server::start(&data);
    let job = create_client(&data, "Timesheets import job", "batch:upload");
    let reader = create_client(&data, "Timesheets reader", "read:timesheets");
    let job_token = token(&first, &job).await;
    for hours in 1..=20 {
        let mut entry = seed_entry();
        entry["hours"] = json!(hours);
        assert_eq!(upload(&first, Some(&job_token), &entry).await.status(), 201);
    }

    first.crash();
    let second = Server::start(&data);

    let read_token = token(&second, &reader).await;
    let stored: Vec<Value> = get(&second, &read_token, "/timesheets")
        .await
        .json()
        .await
        .unwrap();
    let hours: Vec<f64> = stored
        .iter()
        .map(|e| e["hours"].as_f64().unwrap())
        .collect();
    assert_eq!(hours, (1..=20).map(f64::from).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_data_files_are_private_even_in_a_directory_others_can_read() {
    use std::os::unix::fs::PermissionsExt;

    let (_dir, data) = workspace();
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(&data);
    let job = create_client(&data, "Timesheets import job", "batch:upload");
    let created = upload(&server, Some(&token(&server, &job).await), &seed_entry()).await;
    assert_eq!(created.status(), 201);

    let mut modes: Vec<(String, u32)> = std::fs::read_dir(&data)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            (entry.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect();
    modes.sort();

    let names: Vec<&str> = modes.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "authz.sqlite",
            "authz.sqlite-shm",
            "authz.sqlite-wal",
            "signing-key.pem",
            "timesheets.sqlite",
            "timesheets.sqlite-shm",
            "timesheets.sqlite-wal"
        ]
    );
    assert!(modes.iter().all(|(_, mode)| *mode == 0o600), "{modes:?}");
}
