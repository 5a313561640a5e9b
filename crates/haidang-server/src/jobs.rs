//! Background work: the history's retention on a timer, the subscriptions' notifier and
//! delivery beside the writers, and the indicators' reminders and real-time figures.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// How often retention runs: old history may outlive its term by up to this much.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Removes history past each type's retention, at start and then every hour, until aborted.
pub async fn run_retention(state: Arc<AppState>) {
    if state.hub.options().retention.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tick.tick().await;
        match state.hub.prune_history().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "history past its retention removed"),
            Err(e) => tracing::warn!(error = %e, "history retention failed; it runs again within the hour"),
        }
    }
}

/// How often the notifier looks at the entity outbox when no commit wakes it (changes written
/// by another process; periodic subscriptions).
const NOTIFIER_POLL: Duration = Duration::from_secs(1);
const NOTIFIER_RETRY: Duration = Duration::from_secs(2);

/// Matches committed changes against the subscriptions, woken by every commit, until `stop`.
pub async fn run_notifier(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut notifier = haidang_core::hub::subscriptions::Notifier::new(state.subscriptions.clone());
    let mut commits = state.store.commits();
    loop {
        let wait = match notifier.run_once().await {
            Ok(n) => {
                if n > 0 {
                    metrics::counter!("haidang_notifications_queued_total").increment(n as u64);
                }
                // A backlog is worked through run after run, without waiting.
                if notifier.behind().await.unwrap_or(false) {
                    Duration::ZERO
                } else {
                    NOTIFIER_POLL
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot match changes against subscriptions yet; will retry");
                NOTIFIER_RETRY
            }
        };
        if *stop.borrow() {
            if let Err(e) = notifier.save_cursor(true).await {
                tracing::warn!(error = %e, "cannot save the notifier's cursor; some changes will be matched again");
            }
            return;
        }
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Judges the hub's committed changes by the monitoring rules until `stop`: woken by each
/// commit, and every second for the clock (silent stations) and for changes made by another
/// process.
pub async fn run_alert_follower(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut follower = haidang_core::alerts::Follower::new(state.alerts.clone());
    let mut commits = state.store.commits();
    loop {
        let wait = match follower.run_once().await {
            Ok(_) if follower.behind().await.unwrap_or(false) => Duration::ZERO,
            Ok(_) => NOTIFIER_POLL,
            Err(e) => {
                tracing::warn!(error = %e, "cannot judge changes against the alert rules yet; will retry");
                NOTIFIER_RETRY
            }
        };
        if *stop.borrow() {
            if let Err(e) = follower.save_cursor(true).await {
                tracing::warn!(error = %e, "cannot save the alert follower's cursor; some changes will be judged again");
            }
            return;
        }
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Tells the organisations a rule names (email) and the centre's gateway (webhook) of each new
/// alert, recording every attempt with its outcome; a refusal is tried again with backoff.
pub async fn run_alert_notifier(state: Arc<AppState>) {
    let hook = state.config.alerts.webhook_url.clone();
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the alert notifier cannot start");
            return;
        }
    };
    let rc = &state.config.reports;
    let mailer = (!rc.smtp_url.is_empty())
        .then(|| crate::mailer::Mailer::new(&rc.smtp_url, &rc.smtp_from))
        .and_then(|m| {
            m.map_err(
                |e| tracing::error!(error = %e, "alert emails are off: reports.smtp_url cannot be used"),
            )
            .ok()
        });
    let mut commits = state.store.commits();
    loop {
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let due = match state.alerts.due_notices(50).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "alert notices not read; tried again shortly");
                continue;
            }
        };
        for notice in due {
            let result = match (notice.channel.as_str(), &mailer, notice.address.as_deref()) {
                ("email", Some(m), Some(to)) => m.send_text(to, &notice.subject, &notice.text).await,
                ("email", None, _) => Err("no mail server is configured (reports.smtp_url)".into()),
                ("webhook", _, _) if !hook.is_empty() => {
                    let body = serde_json::json!({ "alert_id": notice.alert_id, "subject": notice.subject, "text": notice.text });
                    match client.post(&hook).json(&body).send().await {
                        Ok(res) if res.status().is_success() => Ok(()),
                        Ok(res) => Err(format!("the gateway answered {}", res.status())),
                        Err(e) => Err(format!("the gateway could not be reached: {e}")),
                    }
                }
                _ => Err("nowhere to send it".into()),
            };
            if let Err(e) = state.alerts.record_notice(notice, result).await {
                tracing::warn!(error = %e, "an alert notice's outcome was not recorded");
            }
        }
    }
}

/// Days the live events journal keeps.
const LIVE_KEEP_DAYS: i64 = 30;

/// Escalates incident tasks past their deadline, every 30 seconds, and prunes the live journal.
pub async fn run_incident_upkeep(state: Arc<AppState>) {
    let mut every = tokio::time::interval(Duration::from_secs(30));
    loop {
        every.tick().await;
        match state.incidents.escalate_overdue().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "overdue incident tasks escalated"),
            Err(e) => tracing::warn!(error = %e, "cannot escalate overdue incident tasks yet; will retry"),
        }
        // The live journal keeps a month: enough for any console to come back to.
        let before = haidang_core::time::now() - jiff::SignedDuration::from_hours(LIVE_KEEP_DAYS * 24);
        if let Err(e) = state.alerts.repo().prune_live_events(before).await {
            tracing::warn!(error = %e, "cannot prune the live events journal yet; will retry");
        }
    }
}

/// Sends queued notifications to their endpoints until `stop`.
pub async fn run_delivery(state: Arc<AppState>, stop: tokio::sync::watch::Receiver<bool>) {
    let hub = &state.config.hub;
    let options = haidang_core::hub::subscriptions::DeliveryOptions {
        concurrency: hub.notification_concurrency,
        timeout: Duration::from_secs(hub.notification_timeout_secs),
        give_up_after: jiff::SignedDuration::from_hours(hub.notification_retry_hours as i64),
        ..Default::default()
    };
    let delivery = haidang_core::hub::subscriptions::Delivery::new(
        state.subscriptions.clone(),
        state.notifications.clone(),
        options,
    );
    delivery.run(stop).await;
}

/// How often dead letters past `mqtt.dead_letter_days` are removed.
const DEAD_LETTERS_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Removes old dead letters at start and then daily, until aborted.
pub async fn run_dead_letter_pruning(state: Arc<AppState>) {
    if state.connectors.is_empty() {
        return;
    }
    let keep = jiff::SignedDuration::from_hours(i64::from(state.config.mqtt.dead_letter_days) * 24);
    let mut tick = tokio::time::interval(DEAD_LETTERS_EVERY);
    loop {
        tick.tick().await;
        match state.ingest.prune(keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old dead letters removed"),
            Err(e) => tracing::warn!(error = %e, "cannot remove old dead letters; tried again tomorrow"),
        }
    }
}

/// How often the WAL is checkpointed beside the writer (SQLite).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Keeps SQLite's WAL short without the writer's commits doing it, until aborted.
pub async fn run_checkpoints(state: Arc<AppState>) {
    if state.store.backend() != haidang_store::Backend::Sqlite {
        return;
    }
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.store.checkpoint().await {
            tracing::debug!(error = %e, "WAL checkpoint skipped; tried again shortly");
        }
    }
}

/// Reminds organisations of indicator figures coming due, at start and then every
/// `indicators.remind_every_secs` (hourly by default; each reminder is sent once), until aborted.
pub async fn run_indicator_reminders(state: Arc<AppState>) {
    let every = Duration::from_secs(state.config.indicators.remind_every_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.indicators.send_reminders().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sent = n, "indicator reminders sent"),
            Err(e) => tracing::warn!(error = %e, "indicator reminders not sent; tried again within the hour"),
        }
    }
}

/// Computes the real-time indicators from the hub every `indicators.realtime_every_secs`,
/// until aborted.
pub async fn run_realtime_indicators(state: Arc<AppState>) {
    let every = Duration::from_secs(state.config.indicators.realtime_every_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.indicators.compute_realtime(haidang_core::time::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(figures = n, "real-time indicators computed"),
            Err(e) => tracing::warn!(error = %e, "real-time indicators not computed; tried again shortly"),
        }
    }
}

/// Refreshes the indicators' NGSI-LD view (KeyPerformanceIndicator entities) whenever a change
/// asks for it, until aborted. Requests answer before the view is written: a change of targets
/// for a whole catalog touches hundreds of thousands of entities.
pub async fn run_indicator_publisher(state: Arc<AppState>) {
    loop {
        state.indicators.publish_wanted().await;
        let started = std::time::Instant::now();
        match state.indicators.publish_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                entities = n,
                ms = started.elapsed().as_millis() as u64,
                "indicator view refreshed"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "indicator view not refreshed; tried again shortly");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Citizen reports' upkeep: contacts sealed under an older key are re-sealed once at start;
/// then every `reports.upkeep_every_secs` reports past their deadline are escalated, reporters'
/// identities past the retention period erased and uploads never sent with a report dropped.
pub async fn run_report_upkeep(state: Arc<AppState>) {
    match state.reports.reseal_contacts().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(resealed = n, "reporters' contacts re-sealed under the current key"),
        Err(e) => {
            tracing::error!(error = %e, "re-sealing reporters' contacts failed; the old key must stay configured")
        }
    }
    let every = Duration::from_secs(state.config.reports.upkeep_every_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = haidang_core::time::now();
        match state.reports.escalate_overdue(now).await {
            Ok(list) if !list.is_empty() => {
                tracing::info!(reports = list.len(), "overdue citizen reports escalated")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "escalation of overdue reports failed; tried again next round")
            }
        }
        match state.reports.erase_expired(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reports = n, "reporters' identities erased after the retention period"),
            Err(e) => tracing::warn!(error = %e, "erasing expired identities failed; tried again next round"),
        }
        if let Err(e) = state.reports.forget_orphan_media().await {
            tracing::warn!(error = %e, "dropping unsent uploads failed");
        }
    }
}

/// Sends notices to reporters (the gateway's webhook, email) as soon as their step commits
/// (and every few seconds for retries), recording each attempt's outcome, until aborted.
pub async fn run_report_notifier(state: Arc<AppState>) {
    let hook = state.config.reports.notify_webhook.clone();
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the reporters' notifier cannot start");
            return;
        }
    };
    let rc = &state.config.reports;
    let mailer = if rc.smtp_url.is_empty() {
        None
    } else {
        match crate::mailer::Mailer::new(&rc.smtp_url, &rc.smtp_from) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(error = %e, "email notices are off: reports.smtp_url cannot be used");
                None
            }
        }
    };
    let mut commits = state.store.commits();
    loop {
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let due = match state.reports.due_notices(50).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "notices to reporters not read; tried again shortly");
                continue;
            }
        };
        for (mut notice, message) in due {
            let outcome = deliver(&client, &hook, mailer.as_ref(), &mut notice, message.as_ref()).await;
            if let Err(e) = state.reports.record_notice(notice, outcome).await {
                tracing::warn!(error = %e, "a notice's outcome was not recorded");
            }
        }
    }
}

/// Sends a notice each way that applies and it has not gone yet: the webhook gateway (SMS,
/// Zalo) when one is set, email when the reporter left an address and a mail server is set.
/// Sent when every way went; skipped when none applies (no contact left, nothing configured).
async fn deliver(
    client: &reqwest::Client,
    hook: &str,
    mailer: Option<&crate::mailer::Mailer>,
    notice: &mut haidang_core::reports::notices::ReportNotice,
    message: Option<&haidang_core::reports::notices::OutgoingNotice>,
) -> Result<&'static str, String> {
    let Some(m) = message else { return Ok("skipped") };
    let mut ways = Vec::new();
    if !hook.is_empty() {
        ways.push("webhook");
    }
    if mailer.is_some() && m.email.is_some() {
        ways.push("email");
    }
    if ways.is_empty() {
        return Ok("skipped");
    }
    let mut errors = Vec::new();
    for way in ways {
        if notice.delivered.iter().any(|d| d == way) {
            continue;
        }
        let sent = match (way, mailer) {
            ("email", Some(mailer)) => mailer.send(m).await,
            _ => match client.post(hook).json(m).send().await {
                Ok(res) if res.status().is_success() => Ok(()),
                Ok(res) => Err(format!("the gateway answered {}", res.status())),
                Err(e) => Err(format!("the gateway could not be reached: {e}")),
            },
        };
        match sent {
            Ok(()) => notice.delivered.push(way.to_string()),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok("sent")
    } else {
        Err(errors.join("; "))
    }
}

/// Turns citizens' emails into reports every 30 seconds, until aborted: the .eml files dropped
/// in `reports.email_drop_dir` (a file moves to done/ once its report is written, or to failed/
/// with a .reason.txt beside it) and the messages in the `reports.imap_url` mailbox (moved to
/// its HaiDang-Done or HaiDang-Failed folder). A crash between the report and the move takes
/// the message again on restart (at least once).
pub async fn run_email_intake(state: Arc<AppState>) {
    let rc = &state.config.reports;
    let dir = (!rc.email_drop_dir.is_empty()).then(|| std::path::PathBuf::from(&rc.email_drop_dir));
    let mailbox = if rc.imap_url.is_empty() {
        None
    } else {
        match haidang_connect::imap::ImapMailbox::parse(&rc.imap_url) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(error = %e, "the mailbox is not read: reports.imap_url cannot be used");
                None
            }
        }
    };
    if dir.is_none() && mailbox.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(dir) = &dir {
            match email_round(&state, dir).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reports = n, "emailed reports taken from the drop folder"),
                Err(e) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "the email drop folder could not be read")
                }
            }
        }
        if let Some(mailbox) = &mailbox {
            match mailbox_round(&state, mailbox).await {
                Ok(round) => {
                    if round.taken > 0 {
                        tracing::info!(reports = round.taken, "emailed reports taken from the mailbox");
                    }
                    for why in round.failed {
                        tracing::warn!(%why, "an email in the mailbox did not become a report; it is in HaiDang-Failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, mailbox = ?mailbox, "the mailbox could not be read"),
            }
        }
    }
}

/// The account emailed reports are taken under: the centre's intake, audited as "email".
fn email_intake_subject() -> haidang_core::accounts::Subject {
    haidang_core::accounts::Subject {
        user_id: "system:email".into(),
        username: "email".into(),
        role: haidang_core::accounts::Role::Operator,
        org_id: String::new(),
        acting_for: vec![],
        token_scopes: None,
        token_id: None,
        source_ip: None,
    }
}

/// One message into a report, or why not.
async fn take_email(state: &AppState, raw: &[u8]) -> Result<(), String> {
    let mail = haidang_connect::email::read_email(raw).ok_or_else(|| "not an email message".to_string())?;
    let incoming = haidang_core::reports::email::IncomingEmail {
        from_name: mail.from_name,
        from_email: mail.from_email,
        subject: mail.subject,
        text: mail.text,
        attachments: mail.attachments,
    };
    let category = state.config.reports.email_category.clone();
    state
        .reports
        .intake_email(&email_intake_subject(), incoming, &category)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// One pass over the mailbox.
pub async fn mailbox_round(
    state: &AppState,
    mailbox: &haidang_connect::imap::ImapMailbox,
) -> Result<haidang_connect::imap::Round, String> {
    // A server that stops answering must not hold the drop folder's rounds up for ever.
    let round = mailbox.round(|raw| async move { take_email(state, &raw).await });
    tokio::time::timeout(Duration::from_secs(300), round)
        .await
        .unwrap_or_else(|_| Err("the mail server did not finish the round within 5 minutes".into()))
}

/// One pass over the drop folder; answers how many reports were made.
pub async fn email_round(state: &AppState, dir: &std::path::Path) -> std::io::Result<usize> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")))
        .collect();
    files.sort();
    let mut made = 0;
    for path in files {
        let outcome = match std::fs::read(&path) {
            Err(e) => Err(format!("unreadable: {e}")),
            Ok(raw) => take_email(state, &raw).await,
        };
        let (folder, reason) = match outcome {
            Ok(_) => {
                made += 1;
                ("done", None)
            }
            Err(reason) => ("failed", Some(reason)),
        };
        let target = dir.join(folder);
        std::fs::create_dir_all(&target)?;
        let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        std::fs::rename(&path, target.join(&name))?;
        if let Some(reason) = reason {
            let mut note = name.clone();
            note.push(".reason.txt");
            std::fs::write(target.join(note), reason)?;
        }
    }
    Ok(made)
}
